"""Head volumes withheld on every path: each series judged once from the origin's facts, then cached.

The decision is `gateway.core.rules.face_volume`; this module gathers what it needs. A series' instance list is
asked of the origin with the judging includefields (the number of slices is a fact no single instance carries),
and, only when the answer turns on them, the anatomic region codes of one instance. Every path is built from
validated UIDs. An origin that fails while a series is judged withholds the series (not cached), never passes it.
A verdict is kept `VERDICT_AGE_S` seconds for a profile version: a series grows when instances are stored in it.

Paths: searches leave out the series and instances of a withheld series (`visible`); metadata likewise; retrieve
judges the series it names, or every series of the study it names, before the first byte (`SeriesGate`); frames,
bulk data, rendered and thumbnails ask `series_withheld` before any pixel goes out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from gateway import metrics
from gateway.adapters.upstream import JsonLimit
from gateway.core.rules.face_volume import (
    INSTANCE_FIELDS,
    VOLUME_MODALITIES,
    FaceVolumeRule,
    SeriesVerdict,
    judge_series,
    region_codes,
    series_facts,
    wants_regions,
)
from gateway.core.target import path_uid
from gateway.errors import NotFound, UpstreamError, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.state import SERIES_VERDICTS
from gateway.web.view import JsonObject

log = logging.getLogger("gateway.faces")
VERDICT_AGE_S = 300.0
CONCURRENT = 4  # series judged at once for one request
UNJUDGED = Withheld("series-unjudged (0020,000E)")
_STUDY, _SERIES, _MODALITY = "0020000D", "0020000E", "00080060"


def rule_of(exchange: Exchange) -> FaceVolumeRule | None:
    return exchange.role.profile.withhold.face_volumes


async def series_withheld(exchange: Exchange, study: str, series: str) -> Withheld | None:
    """Why this series is withheld from the role, or None when it may be served."""
    rule = rule_of(exchange)
    if rule is None:
        return None
    if not (path_uid(study) and path_uid(series)):
        return UNJUDGED
    path = f"/studies/{study}/series/{series}"
    cache = exchange.request.app[SERIES_VERDICTS]
    key = (exchange.role.profile.version, path)
    cached = cache.get(key)
    if cached is not None and time.monotonic() - cached[1] < VERDICT_AGE_S:
        return cached[0].withheld
    try:
        verdict = await _judge(exchange, rule, path)
    except UpstreamError as exc:
        log.warning("series not judged", extra={"error": type(exc).__name__})
        return UNJUDGED
    cache.put(key, (verdict, time.monotonic()))
    return verdict.withheld


async def require_served(exchange: Exchange, study: str, series: str) -> None:
    """404 for a withheld series, as for any withheld instance."""
    withheld = await series_withheld(exchange, study, series)
    if withheld is not None:
        _left_out(withheld)
        raise NotFound()


async def visible(exchange: Exchange, objects: list[JsonObject]) -> list[JsonObject]:
    """The objects (search results, metadata) that are not of a withheld series; study results stay as they are."""
    if rule_of(exchange) is None:
        return objects
    judged = await _judge_all(exchange, {key for obj in objects if (key := _series_key(obj)) is not None})
    kept = []
    for obj in objects:
        key = _series_key(obj)
        withheld = judged.get(key) if key is not None else None
        if withheld is None:
            kept.append(obj)
        else:
            _left_out(withheld)
    return kept


class SeriesGate:
    """Which series a retrieve may send: judged before the stream opens. A part of a series not judged then (one
    stored meanwhile) is left out."""

    def __init__(self, allowed: frozenset[str] | None) -> None:
        self._allowed = allowed  # None: every series (the role does not withhold head volumes)

    def check(self, series: str) -> None:
        if self._allowed is not None and series not in self._allowed:
            raise Withheld("face-volume-or-unjudged (0020,000E)")

    @classmethod
    async def for_path(cls, exchange: Exchange, real_path: str) -> SeriesGate:
        """The gate of a study, series or instance retrieve (a real path); 404 when the named series is withheld."""
        if rule_of(exchange) is None:
            return cls(None)
        segments = real_path.strip("/").split("/")
        study = segments[1]
        if len(segments) >= 4:
            await require_served(exchange, study, segments[3])
            return cls(frozenset({segments[3]}))
        listed = await upstream_of(exchange.request).get_json(
            f"/studies/{study}/series", [("includefield", _MODALITY)], limit=JsonLimit.INSTANCE
        )
        judged = await _judge_all(exchange, {key for obj in listed if (key := _series_key(obj, study)) is not None})
        every = {series for obj in listed if (series := _value(obj, _SERIES)) is not None}
        return cls(frozenset(every - {series for (_, series), withheld in judged.items() if withheld is not None}))


async def _judge_all(exchange: Exchange, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Withheld | None]:
    limit = asyncio.Semaphore(CONCURRENT)

    async def one(key: tuple[str, str]) -> Withheld | None:
        async with limit:
            return await series_withheld(exchange, *key)

    ordered = sorted(keys)
    return dict(zip(ordered, await asyncio.gather(*(one(key) for key in ordered)), strict=True))


async def _judge(exchange: Exchange, rule: FaceVolumeRule, path: str) -> SeriesVerdict:
    upstream = upstream_of(exchange.request)
    query = [("includefield", field) for field in (*INSTANCE_FIELDS, "00080018")]
    objects = await upstream.get_json(path + "/instances", query, limit=JsonLimit.INSTANCE)
    facts = series_facts(objects)
    if wants_regions(rule, facts):
        instance = _value(objects[0], "00080018") if objects else None
        if instance is None or not path_uid(instance):
            return SeriesVerdict(UNJUDGED)
        metadata = await upstream.get_json(f"{path}/instances/{instance}/metadata", limit=JsonLimit.INSTANCE)
        if len(metadata) != 1:
            return SeriesVerdict(UNJUDGED)
        facts = facts.with_regions(region_codes(metadata[0]))
    return judge_series(rule, facts)


def _series_key(obj: JsonObject, study: str | None = None) -> tuple[str, str] | None:
    """(study, series) of a series or instance result that may be a volume; None for what cannot be one."""
    series = _value(obj, _SERIES)
    if series is None:
        return None  # a study result
    modality = _value(obj, _MODALITY)
    if modality is not None and modality not in VOLUME_MODALITIES:
        return None
    return (study or _value(obj, _STUDY) or "", series)


def _value(obj: JsonObject, tag: str) -> str | None:
    element = obj.get(tag)
    values = element.get("Value") if isinstance(element, dict) else None
    first = values[0] if isinstance(values, list) and values else None
    return first.strip() if isinstance(first, str) else None



def _left_out(withheld: Withheld) -> None:
    log.info("withheld", extra={"reason": withheld.reason})
    metrics.withheld("series", withheld.reason)
