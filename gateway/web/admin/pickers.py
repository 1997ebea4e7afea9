"""The origin as the admin sees it (real values), for the console's pickers: studies by a search text, the series
of a study, the instances of a series.

    GET /admin/origin/studies?q=TEXT&limit=N              by PatientID, AccessionNumber or PatientName (a prefix)
    GET /admin/origin/studies/{study}/series
    GET /admin/origin/studies/{study}/series/{series}/instances

Answers are small flat JSON objects of the attributes a picker shows, never the origin's DICOM JSON as such.
The search text may be a name: it goes to the ledger sealed, with the real fields (gateway.web.admin.note).
"""

from __future__ import annotations

import re

from aiohttp import web

from gateway.adapters.upstream import JsonLimit
from gateway.core.dicom import JsonObject, first_text
from gateway.core.target import path_uid
from gateway.errors import BadRequest
from gateway.web.admin.body import json_answer
from gateway.web.admin.note import note
from gateway.web.state import UPSTREAM

_MAX_Q = 64
_SEARCH_LIMIT = 50
# Wildcards and separators are the gateway's to add: a search text is matched as typed.
_QUERY_TEXT = re.compile(r"[^*?\\]{1,64}")

_STUDY = {"StudyInstanceUID": "0020000D", "PatientName": "00100010", "PatientID": "00100020",
          "IssuerOfPatientID": "00100021", "StudyDate": "00080020", "StudyDescription": "00081030",
          "AccessionNumber": "00080050", "ModalitiesInStudy": "00080061",
          "NumberOfStudyRelatedInstances": "00201208"}  # fmt: skip
_SERIES = {"SeriesInstanceUID": "0020000E", "Modality": "00080060", "SeriesNumber": "00200011",
           "SeriesDescription": "0008103E", "Manufacturer": "00080070", "ManufacturerModelName": "00081090",
           "NumberOfSeriesRelatedInstances": "00201209"}  # fmt: skip
_INSTANCE = {"SOPInstanceUID": "00080018", "SOPClassUID": "00080016", "InstanceNumber": "00200013",
             "Rows": "00280010", "Columns": "00280011", "NumberOfFrames": "00280008"}  # fmt: skip


async def studies(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()
    if not _QUERY_TEXT.fullmatch(q):
        raise BadRequest(f"q is 1 to {_MAX_Q} characters, without * ? or backslash")
    limit = request.query.get("limit", str(_SEARCH_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= 200:
        raise BadRequest("limit is an integer from 1 to 200")
    note(request, real={"asked": [q]})
    fields = [("includefield", tag) for tag in _STUDY.values()]
    found: dict[str, JsonObject] = {}
    # Three searches, each as the origin matches it; the same study found twice is listed once.
    for query in ([("PatientID", q)], [("AccessionNumber", q)], [("PatientName", f"{q}*")]):
        paging = [("limit", limit)]
        for obj in await _get(request, "/studies", query + fields + paging):
            found.setdefault(first_text(obj, "0020000D"), obj)
    listed = [_flat(obj, _STUDY) for uid, obj in found.items() if uid][: int(limit)]
    return json_answer(sorted(listed, key=lambda s: (s["PatientName"], s["StudyDate"])))


async def series(request: web.Request) -> web.Response:
    study = _uid(request, "study")
    note(request, real={"studies": [study]})
    fields = [("includefield", tag) for tag in _SERIES.values()]
    found = await _get(request, f"/studies/{study}/series", fields)
    return json_answer(sorted((_flat(obj, _SERIES) for obj in found), key=lambda s: _number(s["SeriesNumber"])))


async def instances(request: web.Request) -> web.Response:
    study, series_uid = _uid(request, "study"), _uid(request, "series")
    note(request, real={"studies": [study], "series": [series_uid]})
    fields = [("includefield", tag) for tag in _INSTANCE.values()]
    found = await _get(request, f"/studies/{study}/series/{series_uid}/instances", fields)
    return json_answer(sorted((_flat(obj, _INSTANCE) for obj in found), key=lambda i: _number(i["InstanceNumber"])))


async def _get(request: web.Request, path: str, query: list[tuple[str, str]]) -> list[JsonObject]:
    return await request.config_dict[UPSTREAM].get_json(path, query, limit=JsonLimit.SEARCH)


def _uid(request: web.Request, name: str) -> str:
    value = request.match_info[name]
    if not path_uid(value):
        raise BadRequest(f"the {name} UID in the path does not match the UID grammar (PS3.5 9.1)")
    return value


def _flat(obj: JsonObject, fields: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, tag in fields.items():
        values = obj.get(tag, {}).get("Value") or []
        if name == "PatientName":
            out[name] = str(values[0].get("Alphabetic", "")) if values and isinstance(values[0], dict) else ""
        elif name == "ModalitiesInStudy":
            out[name] = "\\".join(str(v) for v in values)
        else:
            out[name] = first_text(obj, tag)
    return out


def _number(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


ROUTES = (
    ("GET", "/origin/studies", studies, "origin.studies"),
    ("GET", "/origin/studies/{study}/series", series, "origin.series"),
    ("GET", "/origin/studies/{study}/series/{series}/instances", instances, "origin.instances"),
)
