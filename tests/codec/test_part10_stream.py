from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import Dataset, dcmread, dcmwrite
from pydicom.data import get_testdata_files
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.codec.part10_stream import Part10Header, Part10Split, Part10Stream, split_part10
from gateway.errors import MalformedPart10, Part10Error, UnstreamablePart10, UpstreamProtocolError

from .streams import chunked, cuts_for, fixed

# pydicom's own test files that are not Part 10 instances we can walk, and why.
NOT_WALKABLE = {
    "image_dfl.dcm": "unsupported transfer syntax: deflate",
    "SC_rgb_jpeg.dcm": "unknown VR",  # says explicit VR, is encoded implicit; pydicom guesses, we refuse
    "rtplan_truncated.dcm": "truncated element",
    "MR_truncated.dcm": "truncated pixel data",
    "meta_missing_tsyntax.dcm": "no transfer syntax",
}
FILES = sorted(Path(f) for f in get_testdata_files() if os.path.isfile(f))
PART10 = [f for f in FILES if f.read_bytes()[128:132] == b"DICM" and f.name not in NOT_WALKABLE]
# Explicit and implicit LE, big endian, RLE and JPEG families, undefined-length and UN sequences, trailers.
VARIED = [
    "CT_small.dcm",
    "MR_small_expb.dcm",
    "MR_small_RLE.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEG2000.dcm",
    "MR_small_jp2klossless.dcm",
    "rtplan.dcm",
    "nested_priv_SQ.dcm",
    "UN_sequence.dcm",
    "reportsi.dcm",
    "liver_1frame.dcm",
    "SC_rgb_small_odd.dcm",
]


def bundled(name: str) -> bytes:
    return next(path for path in FILES if path.name == name).read_bytes()


def joined(split: Part10Split) -> bytes:
    return split.header.data + (split.header.pixel_head or b"") + split.pixel_value + split.trailer


async def stream_split(chunks: AsyncIterator[bytes | memoryview], **limits: int) -> Part10Split:
    stream = Part10Stream(chunks, **limits)
    header = await stream.read_header()
    pixels = b"".join([bytes(view) async for view in stream.pixel_value()])
    return Part10Split(header, pixels, await stream.read_trailer())


def without_pixels(path: Path) -> Dataset:
    dataset = dcmread(path)
    dataset.pop("PixelData", None)
    return dataset


@pytest.mark.parametrize("path", PART10, ids=lambda p: p.name)
def test_pieces_rejoin_and_stream_agrees(path: Path) -> None:
    data = path.read_bytes()
    split = split_part10(data)
    assert joined(split) == data
    assert asyncio.run(stream_split(fixed(data, 4096))) == split
    assert asyncio.run(stream_split(fixed(data, 7))) == split


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("path", PART10, ids=lambda p: p.name)
def test_header_and_trailer_parse_as_the_instance_without_pixels(path: Path) -> None:
    split = split_part10(path.read_bytes())
    header_only = dcmread(BytesIO(split.header.data), force=True)
    assert "PixelData" not in header_only
    assert (split.header.pixel_head is None) == ("PixelData" not in dcmread(path))
    expected = without_pixels(path)
    assert dcmread(BytesIO(split.header.data + split.trailer), force=True) == expected
    tags = list(expected.keys())
    below_pixels = [tag for tag in tags if tag < 0x7FE00010]
    assert list(header_only.keys()) == below_pixels
    assert header_only.file_meta.TransferSyntaxUID == split.header.transfer_syntax


@pytest.mark.parametrize("path", sorted(set(FILES) - set(PART10)), ids=lambda p: p.name)
def test_everything_else_is_withheld(path: Path) -> None:
    with pytest.raises(Part10Error, match=NOT_WALKABLE.get(path.name, "no DICM prefix")):
        split_part10(path.read_bytes())
    with pytest.raises(Part10Error):
        asyncio.run(stream_split(fixed(path.read_bytes(), 1000)))


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(VARIED), data=st.data())
def test_any_chunking_gives_the_same_split(name: str, data: st.DataObject) -> None:
    raw = bundled(name)
    cuts = data.draw(cuts_for(len(raw)))
    assert asyncio.run(stream_split(chunked(raw, cuts))) == split_part10(raw)


