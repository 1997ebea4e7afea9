"""Reading a Part 10 header into pydicom raw elements, built for speed and exactness (`writer.py` writes).

pydicom's own reader and writer cost about 4 ms for a CT header; this pair costs a small fraction of that,
because an element the engine does not change is never decoded: it stays a RawDataElement and goes back out
byte for byte, in the input's transfer syntax (`Layout`). New values are encoded straight into raw elements
too. The Dataset returned is an ordinary pydicom Dataset, so anything can still read it through pydicom.
"""

from __future__ import annotations

import re
import struct
from bisect import bisect_left
from collections.abc import Sequence
from itertools import compress, islice
from operator import lt
from typing import TypeVar

from pydicom.charset import convert_encodings, decode_bytes, default_encoding
from pydicom.datadict import DicomDictionary
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag

from gateway.errors import Unreadable, Withheld

LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})
ASCII_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR"})
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
IMPLICIT_LITTLE = "1.2.840.10008.1.2"
EXPLICIT_BIG = "1.2.840.10008.1.2.2"
DEFLATED = ("1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.4.95")
Elements = dict[BaseTag, RawDataElement | DataElement]
D = TypeVar("D", bound=Dataset)
_NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "UV": "Q", "SV": "q", "FL": "f", "FD": "d", "AT": "HH"}
_LONG_CODES = frozenset(vr.encode("ascii") for vr in LONG_VRS)
_VR_NAMES = {name.encode("ascii"): name for name in LONG_VRS | ASCII_VRS | {"AT", "FD", "FL", "LO", "LT", "PN", "SH",
                                                                            "SL", "SS", "ST", "UL", "US"}}
# One BaseTag object per dictionary tag, shared by every dataset read: a lookup with the very key object a dict
# holds stops at the identity test, and never reaches BaseTag.__eq__ (Python code).
TAGS: dict[int, BaseTag] = {tag: BaseTag(tag) for tag in DicomDictionary}
VR_CODES: dict[str | None, bytes] = {name: code for code, name in _VR_NAMES.items()}
_CHARSET = TAGS[0x00080005]


class Layout:
    """The byte layout of one transfer syntax: implicit or explicit VR, little or big endian."""

    def __init__(self, implicit: bool, little: bool) -> None:
        self.implicit, self.little = implicit, little
        order = "<" if little else ">"
        self.tag = struct.Struct(order + "HH")
        self.ulong = struct.Struct(order + "L")
        self.ushort = struct.Struct(order + "H")
        self.implicit_header = struct.Struct(order + "HHL")
        self.short_header = struct.Struct(order + "HH2sH")
        self.long_header = struct.Struct(order + "HH2sHL")
        self.order = order
        # Runs of consecutive private elements, by their first bytes (`_spans`): a vendor's private groups repeat
        # byte for byte in every instance of a series, and a run equal to one seen before is skipped in one step.
        self.private_runs: dict[bytes, bytes] = {}
        # The element layouts of recent data sets, most recent first, and those seen once (`top_level`).
        self.recent_layouts: list[KnownLayout] = []
        self.layout_sightings: dict[tuple[int, ...], bool] = {}

    def header(self, tag: int, vr: str | None, length: int) -> bytes:
        if self.implicit:
            return self.implicit_header.pack(tag >> 16, tag & 0xFFFF, length)
        if vr in LONG_VRS or vr is None:
            return self.long_header.pack(tag >> 16, tag & 0xFFFF, VR_CODES.get(vr, b"UN"), 0, length)
        return self.short_header.pack(tag >> 16, tag & 0xFFFF, VR_CODES.get(vr) or vr.encode("ascii"), length)

    def raw(self, tag: int, vr: str, value: bytes) -> RawDataElement:
        return RawDataElement(BaseTag(tag), None if self.implicit else vr, len(value), value, 0,
                              self.implicit, self.little, True, False)


