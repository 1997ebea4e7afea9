"""The outer shell every request passes: request id, access log, CORS, and the error-to-status mapping.

Errors map to statuses in this one place. A client sees a status, a short public message and the request id,
never a traceback and never a value from the data.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid

import orjson
from aiohttp import web

from gateway import logs, metrics
from gateway.errors import GatewayError, Unauthenticated
from gateway.web.state import ROLE, STARTED, TRANSACTION, RequestHandler
from gateway.web.streaming import abort

log = logging.getLogger("gateway.access")



def error_response(status: int, message: str) -> web.Response:
    body = orjson.dumps({"status": status, "message": message, "requestId": logs.request_id.get()})
    response = web.Response(status=status, body=body, content_type="application/json")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="dicomweb-gateway"'
    return response


@web.middleware
async def exchange(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    # Always our own id: a client's X-Request-ID is text it chose, and it may carry an MRN.
    logs.request_id.set(uuid.uuid4().hex)
    started = time.perf_counter()
    status = 500
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        status = response.status
        return response
    except Exception as exc:
        if request.get(STARTED):
            abort(request, exc)  # the status line is out: only cutting the connection is honest
            raise
        status, response = _error(exc)
        return response
    finally:
        transaction, role, seconds = _route(request), request.get(ROLE, "-"), time.perf_counter() - started
        metrics.request_done(transaction, role, status, seconds, _body_bytes(response))
        log.info(
            "request",
            extra={"transaction": transaction, "role": role, "status": status, "duration_ms": round(seconds * 1000, 2)},
        )


def _route(request: web.Request) -> str:
    """The PS3.18 transaction, else the route's own path (/healthz): never the raw path, which holds UIDs."""
    if TRANSACTION in request:
        return str(request[TRANSACTION])
    route = request.match_info.route
    return route.resource.canonical if route.resource is not None else request.method


def _body_bytes(response: web.StreamResponse | None) -> int:
    """A streamed response has been written by now; a plain one is sent after the middleware returns."""
    if response is None:
        return 0
    return response.body_length if response.prepared else response.content_length or 0


def _error(exc: Exception) -> tuple[int, web.Response]:
    """The one mapping from errors to what a client sees."""
    if isinstance(exc, GatewayError):
        return exc.status, error_response(exc.status, exc.public_message)
    if isinstance(exc, web.HTTPException):
        response = error_response(exc.status, exc.reason or "")
        if "Allow" in exc.headers:  # a 405 names the methods the resource offers (PS3.18 8.5, RFC 9110)
            response.headers["Allow"] = exc.headers["Allow"]
        return exc.status, response
    log.error("unhandled error", extra={"error": type(exc).__name__, "where": _where(exc)})
    return 500, error_response(500, "internal gateway error")


class Cors:
    """CORS for browser viewers (OHIF) served from another origin. Preflight needs no credentials."""

    def __init__(self, allow_origins: list[str]) -> None:
        self._any = "*" in allow_origins
        self._origins = frozenset(allow_origins)

    def allowed(self, origin: str | None) -> bool:
        return origin is not None and (self._any or origin in self._origins)

    @web.middleware
    async def preflight(self, request: web.Request, handler: RequestHandler) -> web.StreamResponse:
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            if not self.allowed(request.headers.get("Origin")):
                raise Unauthenticated("origin not allowed")
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                    "Access-Control-Allow-Headers": request.headers.get(
                        "Access-Control-Request-Headers", "Authorization, Accept, Content-Type"
                    ),
                    "Access-Control-Max-Age": "600",
                },
            )
        return await handler(request)

    async def on_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Runs for every response, streamed or not, just before its headers go out."""
        response.headers["X-Request-ID"] = logs.request_id.get()
        origin = request.headers.get("Origin")
        if self.allowed(origin):
            assert origin is not None
            response.headers["Access-Control-Allow-Origin"] = "*" if self._any else origin
            response.headers["Access-Control-Expose-Headers"] = "Content-Location, Location, Warning, X-Request-ID"
            if not self._any:
                response.headers["Vary"] = "Origin"


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to find a bug, and unlike the message it holds no value."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else "-"
