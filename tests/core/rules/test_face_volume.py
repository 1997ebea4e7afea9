"""Head volumes a face could be rendered from: the pure decision, from series facts and the profile's rule."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.core.rules.face_volume import (
    FaceVolumeRule,
    SeriesFacts,
    judge_series,
    region_codes,
    series_facts,
    wants_regions,
)
from gateway.core.rules.profile import Profile, compile_profile
from gateway.errors import ConfigError

RULE = FaceVolumeRule()


def _obj(**values: Any) -> dict[str, Any]:
    """A DICOM JSON instance from keyword=value (lists are multi-valued)."""
    tags = {"Modality": ("00080060", "CS"), "BodyPartExamined": ("00180015", "CS"),
            "SliceThickness": ("00180050", "DS"), "StudyDescription": ("00081030", "LO"),
            "SeriesDescription": ("0008103E", "LO"), "ImageType": ("00080008", "CS"),
            "DeidentificationMethod": ("00120063", "LO"), "NumberOfFrames": ("00280008", "IS")}  # fmt: skip
    obj: dict[str, Any] = {}
    for keyword, value in values.items():
        tag, vr = tags[keyword]
        obj[tag] = {"vr": vr, "Value": value if isinstance(value, list) else [value]}
    return obj


def _series(n: int = 24, **values: Any) -> SeriesFacts:
    return series_facts([_obj(**{"Modality": "CT", "SliceThickness": 1.25, **values}) for _ in range(n)])


def _reason(facts: SeriesFacts, rule: FaceVolumeRule = RULE) -> str | None:
    verdict = judge_series(rule, facts)
    return None if verdict.withheld is None else verdict.withheld.reason


@pytest.mark.parametrize("body_part", ["HEAD", "BRAIN", "SKULL", "head ", "HEADNECK"])
def test_a_thin_head_ct_is_withheld_by_body_part(body_part: str) -> None:
    assert _reason(_series(BodyPartExamined=body_part)) == "face-volume (0018,0015)"


@pytest.mark.parametrize(
    ("field", "text", "tag"),
    [
        ("StudyDescription", "CT HEAD w/o contrast", "(0008,1030)"),
        ("SeriesDescription", "T1_MPRAGE_brain", "(0008,103E)"),
        ("SeriesDescription", "Neuroradiology 3D", "(0008,103E)"),
        ("StudyDescription", "頭部CT 単純", "(0008,1030)"),
        ("SeriesDescription", "脳 MRI", "(0008,103E)"),
        ("SeriesDescription", "Skull base", "(0008,103E)"),
    ],
)
def test_descriptions_name_a_head(field: str, text: str, tag: str) -> None:
    assert _reason(_series(**{field: text})) == f"face-volume {tag}"


@pytest.mark.parametrize("text", ["Axial 5mm", "CT CHEST follow-up", "Forehead lesion", "Abdomen", "T1 sag rodilla"])
def test_other_descriptions_do_not(text: str) -> None:
    assert _reason(_series(SeriesDescription=text, StudyDescription=text, BodyPartExamined="CHEST")) is None


def test_a_chest_ct_is_kept() -> None:
    assert _reason(_series(40, BodyPartExamined="CHEST", SeriesDescription="Axial 1mm")) is None


def test_anatomic_region_codes_name_a_head() -> None:
    facts = _series(BodyPartExamined="CHEST")
    assert wants_regions(RULE, facts)  # nothing else says head: the answer turns on the codes
    head = {"00082218": {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["69536005"]},
                                                "00080104": {"vr": "LO", "Value": ["Head"]}}]}}  # fmt: skip
    assert _reason(facts.with_regions(region_codes(head))) == "face-volume (0008,2218)"
    by_meaning = [("X-1", "Brain structure")]
    assert _reason(facts.with_regions(tuple(by_meaning))) == "face-volume (0008,2218)"
    nested = {"52009229": {"vr": "SQ", "Value": [{"00209071": {"vr": "SQ", "Value": [head]}}]}}
    assert region_codes(nested) == (("69536005", "Head"),)
    assert _reason(facts.with_regions((("51185008", "Thorax"),))) is None
    assert not wants_regions(RULE, _series(BodyPartExamined="HEAD"))  # already a head: no need to read more


def test_a_five_slice_head_is_kept() -> None:
    assert _reason(_series(5, BodyPartExamined="HEAD")) is None
    assert not wants_regions(RULE, _series(5))


def test_thick_slices_do_not_count() -> None:
    assert _reason(_series(30, BodyPartExamined="HEAD", SliceThickness=7.5)) is None
    assert _reason(_series(30, BodyPartExamined="HEAD", SliceThickness=5)) is not None  # at most 5 mm is thin
    mixed = series_facts([_obj(Modality="CT", BodyPartExamined="HEAD", SliceThickness=t) for t in [1] * 19 + [8] * 9])
    assert _reason(mixed) is None  # 19 thin slices: fewer than 20


def test_thresholds_come_from_the_rule() -> None:
    strict = FaceVolumeRule(min_slices=4, max_slice_mm=10)
    assert _reason(_series(5, BodyPartExamined="HEAD", SliceThickness=7.5), strict) is not None
    assert _reason(_series(3, BodyPartExamined="HEAD"), strict) is None


def test_unknown_thickness_and_frames_count_as_thin() -> None:
    enhanced = series_facts([_obj(Modality="MR", BodyPartExamined="BRAIN", NumberOfFrames=176)])
    assert _reason(enhanced) == "face-volume (0018,0015)"
    no_thickness = series_facts([_obj(Modality="CT", BodyPartExamined="HEAD") for _ in range(20)])
    assert _reason(no_thickness) is not None
    garbled = _series(20, BodyPartExamined="HEAD", SliceThickness="five")
    assert _reason(garbled) is not None


def test_other_modalities_are_kept() -> None:
    assert _reason(series_facts([_obj(Modality="CR", BodyPartExamined="SKULL") for _ in range(30)])) is None
    no_modality = series_facts([_obj(BodyPartExamined="HEAD", SliceThickness=1) for _ in range(30)])
    assert _reason(no_modality) is not None  # a modality not given is not taken for another one


@pytest.mark.parametrize(
    "marker",
    [{"SeriesDescription": "T1 3D DEFACED"}, {"ImageType": ["DERIVED", "SECONDARY", "DEFACED"]},
     {"DeidentificationMethod": "mri_deface: defaced 2024"}],
)  # fmt: skip
def test_a_series_marked_defaced_is_kept(marker: dict[str, Any]) -> None:
    assert _reason(_series(BodyPartExamined="HEAD", **marker)) is None


def test_every_instance_must_be_marked() -> None:
    marked = [_obj(Modality="CT", BodyPartExamined="HEAD", DeidentificationMethod="DEFACED") for _ in range(23)]
    facts = series_facts([*marked, _obj(Modality="CT", BodyPartExamined="HEAD")])
    assert _reason(facts) == "face-volume (0018,0015)"


def test_markers_are_words_or_patterns_of_the_profile() -> None:
    rule = FaceVolumeRule(defaced_markers=("face removed", "/^FS_.*ANON$/"))
    assert _reason(_series(BodyPartExamined="HEAD", SeriesDescription="t1 Face Removed"), rule) is None
    assert _reason(_series(BodyPartExamined="HEAD", SeriesDescription="FS_T1_ANON"), rule) is None
    assert _reason(_series(BodyPartExamined="HEAD", SeriesDescription="DEFACED"), rule) is not None  # not its list
    assert _reason(_series(BodyPartExamined="HEAD", SeriesDescription="UNDEFACED"), RULE) is not None  # a word


def test_an_empty_series_cannot_be_judged() -> None:
    assert _reason(series_facts([])) == "series-unjudged (0020,000E)"


def test_reasons_hold_no_value() -> None:
    reason = _reason(_series(StudyDescription="CT HEAD Whitaker"))
    assert reason is not None and "Whitaker" not in reason and "HEAD" not in reason


# -- the profile option ----------------------------------------------------------------------------------------
BASE: dict[str, Any] = {"permissions": ["search"], "scope": {"reversible": False}}


def _compiled(withhold: dict[str, Any]) -> Profile:
    return compile_profile("test", {**BASE, "withhold": withhold}, source="test.yaml")


def test_off_by_default_and_on_for_external(profiles: dict[str, Profile]) -> None:
    assert _compiled({}).withhold.face_volumes is None
    assert profiles["researcher"].withhold.face_volumes is None
    assert profiles["external"].withhold.face_volumes == FaceVolumeRule(20, 5.0, ("DEFACED",))


def test_thresholds_are_configured_and_checked() -> None:
    options = {"min_slices": 40, "max_slice_mm": 2.5, "defaced_markers": ["mri_deface"]}
    rule = _compiled({"face_volumes": True, "face_volume": options}).withhold.face_volumes
    assert rule == FaceVolumeRule(40, 2.5, ("mri_deface",))
    with pytest.raises(ConfigError) as error:
        _compiled({"face_volumes": True, "face_volume": {"min_slices": 0}})
    assert error.value.key == "withhold.face_volume.min_slices"
    with pytest.raises(ConfigError) as error:
        _compiled({"face_volume": {"defaced_markers": ["/(/"]}})
    assert error.value.key.startswith("withhold.face_volume.defaced_markers")


def test_the_option_changes_the_profile_version() -> None:
    assert _compiled({}).version != _compiled({"face_volumes": True}).version