META = Layout(implicit=False, little=True)
LAYOUTS = {False: Layout(False, True), True: Layout(True, True)}
BIG = Layout(False, False)


def layout_for(syntax: str) -> Layout:
    if syntax in DEFLATED:
        raise Withheld("deflated-transfer-syntax (0002,0010)")  # valid, but not streamable: left out
    return BIG if syntax == EXPLICIT_BIG else LAYOUTS[syntax == IMPLICIT_LITTLE]


# -- reading ---------------------------------------------------------------------------------------------
Span = tuple[int, str | None, int, int, int, int]  # tag, VR, length, where the element starts, its value, its end


def read(data: bytes, *, skip_private: bool = False) -> Dataset:
    meta, position, layout = read_meta(data)
    elements, _ = _elements(data, position, len(data), layout, skip_private=skip_private)
    ds = new_dataset(Dataset, elements, default_encoding)
    ds.__dict__.update(
        file_meta=new_dataset(FileMetaDataset, meta, default_encoding),
        preamble=data[:128],
        _read_implicit=layout.implicit,
        _read_little=layout.little,
    )
    return ds


def read_meta(data: bytes) -> tuple[Elements, int, Layout]:
    """The file meta elements, where the data set starts, and the data set's layout. The instances of a series
    mostly share their file meta group but for its instance UID: one read before is matched whole
    (`KnownMeta`)."""
    if len(data) < 132 or data[128:132] != b"DICM":
        raise Unreadable("unreadable-header")
    for index, known in enumerate(_KNOWN_METAS):
        found = known.match(data)
        if found is not None:
            if index:
                _KNOWN_METAS.insert(0, _KNOWN_METAS.pop(index))
            return found
    meta, position = _elements(data, 132, len(data), META, meta_only=True)
    syntax_element = meta.get(BaseTag(0x00020010))
    if not isinstance(syntax_element, RawDataElement):
        raise Unreadable("no-transfer-syntax (0002,0010)")
    layout = layout_for((syntax_element.value or b"").rstrip(b"\0 ").decode("latin-1"))
    if position - 132 <= META_BYTES_MAX:
        if len(_KNOWN_METAS) >= _METAS_MAX:
            _KNOWN_METAS.pop()
        _KNOWN_METAS.insert(0, KnownMeta(data, meta, position, layout))
    return meta, position, layout


class KnownMeta:
    """A file meta group read before, and what another header's must be to read the same: the same bytes up to
    where the data set starts, but for the value of the Media Storage SOP Instance UID, which may be any bytes
    of the same length (it is never read to find the next element); and a data set that starts there."""

    def __init__(self, data: bytes, meta: Elements, position: int, layout: Layout) -> None:
        instance = meta.get(_MEDIA_INSTANCE)
        if isinstance(instance, RawDataElement) and instance.length != UNDEFINED:
            start, end = instance.value_tell, instance.value_tell + instance.length
        else:
            instance, start, end = None, position, position
        self.head, self.tail, self.instance_at = data[128:start], data[end:position], (start, end)
        self.meta, self.instance, self.position, self.layout = meta, instance, position, layout

    def match(self, data: bytes) -> tuple[Elements, int, Layout] | None:
        start, end = self.instance_at
        position = self.position
        if not (data.startswith(self.head, 128) and data.startswith(self.tail, end)):
            return None
        if len(data) < position + 8 or data.startswith(b"\2\0", position):
            return None  # the reading would go on into another group 2 element, or fail
        meta = dict(self.meta)
        if self.instance is not None:
            meta[_MEDIA_INSTANCE] = self.instance._replace(value=data[start:end])
        return meta, position, self.layout


_MEDIA_INSTANCE = TAGS[0x00020003]
_KNOWN_METAS: list[KnownMeta] = []
_METAS_MAX = 8
META_BYTES_MAX = 16 << 10  # a file meta group is a few hundred bytes


