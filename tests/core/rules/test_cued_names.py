"""Names the instance's own attributes do not give (issue 15, the fuzz bench's last leaks through scrubbed
text): a header whose name attribute was replaced, garbled or left without a letter, while its free text still
names the person. Each case is one the long adversarial run (`bench/fuzz_adversarial.py`) found, reduced."""

from __future__ import annotations

import io

import pydicom
import pytest

from gateway.core.rules.engine import Engine
from gateway.core.rules.scrub import Category, Identifiers, Scrubber

from .conftest import mappings_for
from .factories import ct_instance


def _json(engine: Engine, replaced: dict[str, object], **attributes: str) -> dict[str, object]:
    obj = pydicom.dcmread(io.BytesIO(ct_instance(**attributes))).to_json_dict()
    obj.update(replaced)
    return engine.apply_json(obj, mappings_for(engine.profile, engine.needs_json(obj)))


def _values(obj: dict[str, object]) -> str:
    return str({key: value for key, value in obj.items() if key not in ("00100010", "00080090")})


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
@pytest.mark.parametrize("value", ["1.2.392.200036.9999.3.1", "+44 117 496 0321", "4471953"])
def test_a_name_attribute_with_no_letter_is_no_name_and_the_free_text_is_blanked(
    engines: dict[str, Engine], role: str, value: str
) -> None:
    """PatientName holding a UID or a phone number cannot tell the scrubber who the text is about."""
    out = _json(
        engines[role],
        {"00100010": {"vr": "PN", "Value": [{"Ideographic": value}]}},
        StudyDescription="RM rodilla Fernández",
    )
    assert "Fernández" not in _values(out)


def test_a_name_attribute_that_is_only_separators_is_empty_not_unreadable(engines: dict[str, Engine]) -> None:
    out = _json(
        engines["researcher"],
        {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "^^"}]}},
        StudyDescription="RM rodilla izquierda",
    )
    assert out["00081030"]["Value"] == ["RM rodilla izquierda"]


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
def test_a_title_names_whoever_follows_it(engines: dict[str, Engine], role: str) -> None:
    out = _json(
        engines[role],
        {"00080090": {"vr": "PN", "Value": [{"Alphabetic": "Someone^Else"}]}},
        StudyDescription="CT CHEST follow-up ref Dr Okonkwo",
    )
    assert out["00081030"]["Value"] == ["CT CHEST follow-up ref Dr"]


@pytest.mark.parametrize("role", ["researcher", "external", "ai-service"])
def test_a_name_found_by_its_cue_goes_from_every_text_of_the_instance(engines: dict[str, Engine], role: str) -> None:
    """The header's name was replaced; the comments name a relative, and the description the patient, whose
    surname the relative shares and whose given name stands next to it."""
    out = _json(
        engines[role],
        {"00100010": {"vr": "PN", "Value": [{"Ideographic": "St Brigid's General Hospital"}]}},
        StudyDescription="CT CHEST follow-up Eleanor Whitaker ref Dr",
        PatientComments="Lives with daughter Margaret Whitaker; call first",
        ImageComments="No change since prior. Whitaker^Eleanor^Marie to return in 4 months.",
    )
    text = _values(out)
    for word in ("Whitaker", "Eleanor", "Margaret", "Marie"):
        assert word not in text
    assert "CT CHEST follow-up" in text and "to return in 4 months" in text


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Patient moved slightly; repeated by H. Lindqvist", ["Lindqvist"]),
        ("ref Dr Okonkwo", ["Okonkwo"]),
        ("Dr. OKONKWO to review", ["OKONKWO"]),
        ("Lives with daughter Margaret Whitaker; call", ["Margaret Whitaker"]),
        ("Reported by: J.R. Smith, MD", ["J.R. Smith"]),
        ("Lindqvist, H. to review", ["Lindqvist, H."]),
        ("Name: WHITAKER^ELEANOR", ["WHITAKER^ELEANOR"]),
        ("胸部X線 山田様", ["山田"]),
        ("担当 タナカ先生 確認済み", ["タナカ"]),
        ("氏名：山田太郎 胸部CT", ["山田太郎"]),
    ],
)
def test_a_name_next_to_its_cue_is_removed_with_no_identifier_given(text: str, names: list[str]) -> None:
    scrubbed = Scrubber().scrub(text, Identifiers())
    for name in names:
        assert name not in scrubbed.text, scrubbed
    assert any(span.category is Category.NAME for span in scrubbed.spans)


@pytest.mark.parametrize(
    "text",
    [
        "Findings are consistent with Smith fracture of the distal radius.",
        "DR CHEST PA and lateral",
        "MR BRAIN W WO",
        "MS plaques in the periventricular white matter",
        "r/o MS FLAIR",
        "Hodgkin lymphoma restaging",
        "患者様の体位は仰臥位",
        "ご家族様へ説明済み",
        "Radiology Report",
        "daughter cells",
        "Dr. review pending",
        "T1 post Gd. Axial",
        "S. aureus bacteremia",
    ],
)
def test_clinical_text_with_the_same_shapes_is_kept(text: str) -> None:
    assert Scrubber().scrub(text, Identifiers()).text == text
