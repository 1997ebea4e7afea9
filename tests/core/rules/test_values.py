"""New values: modified dates, capped ages, dummies valid for their VR."""

from __future__ import annotations

import pytest
from pydicom import config
from pydicom.valuerep import validate_value

from gateway.core.rules.values import DUMMY_TEXT, cap_age, shift_date, year_only


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("20200101", -1, "20191231"),
        ("20200301", -1, "20200229"),
        ("20200315101112.123+0900", -30, "20200214101112.123+0900"),  # the time and offset of a DT stay
        ("202003", -40, "202001"),  # the precision stays
        ("2020", -400, "2018"),
        ("2020-03-01", -1, ""),  # not a DICOM date: emptied, never passed on
        ("", -1, ""),
    ],
)
def test_shift_date(value: str, days: int, expected: str) -> None:
    assert shift_date(value, days) == expected


def test_year_only() -> None:
    assert year_only("DA", "20200615") == "20200101"
    assert year_only("DT", "20200615101112") == "20200101000000"
    assert year_only("DA", "junk") == ""


@pytest.mark.parametrize(
    ("age", "expected"), [("095Y", "090Y"), ("090Y", "090Y"), ("089Y", "089Y"), ("030M", "030M"), ("1Y", "")]
)
def test_cap_age(age: str, expected: str) -> None:
    assert cap_age(age, 90) == expected


@pytest.mark.parametrize(("vr", "value"), sorted(DUMMY_TEXT.items()))
def test_dummies_are_valid_for_their_vr(vr: str, value: str) -> None:
    validate_value(vr, value, validation_mode=config.RAISE)
