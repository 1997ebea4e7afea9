"""De-identify one Part 10 instance as its bytes arrive: the heart of WADO-RS retrieve, without HTTP.

The header (everything before the pixel data) is read, judged, resolved and rewritten before anything of the
instance is handed back; the pixel bytes then pass through untouched, or, when a pixel rule applies, are read
whole (one instance, never the study) and masked. Elements after the pixel data (signatures, padding, private
groups) are dropped: Table E.1-1 removes all of them. An instance that must not go out raises Withheld; one
whose bytes do not parse raises Unreadable, which the caller must not treat as a quiet omission. Encapsulated
pixels under a mask are decoded, masked and encoded again (gateway.core.rules.encapsulated), the instance's
compressed value and its result held in memory, and only then is the header written: it must name the syntax
and the photometric interpretation of the pixels that go out.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from pydicom import Dataset

from gateway.codec.part10_stream import Part10Header, Part10Stream
from gateway.core.dicom import Uids, dataset_patient, dataset_uids
from gateway.core.governance.model import Withdrawals
from gateway.core.pseudonyms.model import Mappings, Needs, ScopeSpec
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.burned_text import CLEAN, BurnedText
from gateway.core.rules.encapsulated import ANY, Accepted, Remasked
from gateway.core.rules.engine import Engine
from gateway.core.rules.header_plan import Compiled
from gateway.core.rules.pixels import PixelPlan
from gateway.core.rules.withhold import Header, dataset_header
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
    several instances in one store call (`read_instance`, then the resolver, then `rewrite_instance`). Most are
    read through their series' compiled plan (`Engine.compiled`); the rest as a dataset."""

    needs: Needs
    real: Uids
    _stream: Part10Stream
    _header: Part10Header
    _read: Dataset | Compiled

    @property
    def screened(self) -> Header:
        """The values the role screens an instance by (`withhold`): whether OCR must read it, for one."""
        return self._read.plan.screened if isinstance(self._read, Compiled) else dataset_header(self._read)

    @property
    def dataset(self) -> Dataset:
        """The header as read (raw elements): what OCR takes the instance's identifiers from. A compiled plan
        never serves an instance OCR reads, so this is only asked of one read whole."""
        if isinstance(self._read, Compiled):
            raise RuntimeError("a compiled instance has no dataset")
        return self._read

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
    compiled = with_.engine.compiled(header.data)
    if compiled is not None:
        if with_.withdrawn.covers(compiled.plan.patient):
            raise Withheld("opted-out")
        return ReadInstance(compiled.needs, compiled.real, stream, header, compiled)
    ds = with_.engine.read_header(header.data)
    needs = with_.engine.needs(ds)  # judges the header first: what governance reads below then reads cleanly
    if with_.withdrawn.covers(dataset_patient(ds)):
        raise Withheld("opted-out")
    return ReadInstance(needs, dataset_uids(ds), stream, header, ds)


async def rewrite_instance(
    read: ReadInstance,
    engine: Engine,
    mappings: Mappings,
    burned: BurnedText = CLEAN,
    *,
    accepted: Accepted = ANY,
) -> DeidentifiedInstance:
    """The instance with its header de-identified under `mappings` (which hold at least its needs), and its
    pixels masked where a pixel rule or the OCR verdict `burned` asks. A masked encapsulated instance may go out
    in another syntax, one the client `accepted` (gateway.core.rules.encapsulated)."""
    stream, header, ds = read._stream, read._header, read._read
    if isinstance(ds, Compiled):
        if burned is not CLEAN:
            raise RuntimeError("a compiled instance was read by OCR")  # `Engine.compiled` keeps those out
        new, pseudonymous = engine.write_compiled(ds, mappings)
        return DeidentifiedInstance(header.transfer_syntax, new, _pixels(stream, header), read.real, pseudonymous,
                                    stream)
    plan = engine.apply(ds, mappings, burned)
    syntax = header.transfer_syntax
    if plan.passthrough:
        pixels = _pixels(stream, header)
    elif _encapsulated(header):
        remasked = await _remasked(stream, engine, ds, plan, accepted)
        syntax, pixels = remasked.transfer_syntax, _ready(_pixel_element(header, remasked))
    else:
        pixels = _ready(await _masked(stream, header, engine, ds, plan))
    new_header = engine.write_header(ds)
    return DeidentifiedInstance(syntax, new_header, pixels, read.real, dataset_uids(ds), stream)


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
    value = await _whole_value(stream)
    if header.pixel_head is None:
        return [value]
    return [header.pixel_head, engine.mask_pixels(ds, value, plan)]


async def _remasked(stream: Part10Stream, engine: Engine, ds: Dataset, plan: PixelPlan, accepted: Accepted) -> Remasked:
    """Encapsulated frames decoded, masked and encoded again, off the event loop (a codec holds it for as long
    as a frame takes); `ds` is changed to match before its header is written."""
    value = await _whole_value(stream)
    return await asyncio.to_thread(engine.mask_encapsulated, ds, value, plan, accepted)


async def _whole_value(stream: Part10Stream) -> bytes:
    value = bytearray()
    try:
        async for chunk in stream.pixel_value():
            value += chunk
            if len(value) > MASK_LIMIT:
                raise Withheld("mask-instance-too-large (7FE0,0010)")
    except Part10Error as fault:
        raise judged(fault) from None
    return bytes(value)


def _encapsulated(header: Part10Header) -> bool:
    return header.pixel_head is not None and header.pixel_head.endswith(_UNDEFINED_LENGTH)


def _pixel_element(header: Part10Header, remasked: Remasked) -> list[bytes]:
    assert header.pixel_head is not None
    if remasked.encapsulated:
        return [header.pixel_head, remasked.value]  # (7FE0,0010) OB of undefined length, as it came
    head = b"\xe0\x7f\x10\x00" + remasked.vr.encode("ascii") + b"\0\0" + struct.pack("<I", len(remasked.value))
    return [head, remasked.value]  # Explicit VR Little Endian, defined length


async def _ready(chunks: list[bytes]) -> AsyncIterator[bytes | memoryview]:
    for chunk in chunks:
        yield chunk
