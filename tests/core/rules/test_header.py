"""The raw-element header codec: exact round trips in every native transfer syntax."""

from __future__ import annotations

import io
import pathlib
from collections.abc import Callable

import pydicom
import pytest
from pydicom.data import get_testdata_file

from gateway.core.rules import header, writer
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import compile_profile
from gateway.errors import Withheld

from .conftest import mappings_for
from .factories import JAPANESE_NAME, part10, planted_dataset


def cut(name: str) -> bytes:
    data = pathlib.Path(get_testdata_file(name)).read_bytes()  # type: ignore[arg-type]
    stream = io.BytesIO(data)
    pydicom.dcmread(stream, stop_before_pixels=True)
    return data[: stream.tell()]


@pytest.mark.parametrize(
    "name",
    ["CT_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm", "rtplan.dcm", "image_dfl.dcm"],
)
def test_identity_round_trip_is_exact(engines: dict[str, Engine], name: str) -> None:
    engine = engines["clinician"]
    if name == "image_dfl.dcm":
        with pytest.raises(Withheld, match="deflated"):
            engine.read_header(cut(name))
        return
    source = cut(name)
    assert engine.write_header(engine.read_header(source)) == source


def test_undefined_length_sequences_round_trip() -> None:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    item = pydicom.Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "1", "99X", "meaning"
    inner = pydicom.Dataset()
    inner.ConceptNameCodeSequence = [item]
    ds.ContentSequence = [inner, inner]
    ds["ContentSequence"].is_undefined_length = True
    ds.ContentSequence[0]["ConceptNameCodeSequence"].is_undefined_length = True
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    data = out.getvalue()
    parsed = header.read(data)
    assert parsed.ContentSequence[1].ConceptNameCodeSequence[0].CodeMeaning == "meaning"
    layout = header.layout_for(str(parsed.file_meta.TransferSyntaxUID))
    meta = [element for tag, element in sorted(parsed.file_meta._dict.items()) if tag & 0xFFFF]
    assert writer.write(header.read(data), meta, layout) == data


def test_text_is_decoded_with_the_character_set() -> None:
    profile = compile_profile("t", {"permissions": ["search"], "scope": {"reversible": False}}, source="t.yaml")
    ds = header.read(part10(planted_dataset(profile, "\\ISO 2022 IR 87")))
    assert header.text_of(ds, 0x00100010) == [JAPANESE_NAME]
    assert header.text_of(ds, 0x00100020) == ["PLNTPATIENT01"]


@pytest.mark.parametrize("data", [b"", b"\0" * 132, b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00UI\xff\x00"])
def test_broken_headers_are_withheld(engines: dict[str, Engine], data: bytes) -> None:
    with pytest.raises(Withheld):
        engines["researcher"].read_header(data)


def test_damaged_headers_are_withheld_or_processed(engines: dict[str, Engine]) -> None:
    """Cut or corrupt anywhere: the engine de-identifies or withholds, and never raises anything else."""
    engine = engines["researcher"]
    source = cut("CT_small.dcm")
    damaged = [source[:end] for end in range(132, len(source), 97)]
    damaged += [source[:at] + b"\xff\xff\xff\xff" + source[at + 4 :] for at in range(132, len(source), 89)]
    for data in damaged:
        try:
            ds = engine.read_header(data)
            needs = engine.needs(ds)
            engine.apply(ds, mappings_for(engine.profile, needs))
            engine.write_header(ds)
        except Withheld as error:
            assert error.reason


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
def test_attribute_tags_inside_rewritten_sequences_are_written(engines: dict[str, Engine], role: str) -> None:
    """SEG carries AT values in DimensionIndexSequence next to a UID; replacing the UID re-encodes the item."""
    engine = engines[role]
    ds = planted_dataset(engine.profile)
    item = pydicom.Dataset()
    item.DimensionOrganizationUID = "1.2.392.200036.9999.77"
    item.DimensionIndexPointer = 0x0062000B
    item.FunctionalGroupPointer = 0x0062000A
    ds.DimensionIndexSequence = [item]
    parsed = engine.read_header(part10(ds))
    engine.apply(parsed, mappings_for(engine.profile, engine.needs(parsed)))
    written = pydicom.dcmread(io.BytesIO(engine.write_header(parsed)), force=True)
    kept = written.DimensionIndexSequence[0]
    assert kept.DimensionIndexPointer == 0x0062000B and kept.FunctionalGroupPointer == 0x0062000A
    assert kept.DimensionOrganizationUID != item.DimensionOrganizationUID


def _private_variants() -> list[bytes]:
    """Headers of one layout whose private runs repeat, differ after their first bytes, change length, swallow
    the public element after them, or end the header."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    del ds[0x7FE00010:]
    variants = [part10(ds)]
    ds[0x00091001].value = ds[0x00091001].value[:-1] + "X"  # same first bytes, other content
    variants.append(part10(ds))
    ds[0x00091001].value = "a longer value than before"
    variants.append(part10(ds))
    ds.add_new(0x7FD10010, "LO", "VENDOR")
    ds.add_new(0x7FD11001, "LO", "at the end of the header")
    variants.append(part10(ds))
    data = part10(ds)
    swallowed = _with_length(data, b"\x09\x00\x01\x10", 16)
    return [*variants, swallowed, variants[0]]


def _with_length(data: bytes, element: bytes, more: int) -> bytes:
    """`data` with the 2-byte length of the first explicit VR little endian element `element` grown by `more`."""
    at = data.index(element) + 6
    length = int.from_bytes(data[at : at + 2], "little")
    return data[:at] + (length + more).to_bytes(2, "little") + data[at + 2 :]


def _layout_variants() -> list[bytes]:
    """Headers sharing their value lengths with a first one, each differing from it where a layout is read: an
    element's tag, VR or length, a skipped private element's bytes, a sequence of undefined length inside; and
    one whose file meta is longer, so that its data set starts elsewhere."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    del ds[0x7FE00010:]
    item = pydicom.Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = "1", "99X", "meaning"
    ds.AnatomicRegionSequence = [item]
    ds["AnatomicRegionSequence"].is_undefined_length = True
    first = part10(ds)
    values = [ds.PatientName, ds[0x00091001].value, ds.AnatomicRegionSequence[0].CodeValue]
    ds.PatientName = "X" * len(str(values[0]))  # a value of the same length: the layout holds
    same_lengths = part10(ds)
    ds.PatientName = values[0]
    ds[0x00091001].value = "Y" * len(values[1])
    private_bytes = part10(ds)
    ds[0x00091001].value = values[1]
    ds.AnatomicRegionSequence[0].CodeValue = "2"
    in_sequence = part10(ds)
    ds.AnatomicRegionSequence[0].CodeValue = values[2]
    name_at = first.index(b"\x10\x00\x10\x00PN")
    other_tag = first[:name_at] + b"\x10\x00\x11\x00" + first[name_at + 4 :]
    other_vr = first[:name_at + 4] + b"LO" + first[name_at + 6 :]
    other_length = _with_length(first, b"\x10\x00\x10\x00PN", 2)
    ds.file_meta.ImplementationVersionName = "LONGER_NAME"
    shifted = part10(ds)
    return [first, first, same_lengths, private_bytes, in_sequence, other_tag, other_vr, other_length, shifted,
            shifted, first]  # fmt: skip


@pytest.mark.parametrize("variants", [_private_variants, _layout_variants])
def test_remembered_runs_and_layouts_parse_as_a_fresh_reading(variants: Callable[[], list[bytes]]) -> None:
    """What a layout remembers (private runs in `header._spans`, element layouts in `header.top_level`) changes
    nothing about where elements are found, what their bytes are, or whether a header reads at all."""
    layout = header.LAYOUTS[False]
    layout.private_runs.clear()
    layout.recent_layouts.clear()
    layout.layout_sightings.clear()
    for data in variants() * 2:
        _, position, layout = header.read_meta(data)
        try:
            fresh = header._spans(data, position, len(data), layout, skip_private=True)[0]
        except header.Unreadable:
            with pytest.raises(header.Unreadable):
                header.top_level(data, position, layout)
            continue
        top = header.top_level(data, position, layout)
        assert top.spans == fresh
        assert (list(top.tags), list(top.datas)) == ([span[0] for span in fresh], [data[s[3] : s[5]] for s in fresh])
    assert layout.private_runs and layout.recent_layouts, "nothing was remembered: the memos went untested"


def _meta_variants() -> list[bytes]:
    """Headers whose file meta groups differ from a first one's in its instance UID (same length, then longer),
    in an element before it or after it, in where the data set starts, or by a data set that starts with one
    more group 2 element or is too short to say; and the first again."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    del ds[0x7FE00010:]
    first = part10(ds)
    sop = ds.SOPInstanceUID  # the file meta's copy is written from it
    ds.SOPInstanceUID = sop[:-1] + ("1" if sop[-1] != "1" else "2")
    same_length = part10(ds)
    ds.SOPInstanceUID = sop + ".12"
    longer = part10(ds)
    ds.SOPInstanceUID = sop
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"  # MR Image Storage: as long as CT's, and before the instance UID
    other_class = part10(ds)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.SourceApplicationEntityTitle = "X" * len(ds.file_meta.SourceApplicationEntityTitle)
    other_element = part10(ds)
    meta_end = 144 + int.from_bytes(first[140:144], "little")
    group_2_next = first[:meta_end] + b"\x02\x00\x16\x00AE\x02\x00AE" + first[meta_end:]
    cut_short = first[: meta_end + 6]
    renamed = first[:meta_end] + first[meta_end:].replace(b"\x08\x00\x05\x00", b"\x08\x00\x06\x00", 1)
    assert len({first[:meta_end], same_length[:meta_end], other_class[:meta_end], other_element[:meta_end]}) == 4
    return [first, same_length, longer, other_class, other_element, group_2_next, cut_short, renamed, first, longer]


def test_remembered_file_meta_reads_as_a_fresh_reading() -> None:
    """A file meta group read before (`header.KnownMeta`) gives what a fresh reading gives, instance UID
    included, and a header the fresh reading refuses is refused."""
    header._KNOWN_METAS.clear()
    for data in _meta_variants() * 2:
        try:
            fresh = header._elements(data, 132, len(data), header.META, meta_only=True)
        except Exception as error:  # whatever the fresh reading raises, the memo must raise too
            with pytest.raises(type(error)):
                header.read_meta(data)
            continue
        meta, position, _ = header.read_meta(data)
        assert (meta, position) == fresh
    assert header._KNOWN_METAS, "nothing was remembered: the memo went untested"


def test_a_layout_of_too_many_elements_is_never_remembered() -> None:
    """Its pattern would take long to compile (a group per element), and a hostile origin picks the headers:
    a data set of more top-level elements than the bound is read every time, whatever its size in bytes."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    del ds[0x7FE00010:]
    for element in range(1, header.LAYOUT_ELEMENTS_MAX + 1):  # short elements of a public group
        ds.add_new(0x60F00000 | element, "US", 1)
    data = part10(ds)
    layout = header.LAYOUTS[False]
    layout.recent_layouts.clear()
    layout.layout_sightings.clear()
    _, position, layout = header.read_meta(data)
    assert len(data) - position <= header.LAYOUT_BYTES_MAX  # the bytes' bound alone would let it in
    for _ in range(3):
        top = header.top_level(data, position, layout)
    assert len(top.tags) > header.LAYOUT_ELEMENTS_MAX
    assert not layout.recent_layouts


def test_the_memos_hold_no_large_headers() -> None:
    """A private run or a data set past its bound is read every time, never kept: headers may be 64 MB."""
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    del ds[0x7FE00010:]
    ds.add_new(0x00091002, "UT", "x" * (header.RUN_BYTES_MAX + header.LAYOUT_BYTES_MAX))
    data = part10(ds)
    layout = header.LAYOUTS[False]
    layout.private_runs.clear()
    layout.recent_layouts.clear()
    layout.layout_sightings.clear()
    _, position, layout = header.read_meta(data)
    for _ in range(3):
        header.top_level(data, position, layout)
    assert not layout.recent_layouts
    assert all(len(run) <= header.RUN_BYTES_MAX for run in layout.private_runs.values())
    assert header._spans(data, position, len(data), layout, skip_private=True)[0] == header.top_level(
        data, position, layout).spans