class TopLevel:
    """A data set's top-level elements, private ones skipped, as parallel sequences (so that the loops over them
    run in C): their tags, their bytes (header and value) and their spans; whether the tags come in order; and,
    shared by every data set of the same element layout, which elements a set of tags selects (`selected`)."""

    __slots__ = ("_selections", "datas", "ordered", "spans", "tags")

    def __init__(self, tags: Sequence[int], datas: Sequence[bytes], spans: list[Span], ordered: bool,
                 selections: dict[tuple[frozenset[int], frozenset[str]], list[bool]]) -> None:
        self.tags, self.datas, self.spans, self.ordered = tags, datas, spans, ordered
        self._selections = selections

    @classmethod
    def read(cls, data: bytes, spans: list[Span]) -> TopLevel:
        tags = [span[0] for span in spans]
        return cls(tags, [data[span[3] : span[5]] for span in spans], spans, _ordered(tags), {})

    def index(self, tag: int) -> int | None:
        """Where `tag` is among the elements, if it is there (the tags being in order)."""
        index = bisect_left(self.tags, tag)
        return index if index < len(self.tags) and self.tags[index] == tag else None

    def selected(self, tags: frozenset[int], vrs: frozenset[str]) -> tuple[bytes, ...]:
        """The bytes of the elements whose tag is in `tags` or whose VR is in `vrs`, in order."""
        key = (tags, vrs)
        chosen = self._selections.get(key)
        if chosen is None:
            if len(self._selections) >= _SELECTIONS_MAX:
                self._selections.clear()
            chosen = self._selections[key] = [
                tag in tags or span[1] in vrs for tag, span in zip(self.tags, self.spans, strict=True)
            ]
        return tuple(compress(self.datas, chosen))


def _ordered(tags: Sequence[int]) -> bool:
    """Whether every tag is greater than the one before it (no element out of order, none repeated)."""
    return all(map(lt, tags, islice(tags, 1, None)))


def top_level(data: bytes, position: int, layout: Layout) -> TopLevel:
    """The top-level elements of a data set, private elements skipped (`_elements` without building them: the
    compiled header plan builds only the few it has not seen).

    The instances of a series mostly share one element layout: the same tags with the same value lengths. A
    layout seen twice is remembered (`KnownLayout`), and a data set that has it is matched as a whole, in C."""
    recent = layout.recent_layouts
    for index, known in enumerate(recent):
        top = known.match(data, position)
        if top is not None:
            if index:
                recent.insert(0, recent.pop(index))
            return top
    spans = _spans(data, position, len(data), layout, skip_private=True, top=True)[0]
    sightings = layout.layout_sightings
    key = (len(data) - position, *[span[2] for span in spans])
    if sightings.pop(key, None) is None:
        if len(sightings) >= _SIGHTINGS_MAX:
            sightings.clear()
        sightings[key] = True
    elif len(data) - position <= LAYOUT_BYTES_MAX and len(spans) <= LAYOUT_ELEMENTS_MAX:
        # seen before: worth the pattern's compilation (a few ms)
        if len(recent) >= _LAYOUTS_MAX:
            recent.pop()
        recent.insert(0, KnownLayout(data, position, spans))
    return TopLevel.read(data, spans)


_LAYOUTS_MAX = 8
_SIGHTINGS_MAX = 256
_SELECTIONS_MAX = 8  # per layout: one per engine that reads it, and few engines live at once
# What the memos may hold, in bytes, whatever the headers (up to 64 MB each): a CT header is a few KB.
LAYOUT_BYTES_MAX = 256 << 10  # per remembered layout (its stretches are copies of the data set's bytes)
# A pattern with a group per element compiles in about 20 µs an element: a CT has some 70 at the top level.
LAYOUT_ELEMENTS_MAX = 2048
RUN_BYTES_MAX = 16 << 10  # per remembered private run


