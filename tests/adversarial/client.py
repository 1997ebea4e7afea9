"""What a client sees from the gateway for one request, and the property every answer must have.

`fetch` reads the raw body as it streams and keeps every byte that arrived, even when the gateway cuts the
connection (an aborted stream is an acceptable answer, but bytes sent before the cut reached the client, so
they are scanned too). `violations` checks the property and names each broken part without printing a value.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass

from adversarial.leaks import Scanner

_BOUNDARY = re.compile(r'boundary="?([^";,\s]+)"?', re.IGNORECASE)


@dataclass
class Outcome:
    status: int  # 0: no status line arrived
    headers: list[tuple[str, str]]
    body: bytes
    aborted: bool
    error: str = ""

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    @property
    def raw_headers(self) -> bytes:
        return "\n".join(f"{k}: {v}" for k, v in self.headers).encode("latin-1", "replace")

    @property
    def complete_multipart(self) -> bool:
        match = _BOUNDARY.search(self.header("Content-Type"))
        return bool(match) and b"--" + match.group(1).encode() + b"--" in self.body

    def __str__(self) -> str:
        state = "aborted" if self.aborted else "complete"
        return f"status={self.status} {state} type={self.header('Content-Type')!r} bytes={len(self.body)}"


def fetch(port: int, raw_path: str, headers: dict[str, str], *, timeout: float = 20) -> Outcome:
    """GET `raw_path` exactly as written (no normalisation, no re-encoding) from 127.0.0.1:`port`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    body = bytearray()
    status, got = 0, []
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        status, got = response.status, list(response.getheaders())
        while True:
            chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
            if not chunk:
                break
            body += chunk
        return Outcome(status, got, bytes(body), aborted=False)
    except (http.client.HTTPException, OSError) as exc:
        partial = getattr(exc, "partial", b"") or b""
        return Outcome(status, got, bytes(body) + partial, aborted=True, error=type(exc).__name__)
    finally:
        conn.close()


def violations(outcome: Outcome, scanner: Scanner) -> list[str]:
    """The ways this answer breaks the property (empty when it holds)."""
    found = []
    if outcome.status == 500:
        found.append("status-500")
    if b"Traceback" in outcome.body or b'File "' in outcome.body:
        found.append("traceback-in-body")
    if outcome.error == "TimeoutError" or outcome.error == "timeout":
        found.append("client-timeout")
    keys = scanner.scan(outcome.body) | scanner.scan(outcome.raw_headers)
    if keys:
        found.append("leak:" + ",".join(sorted(keys)))
    return found
