"""Log records never carry values: library warnings lose their text, unknown extras are dropped."""

from __future__ import annotations

import logging
import warnings

import orjson
import pytest

from gateway.logs import JsonLines, configure


def test_a_warning_quoting_a_value_loses_its_text(capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("Invalid value 'Whitaker^Eleanor' for VR PN", UserWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Whitaker" not in line
    assert orjson.loads(line)["msg"] == "library warning (text withheld)"


def test_only_whitelisted_extras_are_written() -> None:
    record = logging.LogRecord("gateway.x", logging.INFO, __file__, 1, "withheld", (), None)
    record.reason = "burned-in-annotation (0028,0301)"
    record.patient = "Whitaker^Eleanor"
    entry = orjson.loads(JsonLines().format(record))
    assert entry["reason"] == "burned-in-annotation (0028,0301)" and "patient" not in entry