class KnownLayout:
    """The spans of a data set (read with private elements skipped), and what another data set must be to have
    the same: the same bytes, but for the values of defined length, which may be any bytes of the same length.
    Such a value is never read to find the next element; every other byte is. Element headers are matched by
    a pattern, and the stretches read whole (skipped private elements, sequences of undefined length) compared
    as bytes: a pattern of their every byte would take long to compile. Each element is a group of the
    pattern, so that one match also gives every element's bytes."""

    def __init__(self, data: bytes, position: int, spans: list[Span]) -> None:
        pieces, stretches, cursor = [b"(?s)"], [], position
        for _, _, length, here, start, end in spans:
            if here > cursor:  # skipped private elements
                stretches.append((cursor - position, data[cursor:here]))
                pieces.append(b".{%d}" % (here - cursor))
            if length == UNDEFINED:
                stretches.append((here - position, data[here:end]))
                pieces.append(b"(.{%d})" % (end - here))
            else:
                pieces += [b"(", re.escape(data[here:start]), b".{%d})" % (end - start)]
            cursor = end
        if len(data) > cursor:
            stretches.append((cursor - position, data[cursor:]))
            pieces.append(b".{%d}" % (len(data) - cursor))
        self.pattern = re.compile(b"".join(pieces))
        self.stretches = tuple(stretches)
        self.start, self.spans = position, spans[:]
        self.tags = tuple(span[0] for span in spans)
        self.ordered = _ordered(self.tags)
        self.selections: dict[tuple[frozenset[int], frozenset[str]], list[bool]] = {}

    def match(self, data: bytes, position: int) -> TopLevel | None:
        """The top-level elements of `data` from `position`, when it has this layout; None otherwise."""
        found = self.pattern.fullmatch(data, position)
        if found is None:
            return None
        if not all(data.startswith(stretch, position + offset) for offset, stretch in self.stretches):
            return None
        shift = position - self.start
        spans = self.spans[:] if not shift else [
            (tag, vr, length, here + shift, start + shift, end + shift)
            for tag, vr, length, here, start, end in self.spans
        ]
        return TopLevel(self.tags, found.groups(), spans, self.ordered, self.selections)


# pydicom's Dataset.__init__ goes through a dozen validating `__setattr__` calls, which dominates the cost of
# an SR (hundreds of items). `new_dataset` builds the same object from the state of a real one, with fresh
# copies of its containers (pydicom < 4; FileMetaDataset has the same state).
_DATASET_STATE = Dataset().__dict__
_SCALARS = {name: value for name, value in _DATASET_STATE.items() if not isinstance(value, dict | list)}
_CONTAINERS = [name for name, value in _DATASET_STATE.items() if isinstance(value, dict | list) and name != "_dict"]


def new_dataset(kind: type[D], elements: Elements, encoding: str | list[str]) -> D:
    """`kind(elements, parent_encoding=encoding)`, without the setters."""
    ds = object.__new__(kind)
    state = ds.__dict__
    state.update(_SCALARS, _dict=elements, _parent_encoding=encoding)
    for name in _CONTAINERS:
        state[name] = _DATASET_STATE[name].copy()
    return ds


def raw_element(data: bytes, span: Span, layout: Layout) -> RawDataElement:
    """The element at `span` of `data`, as `_elements` builds it."""
    tag, vr, length, _, start, end = span
    key = TAGS.get(tag) or BaseTag(tag)
    value = data[start : end - 8] if length == UNDEFINED else data[start:end]
    return RawDataElement(key, vr, length, value, start, layout.implicit, layout.little, True, False)


