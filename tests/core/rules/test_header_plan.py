"""The compiled header plan against the full engine on a series whose SOP Instance UIDs turn up in other elements,
public or private: where the plan serves an instance, it writes what the full walk writes. (The fuzz suite,
tests/adversarial/test_engine_fuzz.py, holds the plan to the walk on the fail-closed corpus.)"""

from __future__ import annotations

import pydicom
import pytest
from adversarial.engine_run import run_part10, run_part10_compiled
from pydicom.data import get_testdata_file

from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import Profile

from .factories import part10


def _instance(number: int, copy_into: str | None) -> bytes:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    sop = f"{ds.SOPInstanceUID}.{number}"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
    if copy_into == "public":
        ds.ImageComments = f"copied from {sop}"
    elif copy_into == "private":
        ds[0x00091001].value = sop
    return part10(ds)


@pytest.mark.parametrize("role", ["researcher", "external"])
def test_uid_copies_go_out_as_the_full_walk_writes_them(profiles: dict[str, Profile], role: str) -> None:
    profile = profiles[role]
    planned = Engine(profile)
    series = [_instance(n, kind) for n, kind in enumerate([None, None, "public", None, "private", "public"])]
    served_by_plan = 0
    for data in series:
        full = run_part10(Engine(profile), data)
        fast = run_part10_compiled(planned, data)
        if fast is not None:
            served_by_plan += 1
            assert fast == full
    assert served_by_plan >= 3, "the plan served too few instances: the test would not exercise it"
