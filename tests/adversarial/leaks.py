"""The leak scan: every planted identifier in every encoding, base64 included, and any real UID.

`Scanner(role)` knows what the role may legitimately let through (the researcher profiles shift dates and keep
times on purpose, and a shifted date may collide with another planted one); nothing else is excluded.
`Scanner.scan(data)` returns the planted keys found (never the values, so a report carries nothing
identifying); `uid_root` stands for a real UID.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

from gateway.demo.planted import PLANTED, PLANTED_DATES, encoded_forms

UID_ROOT = PLANTED["uid_root"].rstrip(".")
# Roles whose dates are shifted (a shifted date may land on another planted date) and whose times are kept.
DATES_ALLOWED = {"researcher": True, "ai-service": True, "external": False}
_B64_RUN = re.compile(rb"[A-Za-z0-9+/]{8,}={0,2}")
_B64URL_RUN = re.compile(rb"[A-Za-z0-9_-]{8,}={0,2}")
# The gateway's own error bodies carry a random request id (32 hex digits): a planted time such as 160844 can
# turn up in it by chance (seen once in CI-like runs), and it carries nothing of the data.
_REQUEST_ID = re.compile(rb'"requestId":"[0-9a-f]{32}"|X-Request-ID: [0-9a-f]{32}', re.IGNORECASE)


def b64_forms(form: bytes) -> set[bytes]:
    """Base64 text that carries `form` whatever its alignment inside the encoded bytes (padding cut off)."""
    out = set()
    for shift in range(3):
        text = base64.b64encode(b"\0" * shift + form)
        start = 4 * ((shift + 2) // 3) if shift else 0  # the groups that mix in the alignment bytes are dropped
        end = 4 * ((shift + len(form)) // 3)
        if end - start >= 8:
            out.add(text[start:end])
    return out


@dataclass
class Scanner:
    role: str
    forms: dict[bytes, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        skip_dates = DATES_ALLOWED.get(self.role, False)
        for key, value in PLANTED.items():
            if key == "uid_root" or (skip_dates and key in PLANTED_DATES):
                continue
            for form in encoded_forms(value):
                self.forms[form] = key
        self.forms[UID_ROOT.encode()] = "uid_root"

    @classmethod
    def for_role(cls, role: str) -> Scanner:
        if role not in _SCANNERS:
            _SCANNERS[role] = cls(role)
        return _SCANNERS[role]

    def scan(self, data: bytes) -> set[str]:
        """Planted keys (and `uid_root`) found in `data`, as bytes, in base64 runs, or decoded from them."""
        data = _REQUEST_ID.sub(b"", data)
        found = {key for form, key in self.forms.items() if form in data}
        for run in _B64_RUN.findall(data) + _B64URL_RUN.findall(data):
            decoded = _b64decode(run)
            if decoded:
                found |= {key for form, key in self.forms.items() if form in decoded}
        return found


_SCANNERS: dict[str, Scanner] = {}


def _b64decode(run: bytes) -> bytes:
    body = run.rstrip(b"=")
    out = b""
    for offset in range(4):  # a run may start mid-group; try every alignment
        chunk = body[offset:]
        chunk = chunk[: len(chunk) - len(chunk) % 4]
        if len(chunk) < 8:
            continue
        try:
            out += base64.b64decode(chunk, validate=False) + b"\n"
            out += base64.urlsafe_b64decode(chunk) + b"\n"
        except (binascii.Error, ValueError):
            continue
    return out