def _elements(data: bytes, position: int, end: int, layout: Layout, *, meta_only: bool = False,
              in_item: bool = False, skip_private: bool = False) -> tuple[Elements, int]:
    spans, position = _spans(data, position, end, layout, meta_only=meta_only, in_item=in_item,
                             skip_private=skip_private)
    elements: Elements = {}
    for span in spans:
        element = raw_element(data, span, layout)
        if element.tag in elements:
            # Which one is the attribute? Neither can be trusted, and an unchanged sequence goes back out byte for
            # byte, the one the walk never saw included.
            raise Withheld(f"duplicate-element ({span[0] >> 16:04X},{span[0] & 0xFFFF:04X})")
        elements[element.tag] = element
    return elements, position


def _spans(data: bytes, position: int, end: int, layout: Layout, *, meta_only: bool = False,
           in_item: bool = False, skip_private: bool = False, top: bool = False) -> tuple[list[Span], int]:
    # The hottest loop of the engine: everything it calls is bound to a local name.
    spans: list[Span] = []
    append = spans.append
    implicit = layout.implicit
    head = (layout.implicit_header if implicit else layout.short_header).unpack_from
    ulong = layout.ulong.unpack_from
    vr_names, long_codes = _VR_NAMES, _LONG_CODES
    vr: str | None = None
    code = b""
    # Skipped private elements yield nothing, so a run of them that equals, byte for byte, a run already parsed
    # in this layout ends where that one ended: the same bytes parse the same way. Top level only.
    memo = skip_private and top
    runs, run_start = layout.private_runs, -1
    while position < end:
        here = position
        if implicit:
            group, element, length = head(data, position)
            start = position + 8
        else:
            group, element, code, length = head(data, position)
            if group == 0xFFFE:
                length, start = ulong(data, position + 4)[0], position + 8
            elif code in long_codes:
                length, start = ulong(data, position + 8)[0], position + 12
            else:
                start = position + 8
        if meta_only and group != 2:
            break
        if group & 1:
            if memo and run_start < 0:
                known = runs.get(data[here : here + _RUN_KEY])
                if known is not None and here + len(known) <= end and data.startswith(known, here):
                    position = here + len(known)
                    continue
                run_start = here
            if skip_private and length != UNDEFINED:
                position = start + length  # a truncated private element ends the loop as past the end
                continue
        elif run_start >= 0:  # a run of private elements ends (at the top level: never an item's end)
            _remember_run(runs, data[run_start:here])
            run_start = -1
        elif group == 0xFFFE and in_item and element == 0xE00D:
            return spans, position + 8
        if not implicit:
            vr = None if group == 0xFFFE else vr_names.get(code) or code.decode("latin-1")
        if length == UNDEFINED:
            # The items of UN with undefined length are always implicit VR little endian.
            position = _skip_items(data, start, end, LAYOUTS[True] if vr == "UN" else layout)
            if skip_private and group & 1:
                continue
        else:
            position = start + length
            if position > end:
                raise Unreadable(f"truncated-element ({group:04X},{element:04X})")
        append((group << 16 | element, vr, length, here, start, position))
    if in_item:
        raise Unreadable("unterminated-item")
    if run_start >= 0 and position == end:
        _remember_run(runs, data[run_start:end])
    return spans, position


_RUN_KEY = 16  # tag, VR, length and the first value bytes: runs that start alike rarely differ only later
_RUNS_MAX = 256


def _remember_run(runs: dict[bytes, bytes], run: bytes) -> None:
    if len(run) > RUN_BYTES_MAX:
        return
    if len(runs) >= _RUNS_MAX:
        runs.clear()
    runs[run[:_RUN_KEY]] = run


def read_items(element: RawDataElement) -> list[Elements]:
    """The items of a raw sequence, each as raw elements (UN sequences are implicit VR little endian)."""
    try:
        return _items(element)
    except struct.error:
        raise Unreadable("truncated-item") from None


