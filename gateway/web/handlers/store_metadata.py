"""STOW-RS in the metadata and bulk data form: the request's parts become PS3.10 parts, one per instance.

The metadata comes first and names its bulk data by Content-Location, so nothing can be converted until the
whole request has been read. Bulk parts are spooled (in memory while small, on disk past that), so memory
holds the metadata and one instance's header, never the pixels. Each instance then reads as a PS3.10 part
would, and `gateway.web.handlers.store_instances` re-identifies it exactly as it does the PS3.10 form. An
instance that cannot be converted fails when its part is read, with the reason, and is refused like an
unreadable PS3.10 part; the rest of the request goes on.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import IO, Any

from gateway.codec.headers import Headers
from gateway.codec.media import MediaType
from gateway.codec.metadata_form import BulkPart, metadata_objects, to_part10
from gateway.codec.multipart import BodyPart, Part
from gateway.errors import BadRequest, GatewayError, MalformedPart10

METADATA_TYPES = frozenset({"application/dicom+json", "application/json"})
_METADATA_BYTES = 512 << 20  # as much DICOM JSON as a whole study's metadata
_IN_MEMORY = 4 << 20  # a bulk part larger than this is spooled to disk
_CHUNK = 1 << 20


class _Spool:
    """The request's bulk parts, by Content-Location."""

    def __init__(self) -> None:
        self.parts: dict[str, BulkPart] = {}
        self._files: dict[str, IO[bytes]] = {}

    async def add(self, part: Part) -> None:
        location = part.headers.get("Content-Location")
        if not location or location in self.parts:
            raise BadRequest("each bulk data part needs a Content-Location of its own")
        media = _media(part)
        syntax = media.transfer_syntax if media is not None else None
        if media is None or (syntax is None and media.essence != "application/octet-stream"):
            raise BadRequest("bulk data parts are application/octet-stream, or name their transfer-syntax")
        file = self._files[location] = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115
        async for view in part.body:
            file.write(view)
        self.parts[location] = BulkPart(file.tell(), syntax)

    def read(self, location: str) -> bytes:
        file = self._files[location]
        file.seek(0)
        return file.read()

    def chunks(self, location: str) -> Iterator[memoryview]:
        file = self._files[location]
        file.seek(0)
        while chunk := file.read(_CHUNK):
            yield memoryview(chunk)

    def close(self) -> None:
        for file in self._files.values():
            file.close()


class _Converted:
    """One metadata object as a PS3.10 part; converted when its body is first read."""

    headers = Headers({"Content-Type": "application/dicom"})

    def __init__(self, obj: dict[str, Any], spool: _Spool) -> None:
        self.body: AsyncIterator[memoryview] = self._body(obj, spool)

    async def skip(self) -> None:
        async for _ in self.body:
            pass

    @staticmethod
    async def _body(obj: dict[str, Any], spool: _Spool) -> AsyncIterator[memoryview]:
        instance = to_part10(obj, spool.parts, spool.read)
        yield memoryview(instance.header)
        if instance.pixel_location is not None:
            yield memoryview(instance.pixel_head)
            for chunk in spool.chunks(instance.pixel_location):
                yield chunk
            yield memoryview(instance.pixel_tail)


@contextmanager
def metadata_instances(parts: AsyncIterator[Part]) -> Iterator[AsyncIterator[BodyPart]]:
    """The instances of a metadata and bulk data request, as PS3.10 parts; the spool closes on exit."""
    spool = _Spool()
    try:
        yield _instances(parts, spool)
    finally:
        spool.close()


async def _instances(parts: AsyncIterator[Part], spool: _Spool) -> AsyncIterator[BodyPart]:
    metadata = await anext(parts, None)
    if metadata is None:
        return
    media = _media(metadata)
    if media is None or media.essence not in METADATA_TYPES:
        raise BadRequest("the first part of a metadata and bulk data request is its application/dicom+json")
    try:
        objects = metadata_objects(await metadata.read(_METADATA_BYTES))
    except MalformedPart10 as exc:
        raise BadRequest(exc.reason) from None
    async for part in parts:
        await spool.add(part)
    for obj in objects:
        yield _Converted(obj, spool)


def _media(part: Part) -> MediaType | None:
    try:
        return MediaType.parse(part.headers.get("Content-Type") or "", side="client")
    except GatewayError:
        return None
