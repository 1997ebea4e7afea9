"""A role's de-identified view of the origin, for one exchange: path translation and JSON de-identification.

Everything that goes out for a de-identifying role passes through here or through the instance stream:
UIDs in the request path are mapped back to real ones (an unknown pseudonym is a 404, never a pass-through),
and every DICOM JSON object is de-identified with one store round trip per response.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson
from aiohttp import web

from gateway import metrics
from gateway.codec.media import accepts_json
from gateway.core.dicom import json_patient, json_uids
from gateway.core.governance.disclosure import Audit
from gateway.core.pseudonyms.model import IdKind, Mappings, Needs, ScopeSpec
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.rules.engine import Engine
from gateway.core.rules.object_plan import CompiledObject
from gateway.core.target import Target
from gateway.core.urls import UrlMap
from gateway.errors import DeidentificationError, NotAcceptable, NotFound, Withheld

if TYPE_CHECKING:
    from gateway.web.exchange import Exchange

T = TypeVar("T")
log = logging.getLogger("gateway.view")

RETRIEVE_URL = "00081190"
UID_SEGMENT = re.compile(r"^[0-9]+(\.[0-9]+)+$")
TURN = 32  # objects de-identified between two turns of the event loop (about 10 ms of CPU)

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class View:
    engine: Engine
    scope: ScopeSpec
    resolver: Resolver
    urls: UrlMap
    remaps_uids: bool
    audit: Audit  # who opted out (left out here) and what this response disclosed (recorded here)

    async def real_path(self, target: Target) -> str:
        return (await self.translate_path(target))[0]

    async def translate_path(self, target: Target) -> tuple[str, dict[str, str]]:
        """The upstream path of a target named with pseudonymous UIDs, and the real -> pseudonymous map used."""
        found = await self.known_path(target)
        if found is None:
            raise NotFound()  # a pseudonym this scope never issued: hide whether anything exists
        return found

    async def known_path(self, target: Target) -> tuple[str, dict[str, str]] | None:
        """As `translate_path`, None when the target names a pseudonym this scope never issued."""
        pseudonyms = list(target.uids.values())
        if not self.remaps_uids or not pseudonyms:
            return target.path, {}
        real = await self.resolver.real_values(self.scope, IdKind.UID, pseudonyms)
        if any(p not in real for p in pseudonyms):
            return None
        return target.with_uids(real).path, {real[p]: p for p in pseudonyms}

    async def deidentify_objects(self, objects: Iterable[JsonObject], *, metadata: bool = False) -> list[JsonObject]:
        """De-identify DICOM JSON objects with one resolve, all to be sent; withheld ones are left out. Metadata
        objects go through their series' template (`Engine.compiled_json`)."""
        pairs = await self.deidentify_pairs(objects, metadata=metadata)
        self.disclose(pairs)
        return [out for _, out in pairs]

    def disclose(self, pairs: Iterable[tuple[JsonObject, JsonObject]]) -> None:
        """Record (as it came, as it goes) pairs in the response's ledger entry: only what is actually sent."""
        for source, out in pairs:
            self.audit.disclosure.record(json_uids(source), json_uids(out))

    async def deidentify_pairs(
        self, objects: Iterable[JsonObject], *, metadata: bool = False
    ) -> list[tuple[JsonObject, JsonObject]]:
        """(as it came, de-identified) for each object that is not withheld; nothing is recorded yet."""
        needs = Needs()
        screened: list[tuple[JsonObject, CompiledObject | None]] = []
        withdrawn: dict[str, bool] = {}  # by patient, for this answer only: a keyed hash each, once
        async for obj in in_turns(objects):
            patient = json_patient(obj)
            if patient not in withdrawn:
                withdrawn[patient] = self.audit.withdrawn.covers(patient)
            if withdrawn[patient]:
                continue  # opted out: invisible, as if the origin had never held it
            compiled = self.engine.compiled_json(obj) if metadata else None  # most of it is the series' template's
            try:
                needs.merge(compiled.needs if compiled is not None else self.engine.needs_json(obj))
            except Withheld as exc:
                _withheld(exc)
                continue
            for url in _urls(obj):
                _url_needs(self.urls, url, needs)
            screened.append((obj, compiled))
        mappings = await self.resolver.resolve(self.scope, needs)
        return [(obj, out) async for obj, compiled in in_turns(screened)
                if (out := self._one(obj, compiled, mappings)) is not None]  # fmt: skip

    def _one(self, obj: JsonObject, compiled: CompiledObject | None, mappings: Mappings) -> JsonObject | None:
        try:
            if compiled is not None:
                out = self.engine.write_compiled_json(compiled, mappings)
            else:
                out = self.engine.apply_json(obj, mappings)
            if RETRIEVE_URL in obj:
                original = obj[RETRIEVE_URL].get("Value") or [""]
                out[RETRIEVE_URL] = {"vr": "UR", "Value": [self.public_url(original[0], mappings)]}
            _rewrite_bulk_uris(out, lambda url: self.public_url(url, mappings))
        except Withheld as exc:
            _withheld(exc)
            return None
        except DeidentificationError as exc:
            # Fail closed: an object we cannot fully process is left out, never passed on as it came.
            log.warning("object left out", extra={"error": type(exc).__name__})
            metrics.withheld("json", "unprocessable-object")
            return None
        metrics.deidentified("json")
        return out

    def public_url(self, url: str, mappings: Mappings) -> str:
        """An origin URL as the client must see it: the gateway's base and pseudonymous UIDs."""
        path = self.urls.path_of(url)
        if path is None:
            raise DeidentificationError("a URL in the origin's answer points elsewhere")
        segments = [
            mappings.get(IdKind.UID, s) if self.remaps_uids and UID_SEGMENT.match(s) else s for s in path.split("/")
        ]
        return self.urls.public_base + "/".join(segments)


