"""The Store Instances Response Module (PS3.18 Annex I) as the STOW-RS caller sees it.

The origin's answer is rebuilt from an allow-list, in the UIDs the caller sent and with the gateway's URLs, and
the gateway's own refusals are merged in. The status follows PS3.18 Table 10.5.3-1: 200 all stored, 202 some,
409 none (400 when no part was a readable instance).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import orjson
from aiohttp import web

from gateway.core.dicom import JsonObject, first_text
from gateway.core.pseudonyms.model import IdKind, Mappings
from gateway.core.stow import CANNOT_UNDERSTAND, Refusal
from gateway.errors import BadRequest, MappingMissing, UpstreamProtocolError
from gateway.web.view import View

log = logging.getLogger("gateway.store")

RETRIEVE_URL, FAILED, REFERENCED, OTHER_FAILURES = "00081190", "00081198", "00081199", "0008119A"
CLASS, INSTANCE, FAILURE_REASON, WARNING_REASON = "00081150", "00081155", "00081197", "00081196"
_MAX_WARNINGS = 20


@dataclass(frozen=True)
class Failure:
    number: int  # the part's position in the request, from 1
    sop_class: str
    instance: str  # as the caller sent it
    refusal: Refusal


class Upload(Protocol):
    """What the answer needs to know of the upload that produced it."""

    view: View
    failures: list[Failure]
    caller_uids: dict[str, str]  # real -> as the caller sent it
    parts_seen: int


def respond(answer: JsonObject, upload: Upload) -> web.Response:
    if upload.parts_seen == 0:
        raise BadRequest("the request holds no instance")
    out = _caller_answer(answer, upload)
    stored = len(out.get(REFERENCED, {}).get("Value", []))
    failed = len(out.get(FAILED, {}).get("Value", [])) + len(out.get(OTHER_FAILURES, {}).get("Value", []))
    log.info("stored", extra={"instances": stored, "count": failed})
    if stored and not failed:
        status = 200
    elif stored:
        status = 202
    elif all(f.refusal.code == CANNOT_UNDERSTAND for f in upload.failures) and failed == len(upload.failures):
        status = 400
    else:
        status = 409
    headers = [("Warning", f'299 dicomweb-gateway "part {f.number}: {f.refusal.reason}"') for f in upload.failures]
    response = web.Response(status=status, body=orjson.dumps(out), content_type="application/dicom+json")
    for name, value in headers[:_MAX_WARNINGS]:
        response.headers.add(name, value)
    return response

def _caller_answer(answer: JsonObject, upload: Upload) -> JsonObject:
    """The origin's answer in the caller's UIDs, from an allow-list; our own refusals merged in."""
    mappings = Mappings({IdKind.UID: upload.caller_uids})
    try:
        out: JsonObject = {}
        if answer.get(RETRIEVE_URL, {}).get("Value"):
            out[RETRIEVE_URL] = _url(upload.view.public_url(answer[RETRIEVE_URL]["Value"][0], mappings))
        referenced = [_item(item, mappings, WARNING_REASON, upload.view) for item in _items(answer, REFERENCED)]
        failed = [_item(item, mappings, FAILURE_REASON, upload.view) for item in _items(answer, FAILED)]
    except MappingMissing:
        raise UpstreamProtocolError("the origin's answer names an instance that was not sent") from None
    failed += [_failed_item(f) for f in upload.failures if f.instance]
    other = [{FAILURE_REASON: _us(f.refusal.code)} for f in upload.failures if not f.instance]
    for key, items in ((REFERENCED, referenced), (FAILED, failed), (OTHER_FAILURES, other)):
        if items:
            out[key] = {"vr": "SQ", "Value": items}
    return out

def _item(item: JsonObject, mappings: Mappings, reason_key: str, view: View) -> JsonObject:
    out: JsonObject = {
        CLASS: _ui(first_text(item, CLASS)),
        INSTANCE: _ui(mappings.get(IdKind.UID, first_text(item, INSTANCE))),
    }
    if item.get(RETRIEVE_URL, {}).get("Value"):
        out[RETRIEVE_URL] = _url(view.public_url(item[RETRIEVE_URL]["Value"][0], mappings))
    if item.get(reason_key, {}).get("Value"):
        out[reason_key] = {"vr": "US", "Value": list(item[reason_key]["Value"])}
    return out


def _items(answer: JsonObject, key: str) -> Iterable[JsonObject]:
    return [item for item in answer.get(key, {}).get("Value", []) if isinstance(item, dict)]


def _failed_item(failure: Failure) -> JsonObject:
    return {CLASS: _ui(failure.sop_class), INSTANCE: _ui(failure.instance), FAILURE_REASON: _us(failure.refusal.code)}


def json_object(body: bytes) -> JsonObject:
    try:
        answer = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise UpstreamProtocolError("the origin's answer is not valid JSON") from None
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]  # some origins wrap the module in an array
    if not isinstance(answer, dict):
        raise UpstreamProtocolError("the origin's answer is not a Store Instances Response")
    return answer


def _ui(value: str) -> JsonObject:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def _us(value: int) -> JsonObject:
    return {"vr": "US", "Value": [value]}


def _url(value: str) -> JsonObject:
    return {"vr": "UR", "Value": [value]}
