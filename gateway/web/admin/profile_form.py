"""The console's form for a role profile: the text as data and back, the choices the compiler allows, and
keyword completion from the DICOM dictionary. The browser has no YAML parser, so both directions are here.

    POST /admin/roles/{role}/form    {"text"} -> {"data"}: the YAML as a JSON object; 422 {file, key, reason}
    POST /admin/roles/{role}/yaml    {"data"} -> {"text"}: the object as YAML (comments do not survive)
    GET  /admin/profile-schema       the permissions, options (with what each does), date, UID, override and
                                     clean words, and pixel-rule match keys, from the lists the compiler uses
    GET  /admin/dictionary?prefix=   at most 50 keywords starting with the prefix, with their tag, VR and name

Neither conversion validates the profile: the form sends what it regenerated to /validate, the one compiler.
"""

from __future__ import annotations

import bisect
import re
from functools import cache
from typing import Any, get_args

import orjson
import yaml
from aiohttp import web
from pydicom.datadict import DicomDictionary

from gateway.core.governance.profiles import profile_mapping
from gateway.core.rules.actions import Option
from gateway.core.rules.schema import CleanWord, DateWord, MatchModel, OverrideWord, PermissionWord, UidWord
from gateway.errors import BadRequest, ConfigError
from gateway.web.admin.body import json_answer, json_body, text_field
from gateway.web.admin.note import note
from gateway.web.state import EDITOR, RequestHandler

DICTIONARY_LIMIT = 50
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")

# Each option in our words: what the role keeps that the basic profile would take away.
OPTIONS: dict[Option, tuple[str, str]] = {
    Option.RETAIN_SAFE_PRIVATE: ("Retain Safe Private", "keep private attributes the standard lists as safe"),
    Option.RETAIN_UIDS: ("Retain UIDs", "keep the original study, series and instance UIDs"),
    Option.RETAIN_DEVICE_IDENTITY: ("Retain Device Identity", "keep device serial numbers and station names"),
    Option.RETAIN_INSTITUTION_IDENTITY: (
        "Retain Institution Identity", "keep the names and addresses of institutions and departments"),
    Option.RETAIN_PATIENT_CHARACTERISTICS: (
        "Retain Patient Characteristics", "keep sex, age, size and weight"),
    Option.RETAIN_LONGITUDINAL_FULL_DATES: (
        "Retain Longitudinal Temporal Information with Full Dates", "keep dates and times as they are"),
    Option.RETAIN_LONGITUDINAL_MODIFIED_DATES: (
        "Retain Longitudinal Temporal Information with Modified Dates",
        "shift dates by one offset per patient, so intervals between studies hold"),
    Option.CLEAN_DESCRIPTORS: (
        "Clean Descriptors", "keep descriptions and comments, with identifying text taken out"),
    Option.CLEAN_STRUCTURED_CONTENT: (
        "Clean Structured Content", "keep report content items, with identifying values cleaned"),
    Option.CLEAN_GRAPHICS: ("Clean Graphics", "keep overlays and graphic annotations, with identifying text cleaned"),
}  # fmt: skip
DATES: dict[str, str] = {
    "keep": "as they are (needs Full Dates)",
    "shift": "shifted per patient (needs Modified Dates)",
    "year": "only the year: YYYY0101, times emptied",
    "remove": "removed",
}


async def text_to_data(request: web.Request) -> web.Response:
    role, text = request.match_info["role"], text_field(await json_body(request), "text")
    note(request, role=role)
    request.config_dict[EDITOR].current(role)  # 404 for a role that does not exist
    try:
        return json_answer({"data": profile_data(text, f"{role}.yaml")})
    except ConfigError as exc:
        return json_answer({"status": 422, "file": exc.file, "key": exc.key, "reason": exc.reason}, status=422)


async def data_to_text(request: web.Request) -> web.Response:
    role, data = request.match_info["role"], (await json_body(request)).get("data")
    note(request, role=role)
    request.config_dict[EDITOR].current(role)
    if not isinstance(data, dict):
        raise BadRequest("data is a JSON object")
    return json_answer({"text": profile_text(data)})


async def profile_schema(request: web.Request) -> web.Response:
    return json_answer(schema())


async def dictionary(request: web.Request) -> web.Response:
    prefix = request.query.get("prefix", "")
    if not _PREFIX.fullmatch(prefix):
        raise BadRequest("prefix is a keyword's first letters")
    return json_answer(keywords_starting(prefix))


def profile_data(text: str, source: str) -> dict[str, Any]:
    """The profile's YAML as a JSON-able object, or ConfigError (not YAML, not a mapping, or not JSON-able)."""
    data = profile_mapping(text, source)
    try:
        plain: dict[str, Any] = orjson.loads(orjson.dumps(data))
    except (orjson.JSONEncodeError, TypeError):
        raise ConfigError(source, "(profile)", "holds keys or values JSON cannot carry: edit the YAML") from None
    return plain


def profile_text(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


@cache
def schema() -> dict[str, object]:
    return {
        "permissions": list(get_args(PermissionWord)),
        "options": [{"name": o.value, "title": OPTIONS[o][0], "explanation": OPTIONS[o][1]} for o in Option],
        "dates": [{"word": word, "explanation": DATES[word]} for word in get_args(DateWord)],
        "uids": list(get_args(UidWord)),
        "overrides": list(get_args(OverrideWord)),
        "clean": list(get_args(CleanWord)),
        "match_keys": list(MatchModel.model_fields),
    }


def keywords_starting(prefix: str, limit: int = DICTIONARY_LIMIT) -> list[dict[str, str]]:
    """Keywords of the DICOM dictionary starting with `prefix` (any case), in order, at most `limit`."""
    index = _keywords()
    key = prefix.lower()
    start = bisect.bisect_left(index, (key,))
    found = []
    for lowered, keyword, tag, vr, name in index[start : start + limit]:
        if not lowered.startswith(key):
            break
        found.append({"keyword": keyword, "tag": f"({tag >> 16:04X},{tag & 0xFFFF:04X})", "vr": vr, "name": name})
    return found


@cache
def _keywords() -> list[tuple[str, str, int, str, str]]:
    return sorted((entry[4].lower(), entry[4], tag, entry[0], entry[2])
                  for tag, entry in DicomDictionary.items() if entry[4])  # fmt: skip


ROUTES: tuple[tuple[str, str, RequestHandler, str], ...] = (
    ("POST", "/roles/{role}/form", text_to_data, "roles.form"),
    ("POST", "/roles/{role}/yaml", data_to_text, "roles.yaml"),
    ("GET", "/profile-schema", profile_schema, "profile_schema"),
    ("GET", "/dictionary", dictionary, "dictionary"),
)
