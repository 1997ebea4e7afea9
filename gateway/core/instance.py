"""De-identify one Part 10 instance as its bytes arrive: the heart of WADO-RS retrieve, without HTTP.

The header (everything before the pixel data) is read, judged, resolved and rewritten before anything of the
instance is handed back; the pixel bytes then pass through untouched, or, when a pixel rule applies, are read
whole (one instance, never the study) and masked. Elements after the pixel data (signatures, padding, private
groups) are dropped: Table E.1-1 removes all of them. An instance that must not go out raises Withheld; one
whose bytes do not parse raises Unreadable, which the caller must not treat as a quiet omission.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from pydicom import Dataset

from gateway.codec.part10_stream import Part10Header, Part10Stream
from gateway.core.dicom import Uids, dataset_patient, dataset_uids
from gateway.core.governance.model import Withdrawals
from gateway.core.pseudonyms.model import Mappings, Needs, ScopeSpec
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.burned_text import CLEAN, BurnedText
from gateway.core.rules.engine import Engine
from gateway.core.rules.pixels import PixelPlan
from gateway.errors import MalformedPart10, Part10Error, Unreadable, Withheld

MASK_LIMIT = 2 * 1024**3  # a masked instance is held whole: bounded by one instance, never the study
_UNDEFINED_LENGTH = b"\xff\xff\xff\xff"


def judged(fault: Part10Error) -> Withheld:
    """What a codec fault means for the instance: bytes that do not parse are Unreadable (the response must not
    look whole without them); valid bytes the gateway cannot stream are withheld, like any instance left out."""
    return Unreadable(fault.reason) if isinstance(fault, MalformedPart10) else Withheld(fault.reason)


@dataclass(frozen=True)
class Deidentifier:
    """What de-identifies a scope's instances: the role's engine, its pseudonym scope, and who opted out."""

    engine: Engine
    scope: ScopeSpec
    resolver: Resolver
    withdrawn: Withdrawals


@dataclass
class DeidentifiedInstance:
    """One instance ready to send: its new header, then its pixel element, then `finish()`."""

    transfer_syntax: str
    header: bytes
    pixels: AsyncIterator[bytes | memoryview]
    real: Uids
    pseudonymous: Uids
    _stream: Part10Stream

    async def finish(self) -> None:
        """Read past what follows the pixel data, once the pixels have been consumed; it is dropped on purpose."""
        try:
            await self._stream.read_trailer()
        except Part10Error as fault:
            raise judged(fault) from None


@dataclass
class ReadInstance:
    """An instance whose header is read and judged, waiting for its Mappings: a response resolves those for
    several instances in one store call (`read_instance`, then the resolver, then `rewrite_instance`)."""

    needs: Needs
    real: Uids
    _stream: Part10Stream
    _header: Part10Header
    _ds: Dataset

    @property
    def dataset(self) -> Dataset:
        """The header as read (raw elements): what OCR takes the instance's identifiers and modality from."""
        return self._ds

    async def hold(self, limit: int) -> int | None:
        """Read the rest of the instance into memory, so that the stream under it can move on to the next one:
        the bytes held, or None when they would exceed `limit` (the rest then stays in the stream)."""
        return await self._stream.hold(limit)


async def read_instance(body: AsyncIterable[bytes | memoryview], with_: Deidentifier) -> ReadInstance:
    stream = Part10Stream(body)
    try:
        header = await stream.read_header()
    except Part10Error as fault:
        raise judged(fault) from None
    ds = with_.engine.read_header(header.data)
    needs = with_.engine.needs(ds)  # judges the header first: what governance reads below then reads cleanly
    if with_.withdrawn.covers(dataset_patient(ds)):
        raise Withheld("opted-out")
    return ReadInstance(needs, dataset_uids(ds), stream, header, ds)


async def rewrite_instance(
    read: ReadInstance, engine: Engine, mappings: Mappings, burned: BurnedText = CLEAN
) -> DeidentifiedInstance:
    """The instance with its header de-identified under `mappings` (which hold at least its needs), and its
    pixels masked where the OCR verdict `burned` found identifying text."""
    stream, header, ds = read._stream, read._header, read._ds
    plan = engine.apply(ds, mappings, burned)
    new_header = engine.write_header(ds)
    pixels = _pixels(stream, header) if plan.passthrough else _ready(await _masked(stream, header, engine, ds, plan))
    return DeidentifiedInstance(header.transfer_syntax, new_header, pixels, read.real, dataset_uids(ds), stream)


async def deidentify_instance(body: AsyncIterable[bytes | memoryview], with_: Deidentifier) -> DeidentifiedInstance:
    """One instance on its own: read, resolve, rewrite."""
    read = await read_instance(body, with_)
    return await rewrite_instance(read, with_.engine, await with_.resolver.resolve(with_.scope, read.needs))


async def _pixels(stream: Part10Stream, header: Part10Header) -> AsyncIterator[bytes | memoryview]:
    if header.pixel_head is not None:
        yield header.pixel_head
    try:
        async for chunk in stream.pixel_value():  # consumed even when empty: the trailer comes after it
            yield chunk
    except Part10Error as fault:
        raise judged(fault) from None


async def _masked(
    stream: Part10Stream, header: Part10Header, engine: Engine, ds: Dataset, plan: PixelPlan
) -> list[bytes]:
    """The pixel element with its regions blanked; read whole first, so a failure comes before any write."""
    if header.pixel_head is not None and header.pixel_head.endswith(_UNDEFINED_LENGTH):  # encapsulated frames
        raise Withheld("mask-needs-native-pixels (7FE0,0010)")
    value = bytearray()
    try:
        async for chunk in stream.pixel_value():
            value += chunk
            if len(value) > MASK_LIMIT:
                raise Withheld("mask-instance-too-large (7FE0,0010)")
    except Part10Error as fault:
        raise judged(fault) from None
    if header.pixel_head is None:
        return [bytes(value)]
    return [header.pixel_head, engine.mask_pixels(ds, bytes(value), plan)]


async def _ready(chunks: list[bytes]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk
