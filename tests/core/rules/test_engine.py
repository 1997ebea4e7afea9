"""Withholding, pixel masks, private blocks, graphics, JSON bulk data, and failing closed."""

from __future__ import annotations

import gc
import io
import logging
import sys
import types
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.uid import MPEG2MPML

from gateway.core.pseudonyms.model import Mappings
from gateway.core.rules import engine as engine_module
from gateway.core.rules.encapsulated import ANY
from gateway.core.rules.engine import Engine
from gateway.core.rules.pixels import PixelPlan, Region
from gateway.core.rules.profile import compile_profile
from gateway.errors import Withheld

from .conftest import mappings_for
from .factories import UID_ROOT, ct_instance, deidentify, split_pixels

BASE: dict[str, Any] = {"permissions": ["search"], "scope": {"reversible": False}}
US_RULE = {"match": {"Manufacturer": "ACME", "Rows": 4, "Columns": 4}, "regions": [[0, 0, 4, 1]]}


def engine_for(**extra: Any) -> Engine:
    return Engine(compile_profile("test", {**BASE, **extra}, source="test.yaml"))


def withheld_reason(engine: Engine, data: bytes) -> str:
    with pytest.raises(Withheld) as caught:
        deidentify(engine, data)
    return caught.value.reason


@pytest.mark.parametrize(
    ("attributes", "reason"),
    [
        ({"Modality": "OP"}, "modality-withheld (0008,0060)"),
        ({"Modality": "XC"}, "modality-withheld (0008,0060)"),
        ({"Modality": "US"}, "burned-in-text-risk (0008,0060)"),
        ({"Modality": "SC"}, "burned-in-text-risk (0008,0060)"),
        ({"BurnedInAnnotation": "YES"}, "burned-in-annotation (0028,0301)"),
    ],
)
def test_external_withholds(engines: dict[str, Engine], attributes: dict[str, str], reason: str) -> None:
    assert withheld_reason(engines["external"], ct_instance(**attributes)) == reason
    obj = pydicom.dcmread(io.BytesIO(ct_instance(**attributes))).to_json_dict()
    with pytest.raises(Withheld, match="withheld"):
        engines["external"].needs_json(obj)
    if "BurnedInAnnotation" not in attributes:
        deidentify(engines["researcher"], ct_instance(**attributes))  # the researcher sees these


def test_burned_in_annotation_is_withheld_by_default(engines: dict[str, Engine]) -> None:
    # No role has Clean Pixel Data without a pixel rule, and the Basic Profile leaves no burned-in text.
    assert withheld_reason(engines["researcher"], ct_instance(BurnedInAnnotation="YES")) == (
        "burned-in-annotation (0028,0301)"
    )


def test_pixel_rule_cleans_burned_in_text() -> None:
    engine = engine_for(withhold={"burned_in_risk_modalities": ["US"]}, pixel_rules=[US_RULE])
    source = ct_instance(Modality="US", Manufacturer="ACME", BurnedInAnnotation="YES")
    header, _ = split_pixels(source)
    ds = engine.read_header(header)
    plan = engine.apply(ds, mappings_for(engine.profile, engine.needs(ds)))
    assert plan == PixelPlan((Region(0, 0, 4, 1),))
    original = pydicom.dcmread(io.BytesIO(source)).PixelData
    masked = engine.mask_pixels(ds, original, plan)
    pixels = np.frombuffer(masked, dtype=np.uint16).reshape(4, 4)
    assert not pixels[0].any()  # pixels hidden
    assert masked[8:] == original[8:]  # pixels retained
    assert ds.BurnedInAnnotation == "NO"
    assert "113101" in [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]


def test_pixel_rule_does_not_match_other_devices() -> None:
    engine = engine_for(withhold={"burned_in_risk_modalities": ["US"]}, pixel_rules=[US_RULE])
    assert withheld_reason(engine, ct_instance(Modality="US", Manufacturer="OTHER")) == (
        "burned-in-text-risk (0008,0060)"
    )


def test_masks_every_frame_and_sample() -> None:
    engine = engine_for(pixel_rules=[{"match": {"Rows": 2}, "regions": [[1, 0, 1, 1]]}])
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.BitsAllocated, ds.NumberOfFrames = 2, 2, 3, 8, 2
    ds.PlanarConfiguration = 0
    masked = engine.mask_pixels(ds, bytes([9]) * 24 + b"\0")
    frames = np.frombuffer(masked[:24], dtype=np.uint8).reshape(2, 2, 2, 3)
    assert not frames[:, 0, 1, :].any() and frames[:, 0, 0, :].all() and frames[:, 1, :, :].all()
    assert masked[24:] == b"\0"


def test_encapsulated_pixels_no_codec_can_mask_are_withheld() -> None:
    """Masks on compressed pixels are decoded and encoded again (tests/core/test_compressed_masks.py); a syntax
    with no encoder and no native answer (MPEG-2 here) is withheld, naming the transfer syntax."""
    engine = engine_for(pixel_rules=[{"match": {"Rows": 4}, "regions": [[0, 0, 1, 1]]}])
    ds = pydicom.dcmread(io.BytesIO(ct_instance()))
    ds.file_meta.TransferSyntaxUID = MPEG2MPML
    plan = engine.apply(ds, mappings_for(engine.profile, engine.needs(ds)))
    with pytest.raises(Withheld, match=r"mask-unsupported-transfer-syntax \(0002,0010\)"):
        engine.mask_encapsulated(ds, b"", plan, ANY)


def test_unresolved_value_fails_closed(engines: dict[str, Engine], caplog: pytest.LogCaptureFixture) -> None:
    # A fresh engine: one that already rewrote these values remembers their bytes of record (values of record
    # never change), so only a value never resolved anywhere can be missing.
    engine = Engine(engines["researcher"].profile)
    ds = engine.read_header(split_pixels(ct_instance())[0])
    needs = engine.needs(ds)
    full = mappings_for(engine.profile, needs)
    partial = Mappings({kind: dict(values) for kind, values in full.values.items()})
    del partial.values[next(iter(partial.values))]  # type: ignore[attr-defined]
    with caplog.at_level(logging.INFO, logger="gateway.rules"), pytest.raises(Withheld, match="mapping-missing"):
        engine.apply(ds, partial)
    assert "PAT-1" not in caplog.text and UID_ROOT not in caplog.text


def test_unreadable_header_is_withheld(engines: dict[str, Engine]) -> None:
    with pytest.raises(Withheld, match="unreadable-header"):
        engines["researcher"].read_header(b"not dicom at all")


def test_safe_private_kept_only_with_the_option() -> None:
    ds = pydicom.dcmread(io.BytesIO(ct_instance()))
    ds.private_block(0x0019, "GEMS_ACQU_01", create=True).add_new(0x23, "DS", "1.5")
    ds.private_block(0x0019, "GEMS_ACQU_01", create=False).add_new(0x99, "LO", "Hans Müller")
    ds.private_block(0x0009, "ACME 1.0", create=True).add_new(0x10, "LO", "Hans Müller")
    source = io.BytesIO()
    ds.save_as(source, enforce_file_format=True)
    kept = pydicom.dcmread(io.BytesIO(deidentify(engine_for(options=["retain-safe-private"]), source.getvalue())[1]))
    assert kept[0x00190010].value == "GEMS_ACQU_01" and kept[0x00191023].value == 1.5
    assert 0x00191099 not in kept and 0x00090010 not in kept and 0x00091010 not in kept
    dropped = pydicom.dcmread(io.BytesIO(deidentify(engine_for(), source.getvalue())[1]))
    assert not [element for element in dropped if element.tag.is_private]


def test_overlays_and_curves(engines: dict[str, Engine]) -> None:
    overlay = [
        (0x0010, "US", 4),
        (0x0011, "US", 4),
        (0x0040, "CS", "G"),
        (0x0050, "SS", [1, 1]),
        (0x0100, "US", 1),
        (0x0102, "US", 0),
        (0x3000, "OW", b"\xff\x00"),
    ]
    ds = pydicom.dcmread(io.BytesIO(ct_instance()))
    for element, vr, value in overlay:
        ds.add_new(0x60000000 | element, vr, value)
    ds.add_new(0x50000005, "US", 2)  # CurveDimensions
    source = io.BytesIO()
    ds.save_as(source, enforce_file_format=True)
    researcher = pydicom.dcmread(io.BytesIO(deidentify(engines["researcher"], source.getvalue())[1]))
    assert not [element for element in researcher if element.tag.group in (0x5000, 0x6000)]
    # Clean Graphics asks for the overlay to be cleaned; the engine cannot read a bitmap, so it goes (issue 11).
    external = pydicom.dcmread(io.BytesIO(deidentify(engines["external"], source.getvalue())[1]))
    assert not [element for element in external if element.tag.group in (0x5000, 0x6000)]


