"""How each transfer syntax lays out a data set: explicit or implicit VR, little or big endian (PS3.5 §10).

Only the layout matters to the codec. Every encapsulated syntax is explicit VR little endian; the deflated
ones compress the data set itself, so its elements cannot be walked without inflating, and are withheld.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from gateway.errors import MalformedPart10, UnstreamablePart10


@dataclass(frozen=True)
class Layout:
    """Whether elements carry their VR, and the byte order of tags and lengths."""

    explicit: bool
    tag: struct.Struct
    u16: struct.Struct
    u32: struct.Struct


def _layout(*, explicit: bool, order: str) -> Layout:
    return Layout(explicit, struct.Struct(order + "HH"), struct.Struct(order + "H"), struct.Struct(order + "I"))


EXPLICIT_LE = _layout(explicit=True, order="<")
IMPLICIT_LE = _layout(explicit=False, order="<")
EXPLICIT_BE = _layout(explicit=True, order=">")

_NATIVE = {
    "1.2.840.10008.1.2": IMPLICIT_LE,
    "1.2.840.10008.1.2.1": EXPLICIT_LE,
    "1.2.840.10008.1.2.2": EXPLICIT_BE,
}
_DEFLATED = frozenset({"1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95", "1.2.840.10008.1.2.4.205"})
# PS3.6 Table A-1 transfer syntaxes with encapsulated pixel data, retired ones included.
_ENCAPSULATED = frozenset(
    {"1.2.840.10008.1.2.1.98", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.8.1"}
    | {f"1.2.840.10008.1.2.4.{n}" for n in range(50, 67)}
    | {f"1.2.840.10008.1.2.4.{n}" for n in (70, 80, 81, 90, 91, 92, 93, 94, 110, 111, 112)}
    | {f"1.2.840.10008.1.2.4.{n}" for n in range(100, 109)}
    | {f"1.2.840.10008.1.2.4.{n}.1" for n in range(100, 107)}
    | {f"1.2.840.10008.1.2.4.{n}" for n in range(201, 205)}
    | {f"1.2.840.10008.1.2.7.{n}" for n in (1, 2, 3)}
)


def layout_for(transfer_syntax: str) -> Layout:
    """The data set layout of a transfer syntax: UnstreamablePart10 for deflated ones (valid, but not
    streamable), and MalformedPart10 for unknown ones (nothing says how to parse them)."""
    if transfer_syntax in _NATIVE:
        return _NATIVE[transfer_syntax]
    if transfer_syntax in _ENCAPSULATED:
        return EXPLICIT_LE
    # A private syntax's UID names a vendor, not a patient, but logs carry no values at all.
    if transfer_syntax in _DEFLATED:
        raise UnstreamablePart10("unsupported transfer syntax: deflate")
    raise MalformedPart10("unsupported transfer syntax: unknown")


def is_encapsulated(transfer_syntax: str) -> bool:
    """Whether pixel data in this syntax is encapsulated (compressed frames in items)."""
    return transfer_syntax in _ENCAPSULATED
