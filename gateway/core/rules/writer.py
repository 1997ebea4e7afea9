"""Writing a Part 10 header: raw elements go out byte for byte, new ones as the engine encoded them.

Sequences the engine parsed are written with defined lengths; anything pydicom converted on the way (rare on
the engine's path) is encoded by pydicom.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element

from gateway.core.rules.header import LONG_VRS, META, UNDEFINED, VR_CODES, Layout, character_set


def write(ds: Dataset, meta: Iterable[RawDataElement | DataElement], layout: Layout) -> bytes:
    out = file_start(getattr(ds, "preamble", None), meta)
    _encode_dataset(ds, layout, out)
    return b"".join(out)


def file_start(preamble: bytes | None, meta: Iterable[RawDataElement | DataElement]) -> list[bytes]:
    """The preamble, "DICM" and the file meta group, as the pieces a file begins with."""
    return encoded_file_start(preamble, b"".join(encode_element(element, META, None) for element in meta))


def encoded_file_start(preamble: bytes | None, meta_body: bytes) -> list[bytes]:
    """As `file_start`, with the file meta elements but the group length already encoded."""
    group_length = META.header(0x00020000, "UL", 4) + META.ulong.pack(len(meta_body))
    return [preamble or b"\0" * 128, b"DICM", group_length, meta_body]


def encode_items(items: Iterable[Dataset], layout: Layout) -> bytes:
    out: list[bytes] = []
    for item in items:
        body: list[bytes] = []
        _encode_dataset(item, layout, body)
        encoded = b"".join(body)
        out += [layout.tag.pack(0xFFFE, 0xE000), layout.ulong.pack(len(encoded)), encoded]
    return b"".join(out)


def _encode_dataset(ds: Dataset, layout: Layout, out: list[bytes]) -> None:
    elements, append, raw_type = ds._dict, out.append, RawDataElement
    if layout.implicit:
        header = layout.header
        for key in sorted(elements, key=int):  # int keys: BaseTag's own comparison is Python code
            element = elements[key]
            if type(element) is raw_type and element.length != UNDEFINED:
                value = element.value or b""
                append(header(key, None, len(value)))
                append(value)
            else:
                append(encode_element(element, layout, ds))
        return
    # Explicit VR, inlined: this loop runs once per kept element.
    short, long, codes = layout.short_header.pack, layout.long_header.pack, VR_CODES
    for key in sorted(elements, key=int):
        element = elements[key]
        if type(element) is raw_type and element.length != UNDEFINED:
            value, vr = element.value or b"", element.VR
            if vr in LONG_VRS or vr is None:
                append(long(key >> 16, key & 0xFFFF, codes.get(vr, b"UN"), 0, len(value)))
            else:
                append(short(key >> 16, key & 0xFFFF, codes[vr], len(value)))
            append(value)
        else:
            append(encode_element(element, layout, ds))


def encode_element(element: RawDataElement | DataElement, layout: Layout, ds: Dataset | None) -> bytes:
    """One element as a data set writes it (`ds` gives the character set of anything pydicom converted)."""
    if isinstance(element, RawDataElement):
        value = element.value or b""
        if element.length == UNDEFINED:
            end = layout.tag.pack(0xFFFE, 0xE0DD) + b"\0\0\0\0"
            return layout.header(element.tag, element.VR, UNDEFINED) + value + end
        return layout.header(element.tag, element.VR, len(value)) + value
    if element.VR == "SQ":
        value = encode_items(element.value, layout)
        return layout.header(element.tag, "SQ", len(value)) + value
    return _pydicom_element(element, layout, ds)


def _pydicom_element(element: DataElement, layout: Layout, ds: Dataset | None) -> bytes:
    """An element that pydicom converted: pydicom encodes it (rare on the engine's path)."""
    stream = DicomBytesIO()
    stream.is_little_endian, stream.is_implicit_VR = layout.little, layout.implicit
    write_data_element(stream, element, character_set(ds) if ds is not None else None)
    return stream.getvalue()
