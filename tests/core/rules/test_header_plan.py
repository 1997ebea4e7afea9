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


def _header_only(number: int, *, with_class: bool = True) -> bytes:
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    del ds.PixelData
    sop = f"{ds.SOPInstanceUID}.{number}"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
    data = part10(ds)
    if with_class:
        return data
    at = data.index(b"\x08\x00\x16\x00UI")  # the data set's SOP Class UID, cut out
    return data[:at] + data[at + 8 + int.from_bytes(data[at + 6 : at + 8], "little") :]


def _in_meta(data: bytes, old: bytes, new: bytes) -> bytes:
    """`data` with `old` replaced by `new` (as long) in its file meta group only."""
    end = 144 + int.from_bytes(data[140:144], "little")
    assert len(old) == len(new) and old in data[:end]
    return data[:end].replace(old, new) + data[end:]


CT, MR = b"1.2.840.10008.5.1.4.1.1.2\0", b"1.2.840.10008.5.1.4.1.1.4\0"
EXPLICIT, RLE = b"1.2.840.10008.1.2.1\0", b"1.2.840.10008.1.2.5\0"  # one byte layout, two transfer syntaxes


@pytest.mark.parametrize("role", ["researcher", "external"])
@pytest.mark.parametrize(("with_class", "old", "new"), [(True, EXPLICIT, RLE), (False, CT, MR)])
def test_a_file_meta_made_of_other_elements_goes_out_as_the_full_walk_writes_it(
    profiles: dict[str, Profile], role: str, with_class: bool, old: bytes, new: bytes
) -> None:
    """The plan encodes a series' file meta once, by what it is made of (the transfer syntax; the SOP Class,
    from the file meta when the data set has none): an instance whose file meta differs there gets its own."""
    profile = profiles[role]
    planned = Engine(profile)
    plain = [_header_only(number, with_class=with_class) for number in range(4)]
    series = [*plain[:3], _in_meta(plain[3], old, new), plain[0]]
    outputs = []
    for data in series:
        full, fast = run_part10(Engine(profile), data), run_part10_compiled(planned, data)
        assert fast is not None and full.output is not None, "the plan declined: the test would not exercise it"
        assert fast == full
        outputs.append(full.output)
    assert new in outputs[3] and old not in outputs[3][:400]
