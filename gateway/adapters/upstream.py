"""The one pooled client session to the origin server, and the translation of its failures.

aiohttp errors never leave this module: a refused or cut connection becomes UpstreamUnavailable (502), a
timeout UpstreamTimeout (504), an error status UpstreamStatus, a body that ends early UpstreamProtocolError.
Each translation is counted for /metrics by kind as it happens (`_failed`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from gateway import metrics
from gateway.core.dicom import JsonObject
from gateway.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)

CHUNK_SIZE = 1024 * 1024


@dataclass
class UpstreamResponse:
    status: int
    headers: CIMultiDictProxy[str]
    _raw: aiohttp.ClientResponse

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, with transport failures translated."""
        try:
            async for chunk in self._raw.content.iter_chunked(CHUNK_SIZE):
                yield chunk
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise _failed(UpstreamTimeout()) from None
        except aiohttp.ClientPayloadError:
            raise _failed(UpstreamProtocolError("the origin server cut the body short")) from None
        except aiohttp.ClientError:
            raise _failed(UpstreamUnavailable("the origin server dropped the connection")) from None

    async def read(self, limit: int) -> bytes:
        """Read a body that is small by nature (a rendered image, an error), refusing more than `limit`."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                raise _failed(UpstreamProtocolError("the origin server sent a larger body than expected"))
            parts.append(chunk)
        return b"".join(parts)


class JsonLimit(IntEnum):
    """How much DICOM JSON the gateway reads from the origin in one answer, by what the answer holds: one table,
    so that a bound is chosen by the kind of answer, never per call site."""

    PATIENT_STUDIES = 16 * 1024**2  # the studies of one patient (opt-outs)
    INSTANCE = 64 * 1024**2  # the metadata of one instance, or a series' instance list
    SEARCH = 256 * 1024**2  # one QIDO-RS page
    METADATA = 512 * 1024**2  # the metadata of a whole study or series


def json_array(body: bytes) -> list[JsonObject]:
    """The origin's DICOM JSON answer; anything else is the origin's fault, and nothing of it passes."""
    try:
        objects = orjson.loads(body) if body.strip() else []
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("the origin's answer is not valid JSON") from None
    if not isinstance(objects, list) or not all(isinstance(o, dict) for o in objects):
        raise UpstreamProtocolError("the origin's answer is not a DICOM JSON array")
    return objects


_JSON_HEADERS = {"Accept": "application/dicom+json", "Accept-Encoding": "identity"}


class UpstreamClient:
    def __init__(self, base_url: str, *, timeout_s: float, max_connections: int) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        connector = aiohttp.TCPConnector(limit=self._max_connections, keepalive_timeout=0.5)
        # auto_decompress stays on: we ask for identity anyway, and the gateway must see plain bytes.
        self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=True)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    @asynccontextmanager
    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | list[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: AsyncIterable[bytes] | bytes | None = None,
        accept_statuses: frozenset[int] = frozenset(),
    ) -> AsyncIterator[UpstreamResponse]:
        """Send one request; yield the response once its headers arrived and its status is a success."""
        assert self._session is not None, "UpstreamClient.open() was not awaited"
        try:
            raw = await self._session.request(
                method, self.url(path), params=query, headers=headers, data=body, allow_redirects=False
            )
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise _failed(UpstreamTimeout()) from None
        except aiohttp.ClientError:
            raise _failed(UpstreamUnavailable()) from None
        try:
            if raw.status >= 400 and raw.status not in accept_statuses:
                raise _failed(UpstreamStatus(raw.status))
            yield UpstreamResponse(raw.status, raw.headers, raw)
        finally:
            raw.release()

    async def get_json(
        self, path: str, query: list[tuple[str, str]] | None = None, *, limit: JsonLimit
    ) -> list[JsonObject]:
        """GET a DICOM JSON answer: the objects, [] for 204 No Content, and an error for anything else."""
        async with self.request("GET", path, query=query, headers=_JSON_HEADERS) as upstream:
            return [] if upstream.status == 204 else json_array(await upstream.read(limit))

    async def reachable(self) -> bool:
        """Any HTTP answer from the origin counts: readiness is about the connection, not a resource."""
        try:
            async with self.request("GET", "/studies", query={"limit": "1"}, accept_statuses=_ANY_ERROR):
                return True
        except (UpstreamUnavailable, UpstreamTimeout):
            return False


_ANY_ERROR = frozenset(range(400, 600))


def _failed(error: UpstreamError) -> UpstreamError:
    """Count a translated failure by kind; an error status also by class, so a 404 does not look like an outage."""
    kind = type(error).__name__
    if isinstance(error, UpstreamStatus):
        kind += f"_{error.upstream_status // 100}xx"
    metrics.upstream_error(kind)
    return error
