"""core.instance: one Part 10 instance de-identified from a byte source, with no HTTP and a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.core.dicom import dataset_patient
from gateway.core.governance.model import Withdrawals, withdrawing_keys
from gateway.core.instance import Deidentifier, deidentify_instance
from gateway.core.keys import DataKey, Keyring
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import load_profiles
from gateway.demo.planted import PLANTED, encoded_forms
from gateway.demo.samples import UID_ROOT, sample_studies
from gateway.errors import Unreadable, Withheld

REPO = Path(__file__).resolve().parents[2]
CT = sample_studies()["a_ct"][0]
BURNED_IN_US = sample_studies()["c_us"][0]
IDENTIFIERS = {k: v for k, v in PLANTED.items() if k.startswith(("name.", "id.", "address.", "phone."))}


async def chunked(data: bytes, size: int = 997) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.fixture
async def deidentifier(tmp_path: Path) -> AsyncIterator[Deidentifier]:
    profile = load_profiles(REPO / "conf" / "roles")["researcher"]
    assert profile.scope is not None
    store = SqliteStore(str(tmp_path / "pseudonyms.db"))
    yield Deidentifier(
        Engine(profile), profile.scope, Resolver(store, Keyring(b"instance-test-secret-0123"), 1), Withdrawals()
    )
    await store.aclose()


async def test_the_header_is_rewritten_and_the_pixels_pass_through(deidentifier: Deidentifier) -> None:
    instance = await deidentify_instance(chunked(CT), deidentifier)
    pixels = b"".join([bytes(chunk) async for chunk in instance.pixels])
    await instance.finish()
    original = pydicom.dcmread(pydicom.filebase.DicomBytesIO(CT))
    assert original.PixelData in pixels  # the pixel element's value, byte for byte
    header = instance.header
    assert not [key for key, value in IDENTIFIERS.items() if any(form in header for form in encoded_forms(value))]
    assert UID_ROOT.encode() not in header
    assert instance.real.study == original.StudyInstanceUID
    assert instance.pseudonymous.study and instance.pseudonymous.study != instance.real.study


async def test_an_instance_the_role_must_not_see_is_withheld(deidentifier: Deidentifier) -> None:
    with pytest.raises(Withheld):
        await deidentify_instance(chunked(BURNED_IN_US), deidentifier)


async def test_an_opted_out_patient_is_withheld(deidentifier: Deidentifier) -> None:
    patient = dataset_patient(pydicom.dcmread(pydicom.filebase.DicomBytesIO(CT)))
    key = DataKey(b"k" * 32)
    registry = Withdrawals(frozenset(withdrawing_keys(patient, key)[:1]), 1, key)
    withdrawn = Deidentifier(deidentifier.engine, deidentifier.scope, deidentifier.resolver, registry)
    with pytest.raises(Withheld, match="opted-out"):
        await deidentify_instance(chunked(CT), withdrawn)


async def test_bytes_that_do_not_parse_are_unreadable_not_withheld_quietly(deidentifier: Deidentifier) -> None:
    with pytest.raises(Unreadable):
        await deidentify_instance(chunked(CT[:200]), deidentifier)


async def test_a_valid_instance_the_codec_cannot_stream_is_withheld_not_unreadable(
    deidentifier: Deidentifier,
) -> None:
    deflated = Path(get_testdata_file("image_dfl.dcm")).read_bytes()  # type: ignore[arg-type]
    with pytest.raises(Withheld, match="deflate") as raised:
        await deidentify_instance(chunked(deflated), deidentifier)
    assert not isinstance(raised.value, Unreadable)
