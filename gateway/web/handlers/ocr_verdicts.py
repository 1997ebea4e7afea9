"""Burned-in text read by OCR on every pixel path: each at-risk instance read once, on its first frame, and cached.

The decision is `gateway.core.rules.burned_text`; this module gathers what it needs. The first frame is asked of
the origin rendered, at full size, as PNG (so a compressed instance is read too, and the boxes are in frame
pixels), and read by Tesseract in the process pool (`gateway.adapters.ocr`). The instance's own identifiers come
from the header the caller already holds (retrieve), or from its metadata. A verdict is kept for the profile
version, by SOP Instance UID (`BURNED_TEXT`). A timeout, an origin failure or an unreadable image withholds the
instance for this request and is not kept: the next request tries again.

Paths: retrieve asks `burned_text` for each at-risk part before rewriting it (the regions are masked in native
pixels; an encapsulated instance with regions is withheld by the engine); frames, rendered and thumbnails through
`frames.judge`. Metadata and instance searches start the reads ahead (`read_ahead`), best effort: at most
`ocr_jobs.AHEAD` reads wait, the rest are left to the request that needs them. Nothing here runs for an instance that is
not at risk (a CT): no read, no request to the origin.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable

from pydicom.dataset import Dataset

from gateway import metrics
from gateway.adapters.ocr import TesseractPool
from gateway.adapters.upstream import JsonLimit, UpstreamClient
from gateway.core.dicom import Uids
from gateway.core.rules.burned_text import BurnedText, OcrRule, judge_words
from gateway.core.rules.engine import Engine
from gateway.core.rules.withhold import json_header, needs_ocr
from gateway.core.target import path_uid
from gateway.errors import OcrFailed, OcrTimeout, UpstreamError, Withheld
from gateway.web.exchange import Exchange
from gateway.web.handlers.common import upstream_of
from gateway.web.ocr_jobs import Key
from gateway.web.state import BURNED_TEXT, OCR, OCR_JOBS
from gateway.web.view import JsonObject

log = logging.getLogger("gateway.ocr")
_IMAGE_LIMIT = 64 * 1024**2
TIMED_OUT = "ocr-timeout (7FE0,0010)"
UNJUDGED = "ocr-unjudged (7FE0,0010)"


async def burned_text(exchange: Exchange, instance_path: str, source: Dataset | JsonObject | None) -> BurnedText:
    """The OCR verdict on one at-risk instance (a real path); `source` is its header or metadata, when held."""
    app = exchange.request.app
    real = Uids.from_path(instance_path)
    if not all(path_uid(uid) for uid in (real.study, real.series, real.instance)):
        return BurnedText(withheld=Withheld(UNJUDGED))  # a path is built from UIDs of the UID grammar only
    key = (exchange.role.profile.version, real.instance)
    cached = app[BURNED_TEXT].get(key)
    if cached is not None:
        return cached
    jobs = app[OCR_JOBS]
    if jobs.get(key) is None:
        jobs.start(key, _read(exchange, key, instance_path, source))
    task = jobs.get(key)
    if task is None:  # finished between the two looks: its verdict is in the cache, or it was not kept
        cached = app[BURNED_TEXT].get(key)
        return cached if cached is not None else BurnedText(withheld=Withheld(UNJUDGED))
    return await asyncio.shield(task)  # a client that hangs up does not cancel a read others may share


def read_ahead(exchange: Exchange, objects: Iterable[JsonObject], *, complete: bool) -> None:
    """Start reading the at-risk instances of a metadata answer (`complete`: each object is the whole header) or
    of an instance search (whose results hold only some attributes: the read fetches the metadata)."""
    profile = exchange.role.profile
    if profile.withhold.ocr is None:
        return
    for obj in objects:
        if needs_ocr(profile, json_header(obj)):
            read_instance_ahead(exchange, obj, complete=complete)


def read_instance_ahead(exchange: Exchange, obj: JsonObject, *, complete: bool) -> None:
    """Start reading one instance that needs it (`needs_ocr`), unless it is read already or being read."""
    uids = [(obj.get(tag, {}).get("Value") or [None])[0] for tag in ("0020000D", "0020000E", "00080018")]
    if not all(isinstance(uid, str) and path_uid(uid) for uid in uids):
        return
    app, key = exchange.request.app, (exchange.role.profile.version, str(uids[2]))
    if app[BURNED_TEXT].get(key) is None:
        path = "/studies/{}/series/{}/instances/{}".format(*uids)
        app[OCR_JOBS].start(key, _read(exchange, key, path, obj if complete else None), ahead=True)


async def _read(exchange: Exchange, key: Key, path: str, source: Dataset | JsonObject | None) -> BurnedText:
    role, app = exchange.role, exchange.request.app
    rule = role.profile.withhold.ocr
    assert rule is not None and role.engine is not None  # only roles that read burned-in text come here
    started = time.monotonic()
    try:
        verdict = await _judged(app[OCR], upstream_of(exchange.request), role.engine, rule, path, source)
    except OcrTimeout:
        return _not_kept("timeout", TIMED_OUT, started)
    except (OcrFailed, UpstreamError, Withheld) as exc:
        log.warning("burned-in text not read", extra={"error": type(exc).__name__})
        return _not_kept("failed", UNJUDGED, started)
    app[BURNED_TEXT].put(key, verdict)
    metrics.ocr_read(verdict.outcome, time.monotonic() - started)
    log.info("burned-in text judged", extra={"outcome": verdict.outcome, "regions": len(verdict.regions)})
    return verdict


async def _judged(
    pool: TesseractPool, upstream: UpstreamClient, engine: Engine, rule: OcrRule, path: str,
    source: Dataset | JsonObject | None,
) -> BurnedText:  # fmt: skip
    if source is None:
        objects = await upstream.get_json(path + "/metadata", limit=JsonLimit.INSTANCE)
        if len(objects) != 1:
            raise Withheld(UNJUDGED)
        source = objects[0]
    identifiers, guard = engine.identifiers(source) if isinstance(source, Dataset) else engine.identifiers_json(source)
    async with upstream.request("GET", path + "/frames/1/rendered", headers={"Accept": "image/png"}) as answer:
        image = await answer.read(_IMAGE_LIMIT)
    words = await pool.read(image, rule.languages, rule.timeout_s)
    return judge_words(rule, words, identifiers, guard)



def _not_kept(outcome: str, reason: str, started: float) -> BurnedText:
    metrics.ocr_read(outcome, time.monotonic() - started)
    log.warning("burned-in text not judged", extra={"outcome": outcome})
    return BurnedText(withheld=Withheld(reason))
