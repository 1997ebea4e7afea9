"""pydicom's character set files: names are read correctly, and none of their bytes come out."""

from __future__ import annotations

import pathlib

import pydicom
import pytest
from pydicom.data import get_charset_files

from gateway.core.rules import header
from gateway.core.rules.engine import Engine

from .conftest import mappings_for

FILES = sorted(get_charset_files("chr*.dcm"))


@pytest.mark.parametrize("path", FILES, ids=lambda path: pathlib.Path(path).name)
def test_names_are_read_and_removed(engines: dict[str, Engine], path: str) -> None:
    data = pathlib.Path(path).read_bytes()
    expected = pydicom.dcmread(path)
    name = expected.get("PatientName")
    ds = header.read(data)
    if name is not None:
        assert [value.rstrip("=") for value in header.text_of(ds, 0x00100010)] == [str(name)]
    for role in ("researcher", "external", "ai-service"):
        engine = engines[role]
        ds = engine.read_header(data)
        engine.apply(ds, mappings_for(engine.profile, engine.needs(ds)))
        output = engine.write_header(ds)
        if name is not None and str(name):
            raw_name = expected["PatientName"].value.original_string
            assert raw_name not in output
        out = pydicom.dcmread(pydicom.filebase.DicomBytesIO(output))
        assert out.get("SpecificCharacterSet") == expected.get("SpecificCharacterSet")
        if "PatientName" in out:
            assert str(out.PatientName).split("=")[0] == str(out.PatientID)
