"""Planted identifiers: nothing planted may come out of a de-identifying role, in any encoding."""

from __future__ import annotations

import pydicom
import pytest

from gateway.core.rules.engine import Engine

from .factories import (
    ASCII_MARKERS,
    CHARSETS,
    JAPANESE_PARTS,
    encoded_forms,
    part10,
    planted_dataset,
    run,
)

DEIDENTIFYING = ("researcher", "external", "ai-service")


def leaks(data: bytes) -> list[str]:
    found = [text for text in ASCII_MARKERS if text.encode() in data]
    found += [part for part in JAPANESE_PARTS if any(form in data for form in encoded_forms(part))]
    return found


@pytest.mark.parametrize("charset", list(CHARSETS))
@pytest.mark.parametrize("role", DEIDENTIFYING)
def test_nothing_planted_comes_out(engines: dict[str, Engine], role: str, charset: str) -> None:
    engine = engines[role]
    source = part10(planted_dataset(engine.profile, charset))
    assert leaks(source), "the planted input must carry the markers"
    result = run(engine, source)
    assert leaks(result.header) == []
    assert leaks(result.json_text.encode("utf-8")) == []
    pydicom.dcmread(pydicom.filebase.DicomBytesIO(result.header))  # still a readable Part 10 file


@pytest.mark.parametrize("charset", list(CHARSETS))
def test_clinician_sees_everything(engines: dict[str, Engine], charset: str) -> None:
    engine = engines["clinician"]
    source = part10(planted_dataset(engines["researcher"].profile, charset))
    result = run(engine, source)
    assert set(leaks(result.header)) == set(leaks(source))


def test_japanese_name_is_read_in_iso_2022(engines: dict[str, Engine]) -> None:
    source = part10(planted_dataset(engines["researcher"].profile, "\\ISO 2022 IR 87"))
    assert "山田".encode("iso2022_jp")[3:-3] in source
    ds = engines["clinician"].read_header(source)
    assert str(ds.PatientName.ideographic) == "山田^太郎"
    assert str(ds.PatientName.phonetic) == "やまだ^たろう"


@pytest.mark.parametrize("role", DEIDENTIFYING)
def test_patient_name_is_the_pseudonym_in_three_components(engines: dict[str, Engine], role: str) -> None:
    engine = engines[role]
    result = run(engine, part10(planted_dataset(engine.profile, "\\ISO 2022 IR 87")))
    name = result.dataset.PatientName
    assert str(name.alphabetic) == str(name.ideographic) == str(name.phonetic) == result.dataset.PatientID
    assert result.dataset.PatientID.startswith(engine.profile.scope.scheme.patient_prefix)  # type: ignore[union-attr]
    json_name = result.json_object["00100010"]["Value"][0]
    assert json_name == {"Alphabetic": result.dataset.PatientID, "Ideographic": result.dataset.PatientID,
                         "Phonetic": result.dataset.PatientID}
