"""Which bulkdata tag paths a role may fetch: every step must be an attribute the role keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.core.rules.profile import Profile, load_profiles
from gateway.web.handlers.frames import bulk_allowed

REPO = Path(__file__).resolve().parents[2]
INSTANCE = "/studies/1.2.3/series/1.2.3.4/instances/1.2.3.4.5"


@pytest.fixture(scope="module")
def researcher() -> Profile:
    return load_profiles(REPO / "conf" / "roles")["researcher"]


@pytest.mark.parametrize(
    ("tag_path", "allowed"),
    [
        ("7fe00010", True),  # pixel data: the pixel plan decides, not this check
        ("00540016/0/00540300", True),  # kept sequence, kept code sequence inside
        ("00540016/0/00100010", False),  # kept sequence, but PatientName inside is replaced
        ("00540016/0/00181072", False),  # kept sequence, but a time inside is cleaned
        ("00100010", False),
        ("00111010", False),  # private: no creator in a path
        ("00540016/0/00111010", False),
        ("7fe00010/x", False),
        ("", False),
    ],
)
def test_every_step_of_the_path_must_be_kept(researcher: Profile, tag_path: str, allowed: bool) -> None:
    assert bulk_allowed(researcher, f"{INSTANCE}/bulk/{tag_path}") is allowed