async def in_turns(objects: Iterable[T], turn: int = TURN) -> AsyncIterator[T]:
    """The objects, letting the event loop run other work every `turn` of them. A series' metadata takes
    about 0.15 s of CPU to de-identify; twenty viewers opening at once held the loop for seconds, and ledger
    commits queued behind them ran past their deadline (503s in bench_soak)."""
    for index, obj in enumerate(objects, 1):
        yield obj
        if not index % turn:
            await asyncio.sleep(0)


def _withheld(exc: Withheld) -> None:
    log.info("withheld", extra={"reason": exc.reason})
    metrics.withheld("json", exc.reason)


def _url_needs(urls: UrlMap, url: str, needs: Needs) -> None:
    path = urls.path_of(url) or ""
    for segment in path.split("/"):
        if UID_SEGMENT.match(segment):
            needs.add(IdKind.UID, segment)


def _urls(obj: JsonObject) -> Iterator[str]:
    for element in obj.values():
        if not isinstance(element, dict):
            continue
        if "BulkDataURI" in element:
            yield element["BulkDataURI"]
        for item in element.get("Value", ()) if element.get("vr") in ("SQ", "UR") else ():
            if isinstance(item, dict):
                yield from _urls(item)
            elif isinstance(item, str) and element.get("vr") == "UR":
                yield item


def _rewrite_bulk_uris(obj: JsonObject, rewrite: Any) -> None:
    for element in obj.values():
        if not isinstance(element, dict):
            continue
        if "BulkDataURI" in element:
            element["BulkDataURI"] = rewrite(element["BulkDataURI"])
        if element.get("vr") == "SQ":
            for item in element.get("Value", ()):
                _rewrite_bulk_uris(item, rewrite)


def json_response(objects: list[JsonObject]) -> web.Response:
    return web.Response(body=orjson.dumps(objects), content_type="application/dicom+json")


def require_json(request: web.Request) -> None:
    """De-identified searches and metadata are served as DICOM JSON only (the XML forms are not offered)."""
    for accept in (request.headers.get("Accept"), request.query.get("accept")):  # PS3.18 8.3.3.1: either
        if not accepts_json(accept):
            raise NotAcceptable("this role is served application/dicom+json only")


def own_headers(exchange: Exchange, content_type: str) -> dict[str, str]:
    """Response headers for a de-identified body: nothing of the origin's, and the client's own URL."""
    return {"Content-Type": content_type, "Content-Location": exchange.urls.public_base + exchange.upstream_path}
