"""Turning the origin's URLs into the gateway's own.

The origin builds absolute URLs (RetrieveURL, BulkDataURI, Content-Location, Location) from its own base.
Clients must only ever see the gateway's base, so every such URL is rewritten on its way out.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UrlMap:
    upstream_base: str  # e.g. http://127.0.0.1:8042/dicom-web
    public_base: str  # e.g. http://127.0.0.1:8080/dicom-web

    def to_public(self, url: str) -> str:
        """Rewrite an origin URL; a relative URL is resolved against the gateway's base."""
        if url.startswith(self.upstream_base):
            return self.public_base + url[len(self.upstream_base) :]
        if url.startswith("/"):
            return self.public_base + url
        return url

    def path_of(self, url: str) -> str | None:
        """The resource path under the DICOMweb root, for URLs that point at the origin or the gateway."""
        for base in (self.upstream_base, self.public_base):
            if url.startswith(base + "/"):
                return url[len(base) :]
        return None


class StreamingReplace:
    """Replace every occurrence of `old` by `new` in a byte stream, wherever chunks happen to split.

    It holds back at most len(old) - 1 bytes between chunks, so memory stays flat.
    """

    def __init__(self, old: bytes, new: bytes) -> None:
        self._old, self._new = old, new
        self._tail = b""

    def feed(self, chunk: bytes) -> bytes:
        data = self._tail + chunk
        # A match starting before `safe_end` lies wholly inside `data`; later ones may still be arriving.
        safe_end = len(data) - len(self._old) + 1
        out: list[bytes] = []
        pos = 0
        while (found := data.find(self._old, pos)) != -1 and found < safe_end:
            out += (data[pos:found], self._new)
            pos = found + len(self._old)
        cut = max(pos, safe_end)
        out.append(data[pos:cut])
        self._tail = data[cut:]
        return b"".join(out)

    def flush(self) -> bytes:
        tail, self._tail = self._tail, b""
        return tail
