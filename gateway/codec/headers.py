"""The header block of one MIME body part (RFC 2046 §5.1, RFC 9110 field syntax).

Parsing is strict on purpose: a part header we cannot read unambiguously is a part we cannot de-identify
safely, so obsolete line folding, bare CR or LF, and repeated fields are all refused rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

_NAME = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


class Headers(Mapping[str, str]):
    """A read-only, case-insensitive mapping of field names to values; iteration keeps the sent spelling."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, str] | None = None) -> None:
        self._fields = {name.lower(): (name, value) for name, value in (fields or {}).items()}
        if fields is not None and len(self._fields) != len(fields):
            raise ValueError("header names differ only in case")

    @classmethod
    def parse(cls, block: bytes) -> Headers:
        """Parse CRLF-separated `name: value` lines (no trailing blank line). Raises ValueError if malformed."""
        fields: dict[str, str] = {}
        seen: set[str] = set()
        for line in block.split(b"\r\n") if block else ():
            name, colon, value = line.partition(b":")
            if not colon or not _NAME.fullmatch(name) or _BAD_VALUE.search(value):
                raise ValueError("malformed part header line")
            key = name.decode("ascii")
            if key.lower() in seen:
                raise ValueError("repeated part header")
            seen.add(key.lower())
            fields[key] = value.strip(b" \t").decode("latin-1")
        return cls(fields)

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._fields.values())

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        # Values may carry UIDs or URLs naming real studies; keep them out of logs and tracebacks.
        return f"Headers({list(self)!r})"
