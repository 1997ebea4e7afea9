"""JSON-lines logs. Records carry kinds, counts, tag paths and request ids; never element values or URLs."""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

import orjson

request_id: ContextVar[str] = ContextVar("request_id", default="-")

# Extra fields a log call may attach; anything else passed via `extra` is dropped, so a value cannot slip in.
_ALLOWED_EXTRA = (
    "transaction", "role", "status", "duration_ms", "bytes", "reason", "tag_path", "kind", "count", "error",
    "instances", "withheld", "listen", "upstream_status", "where", "worker", "pid", "exit_status",
)  # fmt: skip


# Library warnings and log records (pydicom's above all: "Invalid value for VR IS: '...'") quote element values:
# keep that they happened and where, not their text. Only the gateway's own records, which carry none, keep it.
_WITHHELD = {"py.warnings": "library warning (text withheld)"}
_LIBRARY = "library message (text withheld)"


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "gateway" or record.name.startswith("gateway.")


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage() if _ours(record) else _WITHHELD.get(record.name, _LIBRARY)
        entry: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": message,
            "request_id": request_id.get(),
        }
        for key in _ALLOWED_EXTRA:
            if key in record.__dict__:
                entry[key] = record.__dict__[key]
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type only: exception text from libraries may quote values.
            entry["exc_type"] = record.exc_info[0].__name__
        return orjson.dumps(entry).decode()


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    # aiohttp's access log prints the request line, which carries UIDs; our own access record replaces it.
    logging.getLogger("aiohttp.access").disabled = True
