"""The pure parts of the console's profile form: text to data and back, the choices, keyword completion."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gateway.core.rules.actions import Option
from gateway.core.rules.profile import compile_profile
from gateway.errors import ConfigError
from gateway.web.admin.profile_form import DICTIONARY_LIMIT, keywords_starting, profile_data, profile_text, schema

ROLES = Path(__file__).resolve().parents[2] / "conf" / "roles"


@pytest.mark.parametrize("role", ["researcher", "external", "clinician", "ai-service"])
def test_a_profile_survives_the_round_trip_through_the_form(role: str) -> None:
    text = (ROLES / f"{role}.yaml").read_text()
    data = profile_data(text, f"{role}.yaml")
    again = profile_text(data)
    assert yaml.safe_load(again) == yaml.safe_load(text)
    assert list(yaml.safe_load(again)) == list(data)  # the form's key order is kept
    assert compile_profile(role, yaml.safe_load(again), source="x").version == compile_profile(
        role, yaml.safe_load(text), source="x").version  # fmt: skip


def test_text_that_is_no_profile_names_where() -> None:
    with pytest.raises(ConfigError) as bad:
        profile_data("a: [1\n", "researcher.yaml")
    assert bad.value.key.startswith("line ")
    with pytest.raises(ConfigError) as listed:
        profile_data("- one\n", "researcher.yaml")
    assert listed.value.key == "(profile)"
    with pytest.raises(ConfigError) as keys:
        profile_data("overrides: {1: remove}\n", "researcher.yaml")
    assert "JSON" in keys.value.reason


def test_the_schema_lists_what_the_compiler_allows() -> None:
    choices = schema()
    assert [o["name"] for o in choices["options"]] == [o.value for o in Option]
    assert all(o["explanation"] and o["title"] for o in choices["options"])
    named = {o["name"]: o for o in choices["options"]}
    assert named["retain-patient-characteristics"]["explanation"] == "keep sex, age, size and weight"
    assert choices["permissions"] == ["search", "retrieve", "store"]
    assert [d["word"] for d in choices["dates"]] == ["keep", "shift", "year", "remove"]
    assert "replace-uid" in choices["overrides"] and choices["clean"] == ["scrub", "blank"]
    assert choices["match_keys"] == ["Manufacturer", "ManufacturerModelName", "Rows", "Columns"]


def test_keyword_completion_is_a_bounded_prefix_match() -> None:
    found = keywords_starting("StudyDesc")
    assert found[0] == {"keyword": "StudyDescription", "tag": "(0008,1030)", "vr": "LO", "name": "Study Description"}
    assert all(f["keyword"].startswith("StudyDesc") for f in found)
    assert keywords_starting("patientsex")[0]["keyword"] == "PatientSex"  # any case
    many = keywords_starting("P")
    assert len(many) == DICTIONARY_LIMIT and all(f["keyword"].lower().startswith("p") for f in many)
    assert keywords_starting("Zzzz") == []