def test_pixel_value_is_passed_through_without_copies() -> None:
    raw = bundled("CT_small.dcm")
    split = split_part10(raw)
    chunk = raw

    async def views() -> list[memoryview]:
        stream = Part10Stream(fixed(chunk, len(chunk)))
        await stream.read_header()
        return [view async for view in stream.pixel_value()]

    pieces = asyncio.run(views())
    assert all(view.obj is chunk for view in pieces)
    assert b"".join(pieces) == split.pixel_value


# Synthetic instances for the layouts and limits pydicom's files do not cover well.


def instance(transfer_syntax: str, *, pixels: bytes | None = b"\x01\x02" * 8, **extra: object) -> bytes:
    dataset = Dataset()
    dataset.PatientName = "Doe^John"
    dataset.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    dataset.SOPInstanceUID = generate_uid()
    item = Dataset()
    item.CodeValue = "1"
    inner = Dataset()
    inner.CodeMeaning = "nested"
    item.ConceptCodeSequence = Sequence([inner])
    item.ConceptCodeSequence.is_undefined_length = True
    dataset.ContentSequence = Sequence([item, Dataset()])
    dataset.ContentSequence.is_undefined_length = True
    if pixels is not None:
        dataset.Rows, dataset.Columns, dataset.BitsAllocated = 4, 2, 16
        dataset.add_new(0x7FE00010, "OW", pixels)
    for keyword, value in extra.items():
        setattr(dataset, keyword, value)
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.TransferSyntaxUID = UID(transfer_syntax)
    dataset.file_meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    out = BytesIO()
    dcmwrite(out, dataset, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize("transfer_syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian])
def test_native_layouts_with_undefined_length_sequences(transfer_syntax: str) -> None:
    raw = instance(transfer_syntax)
    split = split_part10(raw)
    assert split.header.transfer_syntax == transfer_syntax
    assert split.pixel_value == dcmread(BytesIO(raw)).PixelData
    assert len(split.header.pixel_head or b"") == (8 if transfer_syntax == ImplicitVRLittleEndian else 12)
    assert split.trailer == b""
    assert dcmread(BytesIO(split.header.data)).ContentSequence[0].ConceptCodeSequence[0].CodeMeaning == "nested"


def test_without_pixel_data_the_header_is_the_whole_file() -> None:
    raw = instance(ExplicitVRLittleEndian, pixels=None)
    assert split_part10(raw) == Part10Split(Part10Header(raw, ExplicitVRLittleEndian, None), b"", b"")


def test_without_pixel_data_elements_above_it_are_the_trailer() -> None:
    raw = instance(ExplicitVRLittleEndian, pixels=None, DataSetTrailingPadding=b"\0" * 6)
    split = split_part10(raw)
    assert split.header.pixel_head is None and split.pixel_value == b""
    assert split.trailer == b"\xfc\xff\xfc\xffOB\0\0\x06\0\0\0" + b"\0" * 6


def test_deflate_and_unknown_syntaxes_are_withheld() -> None:
    with pytest.raises(UnstreamablePart10, match="unsupported transfer syntax: deflate"):
        split_part10(instance("1.2.840.10008.1.2.4.95", pixels=None))
    explicit = instance(ExplicitVRLittleEndian, pixels=None)
    private = explicit.replace(b"1.2.840.10008.1.2.1\0", b"1.2.3.4.5.6.7.8.9.1\0", 1)
    with pytest.raises(MalformedPart10, match="unsupported transfer syntax: unknown") as info:
        split_part10(private)
    assert "1.2.3.4" not in str(info.value)


def test_limits() -> None:
    raw = instance(ExplicitVRLittleEndian, DataSetTrailingPadding=b"\0" * 100)
    with pytest.raises(UnstreamablePart10, match="header exceeds 200 bytes"):
        asyncio.run(stream_split(fixed(raw, 64), max_header_bytes=200))
    with pytest.raises(UnstreamablePart10, match="trailer exceeds 100 bytes"):
        asyncio.run(stream_split(fixed(raw, 64), max_trailer_bytes=100))
    assert asyncio.run(stream_split(fixed(raw, 64), max_trailer_bytes=112)) == split_part10(raw)


def nested_items(depth: int) -> bytes:
    """(0041,0010) SQ of undefined length holding `depth` levels of undefined-length items, explicit LE."""
    sequence_head = b"\x41\x00\x10\x00SQ\0\0\xff\xff\xff\xff"
    item_head, item_end = b"\xfe\xff\x00\xe0\xff\xff\xff\xff", b"\xfe\xff\x0d\xe0\0\0\0\0"
    sequence_end = b"\xfe\xff\xdd\xe0\0\0\0\0"
    body = b"\x41\x00\x11\x00LO\x04\x00leaf"
    for _ in range(depth):
        body = sequence_head + item_head + body + item_end + sequence_end
    return body


def test_undefined_length_items_nest_until_a_depth_limit() -> None:
    raw = instance(ExplicitVRLittleEndian, pixels=None) + nested_items(30)
    assert split_part10(raw).header.data == raw
    assert asyncio.run(stream_split(fixed(raw, 5))).header.data == raw
    with pytest.raises(Part10Error, match="nested too deep"):
        split_part10(instance(ExplicitVRLittleEndian, pixels=None) + nested_items(40))


def test_truncated_instances_are_withheld() -> None:
    raw = instance(ExplicitVRLittleEndian)
    for cut in (100, 140, len(raw) // 2, len(raw) - 1):
        with pytest.raises(MalformedPart10, match="malformed part 10"):
            split_part10(raw[:cut])
        with pytest.raises(MalformedPart10, match="malformed part 10"):
            asyncio.run(stream_split(fixed(raw[:cut], 16)))


def test_stages_must_come_in_order() -> None:
    async def misuse() -> None:
        stream = Part10Stream(fixed(instance(ExplicitVRLittleEndian), 8))
        await stream.read_header()
        pixels = stream.pixel_value()
        await anext(pixels)
        await stream.read_trailer()

    with pytest.raises(RuntimeError, match="trailer requested"):
        asyncio.run(misuse())


def test_through_multipart_a_cut_study_fails_as_upstream_error() -> None:
    writer = MultipartWriter("b", related_type="application/dicom")
    raw = bundled("MR_small_RLE.dcm")
    body = writer.part_head({"Content-Type": "application/dicom"}) + raw + writer.part_tail() + writer.close()

    async def study(data: bytes) -> list[Part10Split]:
        splits = []
        async for part in iter_parts(fixed(data, 1000), "b"):
            splits.append(await stream_split(part.body))
        return splits

    assert asyncio.run(study(body)) == [split_part10(raw)]
    with pytest.raises(UpstreamProtocolError, match="truncated multipart body"):
        asyncio.run(study(body[: len(body) // 2]))


def test_an_instance_that_cannot_be_streamed_can_be_skipped_and_the_study_goes_on() -> None:
    writer = MultipartWriter("b", related_type="application/dicom")
    deflated, good = bundled("image_dfl.dcm"), bundled("CT_small.dcm")
    body = b"".join(writer.part_head({}) + raw + writer.part_tail() for raw in (deflated, good)) + writer.close()

    async def study() -> list[str]:
        outcomes = []
        async for part in iter_parts(fixed(body, 333), "b"):
            try:
                outcomes.append((await stream_split(part.body)).header.transfer_syntax)
            except Part10Error as fault:
                outcomes.append(fault.reason)
                await part.skip()
        return outcomes

    assert asyncio.run(study()) == ["unsupported transfer syntax: deflate", "1.2.840.10008.1.2.1"]
