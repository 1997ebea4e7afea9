"""Rendered images and thumbnails.

For de-identifying roles every rendered image follows its instance's verdict: withheld instances answer 404,
instances with a pixel rule are rendered at full size, masked, then scaled (`gateway.core.rules.reencoded`), and
`annotation` (which burns patient data into the image) is never sent upstream. Thumbnails are always made by
the gateway from a rendered frame of a judged instance, never taken from the origin, whose thumbnails it
cannot vouch for (and Orthanc 1.7 has none).
"""

from __future__ import annotations

import logging

from aiohttp import web

from gateway.adapters.upstream import JsonLimit, UpstreamClient
from gateway.core.rules.pixel_verdict import PixelVerdict
from gateway.core.rules.reencoded import mask_rendered, reencoded, viewport_size
from gateway.core.target import rendering_query
from gateway.errors import NotAcceptable, NotFound, UpstreamProtocolError, UpstreamStatus, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.frames import instance_path_of, judge
from gateway.web.view import View

log = logging.getLogger("gateway.rendered")
_IMAGE_LIMIT = 64 * 1024**2
THUMBNAIL_QUERY = [("viewport", "128,128")]


async def retrieve_rendered(exchange: Exchange, view: View) -> web.StreamResponse:
    path = await view.real_path(exchange.target)
    if "/instances/" not in path:
        raise NotAcceptable("this role is served rendered images per instance or frame only")
    verdict = await judge(exchange, instance_path_of(path))
    query = rendering_query(exchange.request.rel_url.query.items())
    return await render_judged(exchange, path, query, verdict)


async def retrieve_thumbnail(exchange: Exchange, view: View) -> web.StreamResponse:
    path = (await view.real_path(exchange.target)).removesuffix("/thumbnail")
    if "/instances/" in path:
        verdict = await judge(exchange, instance_path_of(path))
        return await render_judged(exchange, path + "/rendered", THUMBNAIL_QUERY, verdict)
    for instance in await _instances_middle_first(exchange, path):
        try:
            verdict = await judge(exchange, instance)
        except NotFound:
            continue
        return await render_judged(exchange, instance + "/rendered", THUMBNAIL_QUERY, verdict)
    raise NotFound()


async def render_judged(
    exchange: Exchange, path: str, query: list[tuple[str, str]], verdict: PixelVerdict
) -> web.Response:
    params = dict(query)
    kind = _media_type(exchange)
    quality = int(params["quality"]) if params.get("quality", "").isdigit() else 90
    try:
        body = await judged_image(
            upstream_of(exchange.request), path, query, verdict, media_type=kind, quality=min(quality, 100)
        )
    except Withheld as exc:
        log.info("withheld", extra={"reason": exc.reason})
        raise NotFound() from None
    return web.Response(body=body, content_type=kind)


async def judged_image(
    upstream: UpstreamClient,
    path: str,
    query: list[tuple[str, str]],
    verdict: PixelVerdict,
    *,
    media_type: str,
    quality: int = 90,
) -> bytes:
    """A rendered image as the verdict allows (or Withheld): the origin's pixels encoded again by the gateway, or
    masked first and scaled after. Either way only pixels cross: a comment or metadata segment can hold anything.
    The admin console's before/after images come from here too (gateway.web.admin.images)."""
    if verdict.plan.passthrough:
        image = (await _rendered(upstream, path, query, media_type))[0]
        return reencoded(image, media_type=media_type, quality=quality)
    full_size = [(k, v) for k, v in query if k == "window"]  # masks are in frame pixels: no viewport
    image = (await _rendered(upstream, path, full_size, "image/png"))[0]
    return mask_rendered(
        image,
        verdict.frame,
        verdict.plan.regions,
        media_type=media_type,
        viewport=viewport_size(dict(query).get("viewport")),
        quality=quality,
    )


def _media_type(exchange: Exchange) -> str:
    accept = exchange.request.headers.get("Accept", "image/jpeg")
    return next((k for k in ("image/png", "image/gif", "image/jpeg") if k in accept), "image/jpeg")


async def render(exchange: Exchange, path: str, query: list[tuple[str, str]]) -> web.Response:
    """One rendered image from the origin as it came (identity roles), JPEG unless the client asked otherwise."""
    body, content_type = await _rendered(upstream_of(exchange.request), path, query, _media_type(exchange))
    return web.Response(body=body, content_type=content_type)


async def _rendered(upstream: UpstreamClient, path: str, query: list[tuple[str, str]], kind: str) -> tuple[bytes, str]:
    async with upstream.request("GET", path, query=query, headers={"Accept": kind}) as up:
        body = await up.read(_IMAGE_LIMIT)
        content_type = up.headers.get("Content-Type", kind).split(";")[0].strip().lower()
    if not content_type.startswith("image/"):
        # A rendered resource is an image; anything else answers for another resource (DICOM, JSON): refused.
        raise UpstreamProtocolError("the origin answered a rendered request with something other than an image")
    return body, content_type


async def identity_thumbnail(exchange: Exchange) -> web.Response:
    """For identity roles: the origin's thumbnail, or a small rendered image where it has none."""
    path = exchange.upstream_path.removesuffix("/thumbnail")
    try:
        return await render(exchange, exchange.upstream_path, [])  # the origin's own thumbnail
    except UpstreamStatus as exc:
        if exc.upstream_status not in (404, 400, 501):
            raise
    return await render(exchange, path + "/rendered", THUMBNAIL_QUERY)


async def _instances_middle_first(exchange: Exchange, path: str) -> list[str]:
    """Real instance paths of a study or series, middle one first: the slice a viewer would show."""
    objects = await upstream_of(exchange.request).get_json(path + "/instances", limit=JsonLimit.INSTANCE)
    numbered = [(_number(o), _instance_path(o)) for o in objects]
    paths = [path for _, path in sorted((n, p) for n, p in numbered if p is not None)]
    middle = len(paths) // 2
    return paths[middle:] + paths[:middle][::-1]


def _first(obj: dict, tag: str) -> str | None:
    values = obj.get(tag, {}).get("Value") or [None]
    return values[0]


def _number(obj: dict) -> int:
    number = _first(obj, "00200013")
    return int(number) if number is not None else 0


def _instance_path(obj: dict) -> str | None:
    study, series, instance = (_first(obj, t) for t in ("0020000D", "0020000E", "00080018"))
    if not (study and series and instance):
        return None
    return f"/studies/{study}/series/{series}/instances/{instance}"
