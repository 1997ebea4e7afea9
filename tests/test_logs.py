"""Log records never carry values: library warnings lose their text, unknown extras are dropped."""

from __future__ import annotations

import logging
import warnings

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.logs import JsonLines, configure
from gateway.web.middleware import Cors, exchange


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


def test_a_library_log_record_quoting_a_value_loses_its_text() -> None:
    """pydicom logs what it warns about ("Invalid value for VR IS: 'Whitaker'") to its own logger as well."""
    from pydicom.misc import warn_and_log

    lines = _Lines()
    logging.getLogger("pydicom").addHandler(lines)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warn_and_log("Invalid value for VR IS: 'Whitaker^Eleanor'")
    finally:
        logging.getLogger("pydicom").removeHandler(lines)
    assert lines.lines and all("Whitaker" not in line for line in lines.lines)
    assert orjson.loads(lines.lines[-1])["msg"] == "library message (text withheld)"


def test_only_whitelisted_extras_are_written() -> None:
    record = logging.LogRecord("gateway.x", logging.INFO, __file__, 1, "withheld", (), None)
    record.reason = "burned-in-annotation (0028,0301)"
    record.patient = "Whitaker^Eleanor"
    entry = orjson.loads(JsonLines().format(record))
    assert entry["reason"] == "burned-in-annotation (0028,0301)" and "patient" not in entry


class _Lines(logging.Handler):
    """Formats as each record is emitted: the request id is read from the context at that moment."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonLines())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_a_clients_request_id_is_never_logged_nor_echoed() -> None:
    """X-Request-ID is client-chosen text and may carry an MRN: the gateway makes its own id, always."""

    async def handler(request: web.Request) -> web.Response:
        logging.getLogger("gateway.test").info("handled")
        return web.Response(text="ok")

    app = web.Application(middlewares=[exchange])
    app.router.add_get("/", handler)
    app.on_response_prepare.append(Cors([]).on_prepare)
    captured, root = _Lines(), logging.getLogger()
    root.addHandler(captured)
    level, root.level = root.level, logging.INFO
    try:
        async with TestClient(TestServer(app)) as client:
            for sent in ("MRN4471953", "trace-42"):
                response = await client.get("/", headers={"X-Request-ID": sent})
                assert response.status == 200
                assert sent not in response.headers["X-Request-ID"] and len(response.headers["X-Request-ID"]) >= 16
    finally:
        root.removeHandler(captured)
        root.setLevel(level)
    ids = [orjson.loads(line)["request_id"] for line in captured.lines if '"handled"' in line]
    assert len(ids) == 2 and all(len(i) >= 16 for i in ids)
    assert all("MRN4471953" not in line and "trace-42" not in line for line in captured.lines)
