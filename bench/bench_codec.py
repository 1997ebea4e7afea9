"""Throughput and memory of the streaming codec on a whole-study WADO-RS body.

The body mimics Orthanc's answer for a 500-slice CT: 500 parts of about 526 KB (a 512x512x16-bit instance),
263 MB in all, each part with Content-Type, Content-Length and MIME-Version. It is generated lazily, one
fresh bytes object per chunk as a socket read would give, so the study never sits in memory. Each part is
split into header, pixel value and trailer; the pixel bytes are only counted, standing in for the write.

    .venv/bin/python bench/bench_codec.py            # both chunk sizes, each in a fresh process
    .venv/bin/python bench/bench_codec.py 65536      # one chunk size, in this process
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydicom import Dataset, dcmwrite
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.codec.part10_stream import Part10Stream

PARTS = 500
CHUNK_SIZES = (64 << 10, 1 << 20)


def ct_instance() -> bytes:
    dataset = Dataset()
    dataset.PatientName, dataset.PatientID, dataset.Modality = "Bench^Patient", "BENCH-1", "CT"
    dataset.SOPClassUID, dataset.SOPInstanceUID = CTImageStorage, generate_uid()
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID = generate_uid(), generate_uid()
    dataset.Rows = dataset.Columns = 512
    dataset.BitsAllocated, dataset.BitsStored, dataset.HighBit, dataset.PixelRepresentation = 16, 12, 11, 0
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.PixelData = bytes(range(256)) * (512 * 512 * 2 // 256)
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    out = BytesIO()
    dcmwrite(out, dataset, enforce_file_format=True)
    return out.getvalue()


def study_template(writer: MultipartWriter) -> bytes:
    instance = ct_instance()
    headers = {"Content-Type": "application/dicom", "Content-Length": str(len(instance)), "MIME-Version": "1.0"}
    return writer.part_head(headers) + instance + writer.part_tail()


async def socket_reads(part: bytes, closing: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    """The body `part * PARTS + closing`, cut into fresh chunks of `chunk_size` bytes."""
    view, size = memoryview(part), len(part)
    offset, total = 0, size * PARTS
    while offset < total:
        start = offset % size
        end = min(start + chunk_size, size, start + total - offset)
        chunk = bytes(view[start:end])
        while len(chunk) < chunk_size and offset + len(chunk) < total:
            more = min(chunk_size - len(chunk), size, total - offset - len(chunk))
            chunk += bytes(view[:more])
        offset += len(chunk)
        yield chunk
    yield closing


async def split_study(chunks: AsyncIterator[bytes], boundary: str) -> tuple[int, int]:
    parts = pixel_bytes = 0
    async for part in iter_parts(chunks, boundary):
        stream = Part10Stream(part.body)
        await stream.read_header()
        async for view in stream.pixel_value():
            pixel_bytes += len(view)
        await stream.read_trailer()
        parts += 1
    return parts, pixel_bytes


async def drain(chunks: AsyncIterator[bytes]) -> None:
    async for _ in chunks:
        pass


def measure(chunk_size: int) -> None:
    writer = MultipartWriter(related_type="application/dicom")
    part, closing = study_template(writer), writer.close()
    total = len(part) * PARTS + len(closing)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    started = time.perf_counter()
    asyncio.run(drain(socket_reads(part, closing, chunk_size)))
    source_seconds = time.perf_counter() - started

    started = time.perf_counter()
    parts, pixel_bytes = asyncio.run(split_study(socket_reads(part, closing, chunk_size), writer.boundary))
    seconds = time.perf_counter() - started
    assert parts == PARTS, parts
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    codec_seconds = seconds - source_seconds
    print(
        f"chunk {chunk_size >> 10:5d} KiB: {total / 1e6:.0f} MB in {PARTS} parts, "
        f"{seconds:.3f} s end to end = {total / seconds / 1e6:,.0f} MB/s; "
        f"source alone {source_seconds:.3f} s, codec share {codec_seconds:.3f} s = "
        f"{total / codec_seconds / 1e6:,.0f} MB/s; pixels {pixel_bytes / 1e6:.0f} MB; "
        f"peak RSS {rss_peak / 1024:.0f} MiB (before the run {rss_before / 1024:.0f} MiB)"
    )


def main() -> None:
    if len(sys.argv) > 1:
        measure(int(sys.argv[1]))
        return
    for chunk_size in CHUNK_SIZES:
        subprocess.run([sys.executable, __file__, str(chunk_size)], check=True)


if __name__ == "__main__":
    main()
