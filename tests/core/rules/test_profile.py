"""Role profiles: the shipped roles, precedence, and errors that name the file, the key and the reason."""

from __future__ import annotations

import pathlib
from typing import Any

import pytest

from gateway.core.rules.actions import Action, Option
from gateway.core.rules.profile import DateMode, Profile, compile_profile, load_profiles
from gateway.errors import ConfigError

BASE: dict[str, Any] = {"permissions": ["search"], "scope": {"reversible": False}}


def compiled(**extra: Any) -> Profile:
    return compile_profile("test", {**BASE, **extra}, source="test.yaml")


def test_shipped_roles(profiles: dict[str, Profile]) -> None:
    assert set(profiles) == {"clinician", "researcher", "external", "ai-service"}
    clinician = profiles["clinician"]
    assert clinician.identity and clinician.scope is None
    assert clinician.permissions == {"search", "retrieve", "store"}
    assert clinician.action_for(0x00100010) is Action.KEEP

    researcher = profiles["researcher"]
    assert researcher.permissions == {"search", "retrieve"}
    assert researcher.scope is not None and researcher.scope.reversible
    assert researcher.date_mode is DateMode.SHIFT
    assert researcher.options == {
        Option.RETAIN_LONGITUDINAL_MODIFIED_DATES,
        Option.RETAIN_PATIENT_CHARACTERISTICS,
        Option.CLEAN_DESCRIPTORS,
        Option.CLEAN_STRUCTURED_CONTENT,
    }

    external = profiles["external"]
    assert external.scope is not None and not external.scope.reversible
    assert external.date_mode is DateMode.YEAR and external.age_cap_years == 90
    assert external.withhold.modalities == {"OP", "OPT", "XC"}

    ai = profiles["ai-service"]
    assert ai.permissions == {"search", "retrieve", "store"}
    assert ai.scope is not None and ai.scope.name == "ai-service"
    assert ai.options == researcher.options


def test_final_actions(profiles: dict[str, Profile]) -> None:
    researcher, external = profiles["researcher"], profiles["external"]
    assert researcher.action_for(0x00100020) is Action.PSEUDONYM  # PatientID
    assert researcher.action_for(0x00100010) is Action.PSEUDONYM  # PatientName
    assert researcher.action_for(0x00080050) is Action.PSEUDONYM  # AccessionNumber
    assert researcher.action_for(0x0020000D) is Action.REPLACE_UID
    assert researcher.action_for(0x00080020) is Action.CLEAN  # StudyDate, shifted
    assert researcher.action_for(0x00101010) is Action.KEEP  # PatientAge, patient characteristics
    assert external.action_for(0x00101010) is Action.CLEAN  # PatientAge, capped
    assert external.action_for(0x00100030) is Action.ZERO  # PatientBirthDate, override
    assert external.action_for(0x00080020) is Action.CLEAN  # StudyDate, year only
    assert researcher.action_for(0x60003000) is Action.REMOVE  # OverlayData
    assert researcher.action_for(0x60000010) is Action.REMOVE  # the rest of the overlay group
    # Clean Graphics asks for a bitmap, a curve or an annotation to be cleaned, which the engine cannot do: X.
    assert external.action_for(0x60003000) is Action.REMOVE
    assert external.action_for(0x60000010) is Action.REMOVE
    assert external.action_for(0x50000005) is Action.REMOVE
    assert external.action_for(0x00700001) is Action.REMOVE  # GraphicAnnotationSequence
    assert external.action_for(0x60004000) is Action.CLEAN  # OverlayComments: text, which the engine cleans
    assert researcher.action_for(0x50000005) is Action.REMOVE  # curves
    assert external.action_for(0x00080001) is Action.REMOVE  # retired and unlisted: a UL could be text


def test_unlisted_attributes() -> None:
    profile = compiled()
    assert profile.action_for(0x00280010) is Action.KEEP  # Rows: a number
    # SOPClassUID: a registered class is kept by U; an unregistered one cannot be told from an instance UID.
    assert profile.action_for(0x00080016) is Action.REPLACE_UID
    assert profile.action_for(0x00080070) is Action.KEEP  # Manufacturer: retained text
    assert profile.action_for(0x00081048) is Action.REMOVE  # PhysiciansOfRecord: listed X
    assert profile.action_for(0x00400254) is Action.REMOVE  # PerformedProcedureStepDescription
    assert profile.action_for(0x0018A003) is Action.REMOVE  # ContributionDescription: unlisted text
    assert profile.action_for(0x00081155) is Action.REPLACE_UID  # ReferencedSOPInstanceUID
    assert profile.action_for(0x00090010) is Action.REMOVE  # private tags go by private_action
    assert profile.action_for(0x00080000) is Action.REMOVE  # group length
    assert profile.action_for(0x7FE10010) is Action.REMOVE