def test_json_bulk_data(engines: dict[str, Engine]) -> None:
    engine = engines["external"]
    obj = pydicom.dcmread(io.BytesIO(ct_instance())).to_json_dict()
    obj["7FE00010"] = {"vr": "OW", "BulkDataURI": "http://upstream/studies/1/bulk/pixel"}
    obj["60003000"] = {"vr": "OW", "BulkDataURI": "http://upstream/overlay"}
    researcher = engines["researcher"]
    mappings = mappings_for(researcher.profile, researcher.needs_json(obj))
    out = researcher.apply_json(obj, mappings)
    assert out["7FE00010"] == {"vr": "OW", "BulkDataURI": "http://upstream/studies/1/bulk/pixel"}
    assert "60003000" not in out
    cleaned = engine.apply_json(obj, mappings_for(engine.profile, engine.needs_json(obj)))
    assert "60003000" not in cleaned and cleaned["7FE00010"]["BulkDataURI"] == "http://upstream/studies/1/bulk/pixel"
    obj["00420011"] = {"vr": "OB", "InlineBinary": "AAAA"}  # EncapsulatedDocument: D on bulk data
    with pytest.raises(Withheld, match=r"no-dummy-for-OB \(0042,0011\)"):
        researcher.apply_json(obj, mappings)


def test_clinician_json_is_unchanged(engines: dict[str, Engine]) -> None:
    obj = pydicom.dcmread(io.BytesIO(ct_instance())).to_json_dict()
    assert engines["clinician"].apply_json(obj, Mappings({})) == obj


def test_json_numbers_are_judged_by_type_across_objects(engines: dict[str, Engine]) -> None:
    """An IS value must be an integer: 1.0 after an object that held 1 is still removed (a memo keyed by
    value alone would take 1.0 for 1, since they are equal and hash alike)."""
    researcher = engines["researcher"]
    base = pydicom.dcmread(io.BytesIO(ct_instance())).to_json_dict()
    first, second = dict(base), dict(base)
    first["00200013"] = {"vr": "IS", "Value": [1]}  # InstanceNumber, kept
    second["00200013"] = {"vr": "IS", "Value": [1.0]}
    for obj, kept in ((first, True), (second, False), (first, True)):
        out = researcher.apply_json(obj, mappings_for(researcher.profile, researcher.needs_json(obj)))
        assert ("00200013" in out) is kept


def test_a_character_set_not_sent_as_cs_withholds(engines: dict[str, Engine]) -> None:
    """Every text of the instance is read by (0008,0005); sent as another VR it is no character set (it was kept,
    as DS, because reading it through pydicom converted it, and a converted element was never checked)."""
    data = ct_instance(SpecificCharacterSet="ISO_IR 100", StudyDescription="Thorax")
    assert b"\x08\x00\x05\x00CS" in data
    retagged = data.replace(b"\x08\x00\x05\x00CS", b"\x08\x00\x05\x00DS", 1)
    for role in ("researcher", "external", "ai-service"):
        assert withheld_reason(engines[role], retagged) == "non-conforming-character-set (0008,0005)"


def test_what_the_engine_remembers_is_bounded_across_patients(
    engines: dict[str, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long-lived gateway serves many patients, and each object adds values seen once (its UIDs, its number,
    its position) to what the engine remembers of outgoing attributes. That memory is bounded for the process,
    not per patient: bounded per patient (8,192 values for each of 256) it could reach gigabytes. The bound is
    made small here, so that a short run shows whether what the engine holds levels off under it, once the
    scrubber's own bounded memory of studies (256) is full."""
    monkeypatch.setattr(engine_module, "_MEMO_MAX", 512)
    engine = Engine(engines["researcher"].profile)
    base = pydicom.dcmread(io.BytesIO(ct_instance())).to_json_dict()
    held = []
    for patient in range(384):
        for number in range(6):
            obj = {
                **base,
                "00100020": {"vr": "LO", "Value": [f"PAT-{patient}"]},
                "00080018": {"vr": "UI", "Value": [f"{UID_ROOT}.{patient}.{number}"]},
                "00200013": {"vr": "IS", "Value": [number]},
                "00201041": {"vr": "DS", "Value": [patient + number / 8]},
                "00200032": {"vr": "DS", "Value": [0.5, 1.5, patient * 100 + number]},
            }
            engine.apply_json(obj, mappings_for(engine.profile, engine.needs_json(obj)))
        if patient in (319, 383):
            held.append(_reachable_bytes(engine))
    assert held[1] < held[0] + 0.5e6, [f"{size / 1e6:.1f} MB" for size in held]


def _reachable_bytes(root: object) -> int:
    """The size of every object `root` holds, directly or not: data only, not code, classes or modules (whose
    globals reach everything)."""
    seen, stack, total = {id(root)}, [root], 0
    while stack:
        obj = stack.pop()
        total += sys.getsizeof(obj)
        for child in gc.get_referents(obj):
            if id(child) not in seen and not isinstance(child, _NOT_DATA):
                seen.add(id(child))
                stack.append(child)
    return total


_NOT_DATA = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
