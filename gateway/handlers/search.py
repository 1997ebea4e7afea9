"""QIDO-RS for de-identifying roles: translate the query, search, de-identify, check, and page.

The gateway pages itself: withheld objects and the checks on de-identified values may drop results, so the
origin is asked for pages until `offset + limit` visible results exist or the origin has no more.
"""

from __future__ import annotations

from aiohttp import web

from gateway.cache.errors import IrreversibleScope
from gateway.cache.model import IdKind
from gateway.errors import BadRequest
from gateway.exchange import Exchange
from gateway.handlers.common import upstream_of
from gateway.search import Plan, passes, plan_search, upstream_query
from gateway.view import JsonObject, View, json_array, json_response, require_json

MAX_QIDO_BODY = 256 * 1024**2
# What the engine needs to judge a result whatever the client asked for: the patient (one pseudonym and one
# date shift per patient at every level), and modality, SOP class and burned-in flags (withholding).
_JUDGING_FIELDS = ("00100020", "00100021", "00080060", "00080061", "00080016", "00280301")


async def search(exchange: Exchange, view: View) -> web.StreamResponse:
    require_json(exchange.request)
    profile = exchange.role.profile
    plan = plan_search(exchange.request.rel_url.query.items(), profile)
    real = await _real_keys(plan, view)
    if real is None:
        return web.Response(status=204)
    path = await view.real_path(exchange.upstream_path)
    query = upstream_query(plan, real) + [("includefield", field) for field in _JUDGING_FIELDS]
    results = await _collect(exchange, view, path, plan, query)
    window = results[plan.offset : None if plan.limit is None else plan.offset + plan.limit]
    if not window:
        return web.Response(status=204)
    return json_response(window)


async def _real_keys(plan: Plan, view: View) -> dict[tuple[int, IdKind], list[str]] | None:
    """Real values for every pseudonymous key; None when a key matches nothing this scope issued."""
    real: dict[tuple[int, IdKind], list[str]] = {}
    for (tag, kind), pseudonyms in plan.reverse.items():
        try:
            found = await view.resolver.real_values(view.scope, kind, pseudonyms)
        except IrreversibleScope:
            raise BadRequest(f"{tag:08X} cannot be searched: this role's pseudonyms are irreversible") from None
        values = [found[p] for p in pseudonyms if p in found]
        if not values:
            return None
        real[(tag, kind)] = values
    return real


async def _collect(
    exchange: Exchange, view: View, path: str, plan: Plan, query: list[tuple[str, str]]
) -> list[JsonObject]:
    wanted = None if plan.limit is None else plan.offset + plan.limit
    # Ask for exactly what could fill the window; only withheld or filtered results cost a further page.
    page = None if wanted is None else max(wanted, 1)
    results: list[JsonObject] = []
    offset = 0
    while True:
        paging = [] if page is None else [("limit", str(page)), ("offset", str(offset))]
        objects = await _fetch(exchange, path, query + paging)
        results += [o for o in await view.deidentify_objects(objects) if passes(o, plan.checks)]
        if page is None or len(objects) < page or (wanted is not None and len(results) >= wanted):
            return results
        offset += page


async def _fetch(exchange: Exchange, path: str, query: list[tuple[str, str]]) -> list[JsonObject]:
    headers = {"Accept": "application/dicom+json", "Accept-Encoding": "identity"}
    async with upstream_of(exchange.request).request("GET", path, query=query, headers=headers) as upstream:
        if upstream.status == 204:
            return []
        body = await upstream.read(MAX_QIDO_BODY)
    return json_array(body)
