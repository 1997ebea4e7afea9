"""pydicom's bundled test files through every role: de-identified, or withheld with a stated reason."""

from __future__ import annotations

import io
import pathlib
import re

import pydicom
import pytest
from pydicom.data import get_testdata_files

from gateway.core.rules.engine import Engine
from gateway.errors import Withheld

from .conftest import ROLES, mappings_for

FILES = sorted(path for path in get_testdata_files() if path.endswith(".dcm"))
REASON = re.compile(r"^[a-z0-9-]+( \(.*\))?$")


def _header(data: bytes) -> bytes:
    """Cut before the top-level PixelData, as the codec would (the whole file when there is none)."""
    stream = io.BytesIO(data)
    try:
        pydicom.dcmread(stream, stop_before_pixels=True)
    except Exception:
        return data  # the engine must say why it cannot read it
    return data[: stream.tell()]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("role", ROLES)
def test_bundled_files(engines: dict[str, Engine], role: str) -> None:
    engine = engines[role]
    done, withheld = 0, 0
    reasons: dict[str, int] = {}
    for path in FILES:
        data = pathlib.Path(path).read_bytes()
        try:
            ds = engine.read_header(_header(data))
            engine.apply(ds, mappings_for(engine.profile, engine.needs(ds)))
            pydicom.dcmread(io.BytesIO(engine.write_header(ds)))
            done += 1
        except Withheld as error:
            assert REASON.match(error.reason), (path, error.reason)
            withheld += 1
            reasons[error.reason] = reasons.get(error.reason, 0) + 1
    print(role, done, reasons)
    assert done > len(FILES) // 2, (done, withheld)
