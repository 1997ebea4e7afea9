"""QIDO-RS for de-identifying roles: translate the query, search, de-identify, check, and page.

The gateway pages itself: withheld objects and the checks on de-identified values may drop results, so the
origin is asked for pages until one visible result more than `offset + limit` exists or the origin has no more.
That one more is what lets the answer say, as PS3.18 8.3.4.4 asks, that further results can be requested; their
number is not known without reading them all, so the Warning does not give it.
"""

from __future__ import annotations

from aiohttp import web

from gateway.adapters.upstream import JsonLimit
from gateway.core.pseudonyms.model import IdKind
from gateway.core.qido import QueryPlan, passes, plan_search, upstream_query
from gateway.core.rules.withhold import SCREEN_TAGS
from gateway.errors import BadRequest, IrreversibleScope
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.face_volumes import rule_of, visible
from gateway.web.handlers.ocr_verdicts import read_ahead
from gateway.web.view import JsonObject, View, json_response, require_json

# What the engine needs to judge a result whatever the client asked for: the patient (one pseudonym and one
# date shift per patient at every level), and modality, SOP class and burned-in flags (withholding).
_JUDGING_FIELDS = ("00100020", "00100021", "00080060", "00080061", "00080016", "00280301")
# Pixel rules match on device and image size. A search answer holds neither unless asked, and a rule that cannot
# match leaves the instance withheld from every list, though it is served masked.
_PIXEL_RULE_FIELDS = tuple(SCREEN_TAGS[keyword] for keyword in ("Manufacturer", "ManufacturerModelName", "Rows",
                                                                "Columns"))  # fmt: skip
_SERIES_FIELDS = ("0020000D", "0020000E")


async def search(exchange: Exchange, view: View) -> web.StreamResponse:
    require_json(exchange.request)
    profile = exchange.role.profile
    plan = plan_search(exchange.request.rel_url.query.items(), profile)
    warnings = [
        f"The {name} parameter is not supported. Only literal matching has been performed." for name in plan.unsupported
    ]
    # A key or a path UID this scope never issued finds nothing, exactly as a search that matches nothing
    # (the origin, too, answers an empty array for the series of a study it does not hold).
    real = await _real_keys(plan, view)
    known = await view.known_path(exchange.target)
    if real is None or known is None:
        return _answer([], warnings)
    path = known[0]
    judging = _JUDGING_FIELDS + (_PIXEL_RULE_FIELDS if profile.pixel_rules else ())
    if rule_of(exchange) is not None and not exchange.target.template.endswith("/studies"):
        judging += _SERIES_FIELDS  # whose series a result is: a head volume's series and instances are left out
    query = upstream_query(plan, real) + [("includefield", field) for field in judging]
    results = await _collect(exchange, view, path, plan, query)
    end = None if plan.limit is None else plan.offset + plan.limit
    window = results[plan.offset : end]
    view.disclose(window)  # not the results before the offset, nor the one fetched to learn that more exist
    read_ahead(exchange, [source for source, _ in window], complete=False)  # burned-in text of listed instances
    if end is not None and len(results) > end:
        warnings.append("There are additional results that can be requested.")
    return _answer([out for _, out in window], warnings)


def _answer(objects: list[JsonObject], warnings: list[str]) -> web.Response:
    # 200 with [] when nothing matched, as the origin answers and as PS3.18 now reads (CP-2473), not 204.
    response = json_response(objects)
    for text in warnings:
        response.headers.add("Warning", f'299 dicomweb-gateway "{text}"')
    return response


async def _real_keys(plan: QueryPlan, view: View) -> dict[tuple[int, IdKind], list[str]] | None:
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
    exchange: Exchange, view: View, path: str, plan: QueryPlan, query: list[tuple[str, str]]
) -> list[tuple[JsonObject, JsonObject]]:
    """(as it came, de-identified) for the visible results, in the origin's order, up to one past the window."""
    # Ask for exactly what could fill the window, plus one to learn whether further results exist; only withheld
    # or filtered results cost a further page.
    page = None if plan.limit is None else plan.offset + plan.limit + 1
    results: list[tuple[JsonObject, JsonObject]] = []
    offset = 0
    while True:
        paging = [] if page is None else [("limit", str(page)), ("offset", str(offset))]
        objects = await _fetch(exchange, path, query + paging)
        shown = await visible(exchange, objects)
        results += [pair for pair in await view.deidentify_pairs(shown) if passes(pair[1], plan.checks)]
        if page is None or len(objects) < page or len(results) >= page:
            return results
        offset += page


async def _fetch(exchange: Exchange, path: str, query: list[tuple[str, str]]) -> list[JsonObject]:
    return await upstream_of(exchange.request).get_json(path, query, limit=JsonLimit.SEARCH)
