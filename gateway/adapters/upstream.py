"""The one pooled client session to the origin server, and the translation of its failures.

aiohttp errors never leave this module: a refused or cut connection becomes UpstreamUnavailable (502), a
timeout UpstreamTimeout (504), an error status UpstreamStatus, a body that ends early UpstreamProtocolError.
Each translation is counted for /metrics by kind as it happens (`_failed`).

Every request is also timed here, to its response headers and to its release, and its body bytes counted, under
the transaction it serves. That name comes from the caller, which knows it: the web shell binds each exchange's
transaction name from the gateway's own table (`serving`), so this module needs nothing of the web framework and
a label never comes from a URL. Requests made for no client transaction carry READINESS or ADMIN.
"""

from __future__ import annotations

import copy
import time
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import IntEnum

import aiohttp
import orjson
from multidict import CIMultiDictProxy

from gateway import metrics
from gateway.codec.json_array_stream import JsonArrayStream
from gateway.core.dicom import JsonObject
from gateway.errors import (
    UpstreamError,
    UpstreamProtocolError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnavailable,
)

CHUNK_SIZE = 1024 * 1024
# The /metrics transaction of requests that serve no DICOMweb transaction: the readiness probe, and the root
# client's own errands (the admin API's previews and opt-out counts, the CLI).
READINESS = "readiness"
ADMIN = "admin"


@dataclass
class UpstreamResponse:
    status: int
    headers: CIMultiDictProxy[str]
    _raw: aiohttp.ClientResponse
    _transaction: str
    # Tallied as the body streams (two additions a chunk) and observed once, when the request ends.
    received: int = 0
    waited: float = 0.0

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, with transport failures translated."""
        clock = time.perf_counter
        try:
            asked = clock()
            async for chunk in self._raw.content.iter_chunked(CHUNK_SIZE):
                self.waited += clock() - asked
                self.received += len(chunk)
                yield chunk
                asked = clock()  # the consumer asks for more: from here on the wait is the origin's
            self.waited += clock() - asked
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise _failed(self._transaction, UpstreamTimeout()) from None
        except aiohttp.ClientPayloadError:
            raise _failed(self._transaction, UpstreamProtocolError("the origin server cut the body short")) from None
        except aiohttp.ClientError:
            error = UpstreamUnavailable("the origin server dropped the connection")
            raise _failed(self._transaction, error) from None

    async def read(self, limit: int) -> bytes:
        """Read a body that is small by nature (a rendered image, an error), refusing more than `limit`."""
        parts: list[bytes] = []
        size = 0
        async for chunk in self.chunks():
            size += len(chunk)
            if size > limit:
                error = UpstreamProtocolError("the origin server sent a larger body than expected")
                raise _failed(self._transaction, error)
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
        self.transaction = ADMIN  # what /metrics counts this client's requests under
        self._timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def serving(self, transaction: str) -> UpstreamClient:
        """This client with its requests counted under `transaction`: one small object, the same pooled session."""
        bound = copy.copy(self)
        bound.transaction = transaction
        return bound

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
        """Send one request; yield the response once its headers arrived and its status is a success. It is timed
        to its headers and to its release; one that fails before any answer is only counted as an error."""
        assert self._session is not None, "UpstreamClient.open() was not awaited"
        started = time.perf_counter()
        try:
            raw = await self._session.request(
                method, self.url(path), params=query, headers=headers, data=body, allow_redirects=False
            )
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise _failed(self.transaction, UpstreamTimeout()) from None
        except aiohttp.ClientError:
            raise _failed(self.transaction, UpstreamUnavailable()) from None
        metrics.upstream_answered(self.transaction, raw.status, time.perf_counter() - started)
        response = UpstreamResponse(raw.status, raw.headers, raw, self.transaction)
        try:
            if raw.status >= 400 and raw.status not in accept_statuses:
                raise _failed(self.transaction, UpstreamStatus(raw.status))
            yield response
        finally:
            raw.release()
            seconds = time.perf_counter() - started
            metrics.upstream_done(self.transaction, seconds, response.waited, response.received)

    async def get_json(
        self, path: str, query: list[tuple[str, str]] | None = None, *, limit: JsonLimit
    ) -> list[JsonObject]:
        """GET a DICOM JSON answer: the objects, [] for 204 No Content, and an error for anything else."""
        return json_array(await self.get_json_body(path, query, limit=limit))

    async def get_json_body(
        self, path: str, query: list[tuple[str, str]] | None = None, *, limit: JsonLimit
    ) -> bytes:
        """As `get_json`, the body unparsed (b"" for 204): for a caller that parses it when it has room."""
        async with self.request("GET", path, query=query, headers=_JSON_HEADERS) as upstream:
            return b"" if upstream.status == 204 else await upstream.read(limit)

    async def json_object_bytes(self, path: str, *, limit: JsonLimit) -> AsyncGenerator[list[bytes], None]:
        """GET a DICOM JSON answer and yield its objects' bytes as they arrive, a chunk's worth at a time
        (nothing for 204), for `parse_object` when the caller has room: memory holds one chunk and one object,
        whatever the answer's size. A body that turns out not to be a DICOM JSON array raises
        UpstreamProtocolError where that shows, after the objects before it."""
        async with self.request("GET", path, headers=_JSON_HEADERS) as upstream:
            if upstream.status == 204:
                return
            stream = JsonArrayStream(JsonLimit.INSTANCE)
            size = 0
            async for chunk in upstream.chunks():
                size += len(chunk)
                try:
                    if size > limit:
                        raise UpstreamProtocolError("the origin sent a larger body than expected")
                    pieces = stream.feed(chunk)
                except UpstreamProtocolError as error:
                    raise _failed(self.transaction, error) from None
                if pieces:
                    yield pieces
            try:
                stream.close()
            except UpstreamProtocolError as error:
                raise _failed(self.transaction, error) from None

    async def reachable(self) -> bool:
        """Any HTTP answer from the origin counts: readiness is about the connection, not a resource."""
        try:
            async with self.serving(READINESS).request(
                "GET", "/studies", query={"limit": "1"}, accept_statuses=_ANY_ERROR
            ):
                return True
        except (UpstreamUnavailable, UpstreamTimeout):
            return False


_ANY_ERROR = frozenset(range(400, 600))


def _failed(transaction: str, error: UpstreamError) -> UpstreamError:
    """Count a translated failure by kind; an error status also by class, so a 404 does not look like an outage."""
    kind = type(error).__name__
    if isinstance(error, UpstreamStatus):
        kind += f"_{error.upstream_status // 100}xx"
    metrics.upstream_error(transaction, kind)
    return error
