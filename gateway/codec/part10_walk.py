"""A sans-I/O walk over a Part 10 file's elements, far enough to find where the header ends.

The walk is a generator over a buffer that its driver grows: it yields an offset the buffer must reach and
is sent back whether the driver could get that far (False at end of input). The async stream and the
synchronous whole-buffer split drive the same walk, so they cannot disagree. It never decodes values other
than the TransferSyntaxUID; it only measures elements, descending into undefined-length sequences and items
(nested at most `_MAX_DEPTH` deep) because only their delimiters say where they end.

The file meta group is explicit VR little endian and ends where group 0002 ends. Like pydicom, the walk
does not trust (0002,0000) group length: files with a wrong one are common and harmless.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

from gateway.codec.transfer_syntax import EXPLICIT_LE, IMPLICIT_LE, Layout, layout_for
from gateway.errors import MalformedPart10

PIXEL_DATA = 0x7FE00010
ITEM = 0xFFFEE000
ITEM_END = 0xFFFEE00D
SEQUENCE_END = 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
_TRANSFER_SYNTAX_UID = 0x00020010
_MAX_DEPTH = 32
_LONG_VRS = frozenset(b"OB OD OF OL OV OW SQ UC UN UR UT SV UV".split())
_SHORT_VRS = frozenset(b"AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US".split())


def malformed(reason: str) -> MalformedPart10:
    return MalformedPart10(f"malformed part 10: {reason}")


@dataclass(frozen=True)
class HeaderEnd:
    """Where the header ends (`end`) and, when PixelData follows, the size of its element head and value.

    `pixel_head` is 0 when there is no top-level PixelData; `pixel_length` is None for undefined length.
    """

    transfer_syntax: str
    layout: Layout
    end: int
    pixel_head: int
    pixel_length: int | None


def walk_header(buf: bytes | bytearray) -> Generator[int, bool, HeaderEnd]:
    if not (yield from _have(buf, 132)) or buf[128:132] != b"DICM":
        raise malformed("no DICM prefix")
    pos, transfer_syntax = yield from _walk_meta(buf, 132)
    layout = layout_for(transfer_syntax)
    end, head, length = yield from _walk_top(buf, pos, layout)
    return HeaderEnd(transfer_syntax, layout, end, head, None if length == UNDEFINED else length)


def fragment_head(head: bytes | bytearray | memoryview, layout: Layout) -> int | None:
    """The value length of an encapsulated fragment's item head, or None for the sequence delimiter."""
    group, element = layout.tag.unpack_from(head)
    (length,) = layout.u32.unpack_from(head, 4)
    tag = group << 16 | element
    if tag == SEQUENCE_END:
        return None
    if tag != ITEM or length == UNDEFINED:
        raise malformed("bad encapsulated pixel data item")
    return int(length)


def _have(buf: bytes | bytearray, end: int) -> Generator[int, bool, bool]:
    if len(buf) >= end:
        return True
    return (yield end)


def _walk_meta(buf: bytes | bytearray, pos: int) -> Generator[int, bool, tuple[int, str]]:
    transfer_syntax = None
    while (yield from _have(buf, pos + 2)) and EXPLICIT_LE.u16.unpack_from(buf, pos)[0] == 0x0002:
        tag, _, length, head = yield from _element(buf, pos, EXPLICIT_LE)
        end = pos + head + length
        if length == UNDEFINED or not (yield from _have(buf, end)):
            raise malformed("bad file meta element")
        if tag == _TRANSFER_SYNTAX_UID:
            transfer_syntax = bytes(buf[pos + head : end]).rstrip(b"\0 ").decode("ascii", "replace")
        pos = end
    if transfer_syntax is None:
        raise malformed("no transfer syntax in file meta")
    return pos, transfer_syntax


def _walk_top(buf: bytes | bytearray, pos: int, layout: Layout) -> Generator[int, bool, tuple[int, int, int]]:
    """Walk top-level elements up to PixelData or the first tag above it: (offset, head size, length)."""
    while len(buf) > pos or (yield from _have(buf, pos + 1)):
        # Most headers are in the buffer whole: an element read from it directly costs no generator.
        tag, vr, length, head = _buffered(buf, pos, layout) or (yield from _element(buf, pos, layout))
        if tag == PIXEL_DATA:
            return pos, head, length
        if tag > PIXEL_DATA:
            return pos, 0, 0
        if length == UNDEFINED:
            pos = yield from _skip_value(buf, pos + head, vr, length, layout, 1)
        else:
            pos += head + length
    if len(buf) < pos:
        raise malformed("truncated element")
    return pos, 0, 0


def _element(buf: bytes | bytearray, pos: int, layout: Layout) -> Generator[int, bool, tuple[int, bytes, int, int]]:
    """(tag, VR or b"", value length, head size) of the element at `pos`."""
    if not (yield from _have(buf, pos + 8)):
        raise malformed("truncated element")
    if layout.explicit and layout.tag.unpack_from(buf, pos)[0] != 0xFFFE and bytes(buf[pos + 4 : pos + 6]) in _LONG_VRS:
        yield from _have(buf, pos + 12)  # only a long VR asks for more: `_parse` says when it is missing
    return _parse(buf, pos, layout)


def _buffered(buf: bytes | bytearray, pos: int, layout: Layout) -> tuple[int, bytes, int, int] | None:
    """`_element` for an element whose head is already in the buffer; None when it may not be."""
    return _parse(buf, pos, layout) if len(buf) >= pos + 12 else None


def _parse(buf: bytes | bytearray, pos: int, layout: Layout) -> tuple[int, bytes, int, int]:
    group, element = layout.tag.unpack_from(buf, pos)
    if not layout.explicit or group == 0xFFFE:
        return group << 16 | element, b"", layout.u32.unpack_from(buf, pos + 4)[0], 8
    vr = bytes(buf[pos + 4 : pos + 6])
    if vr in _SHORT_VRS:
        return group << 16 | element, vr, layout.u16.unpack_from(buf, pos + 6)[0], 8
    if vr not in _LONG_VRS:
        raise malformed("unknown VR")
    if len(buf) < pos + 12:
        raise malformed("truncated element")
    return group << 16 | element, vr, layout.u32.unpack_from(buf, pos + 8)[0], 12


def _skip_value(
    buf: bytes | bytearray, pos: int, vr: bytes, length: int, layout: Layout, depth: int
) -> Generator[int, bool, int]:
    if length != UNDEFINED:
        return pos + length
    if depth > _MAX_DEPTH:
        raise malformed("sequences nested too deep")
    # PS3.5 §6.2.2: an undefined-length UN holds a sequence encoded in implicit VR little endian.
    nested = IMPLICIT_LE if vr == b"UN" else layout
    while True:
        tag, _, length, _ = yield from _element(buf, pos, nested)
        pos += 8
        if tag == SEQUENCE_END:
            return pos
        if tag != ITEM:
            raise malformed("unexpected element in a sequence")
        if length != UNDEFINED:
            pos += length
        else:
            pos = yield from _walk_item(buf, pos, nested, depth)


def _walk_item(buf: bytes | bytearray, pos: int, layout: Layout, depth: int) -> Generator[int, bool, int]:
    while True:
        tag, vr, length, head = yield from _element(buf, pos, layout)
        if tag == ITEM_END:
            return pos + 8
        if tag >> 16 == 0xFFFE:
            raise malformed("unexpected delimiter in an item")
        pos = yield from _skip_value(buf, pos + head, vr, length, layout, depth + 1)
