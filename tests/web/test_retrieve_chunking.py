"""The de-identifying instance stream, without HTTP: its output does not depend on how the origin chunks the body.

Property (style guide): wherever the chunk boundaries fall, the output equals de-identification applied to each
input part; here, byte for byte the output of the body delivered in one piece. The pixel bytes of every part come
through untouched, and a withheld part (the burned-in US) leaves no trace.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.adapters.sqlite.pseudonyms import SqliteStore
from gateway.codec.multipart import MultipartWriter, iter_parts
from gateway.core.governance.disclosure import Audit, Disclosure
from gateway.core.governance.model import Draft, LedgerEntry, Withdrawals
from gateway.core.keys import Keyring
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.engine import Engine
from gateway.core.rules.profile import load_profiles
from gateway.core.urls import UrlMap
from gateway.demo.samples import sample_studies
from gateway.errors import Unreadable
from gateway.web.handlers.retrieve import send_instances
from gateway.web.view import View

REPO = Path(__file__).resolve().parents[2]
INSTANCES = [*sample_studies()["a_ct"][:3], *sample_studies()["b_cr"], *sample_studies()["c_us"]]
WRITER = MultipartWriter("a" * 48, related_type="application/dicom")
BODY = b"".join(WRITER.part_head({"Content-Type": "application/dicom"}) + i + WRITER.part_tail() for i in INSTANCES)
BODY += WRITER.close()


async def _never_sealed(_: Draft) -> LedgerEntry:
    raise AssertionError("the stream is not sealed here: the handler does that before the closing boundary")


def _view(store: SqliteStore) -> View:
    profile = load_profiles(REPO / "conf" / "roles")["researcher"]
    assert profile.scope is not None
    disclosure = Disclosure("test", profile.name, profile.scope.name, profile.version, _never_sealed)
    return View(
        engine=Engine(profile),
        scope=profile.scope,
        resolver=Resolver(store, Keyring(b"chunking-secret-0123456789"), 1),
        urls=UrlMap("http://origin/dicom-web", "http://gateway/dicom-web"),
        remaps_uids=True,
        audit=Audit(Withdrawals(), disclosure),
    )


async def _deidentified(view: View, cuts: list[int], ahead: tuple[int, int] = (32, 16 << 20)) -> bytes:
    async def chunks() -> AsyncIterator[bytes]:
        edges = [0, *sorted(set(cuts)), len(BODY)]
        for start, end in itertools.pairwise(edges):
            if end > start:
                yield BODY[start:end]

    out = bytearray()

    async def write(data: bytes | memoryview) -> None:
        out.extend(data)

    out_writer = MultipartWriter("b" * 48, related_type="application/dicom")
    parts = iter_parts(chunks(), WRITER.boundary)
    await send_instances(parts, view, out_writer, write, ahead_parts=ahead[0], ahead_bytes=ahead[1])
    return bytes(out)


@pytest.fixture(scope="module")
def view() -> View:
    return _view(SqliteStore(tempfile.mktemp(suffix=".sqlite3")))


@pytest.fixture(scope="module")
def whole(view: View) -> bytes:
    return asyncio.run(_deidentified(view, []))


def test_each_part_is_de_identified_and_its_pixels_are_untouched(whole: bytes) -> None:
    parts = [p.split(b"\r\n\r\n", 1)[1] for p in whole.split(b"--" + b"b" * 48)[1:]]
    assert len(parts) == len(INSTANCES) - 1  # the burned-in US is withheld
    for original, sent in zip(INSTANCES, parts, strict=False):
        before, after = pydicom.dcmread(io.BytesIO(original)), pydicom.dcmread(io.BytesIO(sent))
        assert after.PatientID.startswith("RID-") and after.SOPInstanceUID != before.SOPInstanceUID
        if "PixelData" in before:
            assert after.PixelData == before.PixelData


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(BODY) - 1), max_size=60))
def test_output_does_not_depend_on_chunk_boundaries(view: View, whole: bytes, cuts: list[int]) -> None:
    assert asyncio.run(_deidentified(view, cuts)) == whole


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=len(BODY) - 1), max_size=20),
    parts=st.integers(min_value=1, max_value=8),
    size=st.integers(min_value=0, max_value=len(BODY)),
)
def test_output_does_not_depend_on_read_ahead(view: View, whole: bytes, cuts: list[int], parts: int, size: int) -> None:
    """However many parts, and bytes, are read ahead (a part that does not fit streams), the output is the same."""
    assert asyncio.run(_deidentified(view, cuts, (parts, size))) == whole


def _long_length(data: bytes, element: bytes) -> bytes:
    at = data.index(element) + len(element)
    header_end = data.rfind(b"\xe0\x7f\x10\x00")
    return data[:at] + b"\xf0\xff" + data[at + 2 : header_end]


@pytest.mark.parametrize(
    "broken",
    [
        INSTANCES[0][:400],  # the header cut short
        b"\0" * 128 + b"NOPE" + INSTANCES[0][132:],  # not DICOM
        _long_length(INSTANCES[0], b"\x08\x00\x30\x10LO"),  # StudyDescription's length runs past the end
    ],
)
def test_a_part_that_does_not_parse_is_not_left_out_quietly(view: View, broken: bytes) -> None:
    """Leaving it out would let the stream end with its closing boundary: the client takes a cut study for whole.
    `Unreadable` reaches the handler, which cuts the connection instead (or answers 502 before the first byte)."""
    body = WRITER.part_head({"Content-Type": "application/dicom"}) + broken + WRITER.part_tail() + WRITER.close()

    async def one_part() -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield body

        parts = iter_parts(chunks(), WRITER.boundary)
        await send_instances(parts, view, MultipartWriter("c" * 48, related_type="application/dicom"), _discard)

    with pytest.raises(Unreadable):
        asyncio.run(one_part())


async def _discard(data: bytes | memoryview) -> None:
    del data