def test_overrides_by_keyword_tag_and_private_creator() -> None:
    profile = compiled(
        options=["retain-safe-private"],
        overrides={
            "StudyDescription": "keep",
            "(0008,103E)": "dummy",
            "(0019,xx23) GEMS_ACQU_01": "remove",
            "(0029,xx10) ACME 1.0": "keep",
            "Manufacturer": "remove",
        },
    )
    assert profile.action_for(0x00081030) is Action.KEEP
    assert profile.action_for(0x0008103E) is Action.DUMMY
    assert profile.action_for(0x00080070) is Action.REMOVE
    assert profile.private_action(0x0019, "GEMS_ACQU_01", 0x23) is Action.REMOVE
    assert profile.private_action(0x0019, "GEMS_ACQU_01", 0x24) is Action.KEEP  # still on the safe list
    assert profile.private_action(0x0029, "ACME 1.0", 0x10) is Action.KEEP
    assert profile.private_action(0x0029, "ACME 1.0", 0x11) is Action.REMOVE


def test_private_removed_without_retain_safe_private() -> None:
    assert compiled().private_action(0x0019, "GEMS_ACQU_01", 0x24) is Action.REMOVE


def test_uid_and_date_modes() -> None:
    kept = compiled(options=["retain-uids"])
    assert kept.uid_mode == "keep" and kept.action_for(0x0020000D) is Action.KEEP
    assert kept.action_for(0x00081155) is Action.KEEP
    assert compiled(options=["retain-longitudinal-full-dates"]).date_mode is DateMode.KEEP
    assert compiled().date_mode is DateMode.REMOVE
    assert compiled(dates="year").action_for(0x00100030) is Action.CLEAN  # BirthDate Z -> year


def test_version_changes_with_content() -> None:
    assert compiled().version == compiled().version
    assert compiled().version != compiled(options=["clean-graphics"]).version
    assert len(compiled().version) == 12


@pytest.mark.parametrize(
    ("data", "key", "reason"),
    [
        ({"permissions": ["search"]}, "(profile)", "needs a scope"),
        ({**BASE, "colour": "red"}, "colour", "Extra inputs"),
        ({**BASE, "permissions": ["delete"]}, "permissions.0", "search"),
        ({**BASE, "options": ["retain-longitudinal-full-dates", "retain-longitudinal-modified-dates"]},
         "(profile)", "alternatives"),
        ({**BASE, "options": ["retain-everything"]}, "options.0", "retain-safe-private"),
        ({**BASE, "dates": "shift"}, "(profile)", "does not agree"),
        ({**BASE, "uids": "keep"}, "(profile)", "retain-uids"),
        ({**BASE, "overrides": {"NoSuchKeyword": "keep"}}, "overrides.NoSuchKeyword", "not a keyword"),
        ({**BASE, "overrides": {"(0008,0080)": "shred"}}, "overrides.(0008,0080)", "remove"),
        ({**BASE, "overrides": {"(0009,1010)": "keep"}}, "overrides.(0009,1010)", "CREATOR"),
        ({**BASE, "overrides": {"(0008,xx10) ACME": "keep"}}, "overrides.(0008,xx10) ACME", "odd group"),
        ({"identity": True, "permissions": ["search"], "options": ["clean-graphics"]}, "(profile)", "identity"),
        ({**BASE, "pixel_rules": [{"match": {}, "regions": [[0, 0, 1, 1]]}]}, "pixel_rules.0.match", "at least"),
        ({**BASE, "pixel_rules": [{"match": {"Columns": 10}, "regions": [[5, 0, 10, 1]]}]},
         "pixel_rules.0", "wider"),
        ({**BASE, "withhold": {"sop_classes": ["NoSuchStorage"]}}, "withhold.sop_classes.0", "SOP Class"),
    ],
)
def test_broken_profiles_name_file_key_reason(data: dict[str, Any], key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        compile_profile("broken", data, source="broken.yaml")
    assert caught.value.file == "broken.yaml"
    assert caught.value.key == key
    assert reason in caught.value.reason


def test_load_profiles_errors(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="no role profiles"):
        load_profiles(tmp_path)
    (tmp_path / "bad.yaml").write_text("permissions: [search\n")
    with pytest.raises(ConfigError) as caught:
        load_profiles(tmp_path)
    assert caught.value.file == "bad.yaml" and "YAML" in caught.value.reason
    (tmp_path / "bad.yaml").write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_profiles(tmp_path)
    (tmp_path / "bad.yaml").unlink()
    (tmp_path / "Bad_Name.yaml").write_text("identity: true\npermissions: [search]\n")
    with pytest.raises(ConfigError, match="role name"):
        load_profiles(tmp_path)


def test_role_name_is_file_stem(tmp_path: pathlib.Path) -> None:
    (tmp_path / "audit-team.yaml").write_text("permissions: [search]\nscope: {reversible: false}\n")
    profiles = load_profiles(tmp_path)
    assert profiles["audit-team"].scope is not None and profiles["audit-team"].scope.name == "audit-team"