def _items(element: RawDataElement) -> list[Elements]:
    layout = LAYOUTS[True] if element.VR == "UN" else _layout_of(element)
    value, items, position = element.value or b"", [], 0
    while position + 8 <= len(value):
        group, number = layout.tag.unpack_from(value, position)
        length = layout.ulong.unpack_from(value, position + 4)[0]
        position += 8
        if group << 16 | number == SEQUENCE_END:
            break
        if group << 16 | number != ITEM:
            raise Unreadable("malformed-sequence")
        if length == UNDEFINED:
            elements, position = _elements(value, position, len(value), layout, in_item=True)
        elif position + length > len(value):
            raise Unreadable("truncated-item")
        else:
            elements, _ = _elements(value, position, position + length, layout)
            position += length
        items.append(elements)
    else:
        if position != len(value):
            raise Unreadable("malformed-sequence")  # bytes that are no item: written back as they came otherwise
    return items


def _layout_of(element: RawDataElement) -> Layout:
    if not element.is_little_endian:
        return BIG
    return LAYOUTS[bool(element.is_implicit_VR)]


def _skip_items(data: bytes, position: int, end: int, layout: Layout) -> int:
    """The position just after the sequence delimiter that ends an undefined-length value."""
    while position + 8 <= end:
        group, element = layout.tag.unpack_from(data, position)
        length = layout.ulong.unpack_from(data, position + 4)[0]
        position += 8
        if group << 16 | element == SEQUENCE_END:
            return position
        if group << 16 | element != ITEM:
            raise Unreadable("malformed-sequence")
        if length == UNDEFINED:
            _, position = _elements(data, position, end, layout, in_item=True)
        else:
            position += length
    raise Unreadable("unterminated-sequence")


def text_of(ds: Dataset, tag: int) -> list[str]:
    """The text values of `tag` in `ds`, none when it is absent."""
    element = ds._dict.get(TAGS.get(tag) or BaseTag(tag))
    return text_values(element, ds) if element is not None else []


def text_values(element: RawDataElement | DataElement, ds: Dataset) -> list[str]:
    """The text values of an element without converting it (decoded with the character set if needed)."""
    if isinstance(element, DataElement):
        value = element.value
        if value is None or value == "":
            return []
        return [str(item) for item in value] if element.VM > 1 else [str(value)]
    raw = element.value or b""
    # Only text VRs depend on the character set, and only for bytes that are not plain ASCII.
    if element.VR in ASCII_VRS or plain_ascii(raw):
        return split_values(raw.decode("latin-1"))
    return split_values(decode_bytes(raw, character_set(ds), {0x5C}))


def character_set(ds: Dataset) -> str | list[str]:
    """What the text of `ds` is read with, as pydicom's `Dataset._character_set`, without converting (0008,0005):
    pydicom's reading replaces the raw element with a converted one, which would then go out unchecked."""
    element = ds._dict.get(_CHARSET)
    values = text_values(element, ds) if element is not None else []
    if not any(values):
        return ds._parent_encoding
    return convert_encodings(values[0] if len(values) == 1 else values)


def plain_ascii(raw: bytes) -> bool:
    """Bytes that read the same in every character set: ASCII without ISO 2022 escapes (which are 7-bit)."""
    return raw.isascii() and b"\x1b" not in raw


def split_values(text: str) -> list[str]:
    """An element's decoded text as its values, padding stripped."""
    text = text.rstrip("\0 ").lstrip(" ")
    return [part.strip(" \0") for part in text.split("\\")] if text else []


# -- new values -------------------------------------------------------------------------------------------
def text_value(values: list[str], vr: str) -> bytes:
    """Values the engine wrote (always ASCII) as element bytes, padded to an even length."""
    try:
        value = "\\".join(values).encode("ascii")
    except UnicodeEncodeError:
        raise Withheld("non-ascii-new-value") from None
    if len(value) % 2:
        value += b"\0" if vr == "UI" else b" "
    return value


def number_value(vr: str, number: int | None, layout: Layout) -> bytes:
    if number is None:
        return b""
    code = _NUMBER_FORMATS[vr]
    return struct.pack(layout.order + code, *([number] * len(code)))
