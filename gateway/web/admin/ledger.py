"""Admin handlers for the ledger: browse it with filters, verify its hash chain, export it.

    GET /admin/ledger?role=&scope=&action=&from=&to=&patient=&study=&after=N&before=N&limit=M
    GET /admin/ledger/verify                 {intact, entries, bad_seq, problem, message}
    GET /admin/ledger/export?format=csv|json

The filtering is the core's (gateway.core.governance.ledger_search); finding a patient's real studies at the origin
is the shell's. A patient or study typed as a filter may be a real identifier: its ledger entry keeps it sealed.
"""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from gateway.adapters.origin import studies_of
from gateway.core.governance import admin_actions
from gateway.core.governance.admin_actions import opt_out_of
from gateway.core.governance.chain import export_csv, export_json
from gateway.core.governance.ledger_search import LedgerFilter, search, time_bound
from gateway.errors import BadRequest
from gateway.web.admin.body import json_answer
from gateway.web.admin.note import note
from gateway.web.state import GOVERNANCE, UPSTREAM

_DEFAULT_PAGE = 100
_FILTER_TEXTS = ("role", "scope", "action", "from", "to", "patient", "study")
_MAX_FILTER = 64
_SHOWN = ("role", "scope", "action", "from", "to", "after", "before", "limit")


async def browse_ledger(request: web.Request) -> web.Response:
    """Entries in order, filtered (search.py): by role, scope, action, time (from/to), a real PatientID (matched
    through the patient's studies at the origin) and a real or pseudonymous StudyInstanceUID. A page is the
    first `limit` matches after `after`, else the last `limit` before `before` (default: of the whole ledger)."""
    store = request.config_dict[GOVERNANCE]
    limit = _int_param(request, "limit", _DEFAULT_PAGE, 1, 1000)
    after, before = _optional_int(request, "after"), _optional_int(request, "before")
    wanted = await _ledger_filter(request)
    head = await store.head()
    if wanted == LedgerFilter() and before is None:  # no filter: read one page, not the whole ledger
        start = max(head.seq - limit, 0) if after is None else after
        entries = await store.entries(after=start, limit=limit)
        more = bool(start) if after is None else len(entries) == limit and entries[-1].seq < head.seq
        return json_answer({"head": head.seq, "more": more, "entries": [entry.as_dict() for entry in entries]})
    found = search(await store.entries(after=after or 0), wanted, after=after, before=before, limit=limit)
    return json_answer({"head": head.seq, "more": found.more, "entries": [entry.as_dict() for entry in found.entries]})


async def _ledger_filter(request: web.Request) -> LedgerFilter:
    query = request.query
    for name in _FILTER_TEXTS:
        if len(query.get(name, "")) > _MAX_FILTER:
            raise BadRequest(f"{name} is at most {_MAX_FILTER} characters")
    patient, study = query.get("patient", "").strip(), query.get("study", "").strip()
    # What the admin typed as a patient or a study may be a real identifier: the ledger keeps it sealed.
    asked = [value for value in (patient, study) if value]
    shown = [(name, query[name]) for name in _SHOWN if query.get(name)]  # none of them identifies anyone
    note(request, real={"asked": asked} if asked else None, query=urlencode(shown))
    studies = None
    if patient:
        studies = frozenset(await studies_of(request.config_dict[UPSTREAM], opt_out_of(patient, None)))
    return LedgerFilter(
        role=query.get("role", ""),
        scope=query.get("scope", ""),
        action=query.get("action", ""),
        since=time_bound("from", query.get("from")),
        until=time_bound("to", query.get("to")),
        patient_id=patient,
        patient_studies=studies,
        study=study,
    )


def _optional_int(request: web.Request, name: str) -> int | None:
    return _int_param(request, name, -1, 0, 2**62) if name in request.query else None


async def verify_ledger(request: web.Request) -> web.Response:
    verdict = await admin_actions.verify_ledger(request.config_dict[GOVERNANCE])
    note(request, intact=str(verdict.ok).lower())
    return json_answer(
        {
            "intact": verdict.ok,
            "entries": verdict.entries,
            "bad_seq": verdict.bad_seq,
            "problem": verdict.problem,
            "message": verdict.describe(),
        }
    )


async def export_ledger(request: web.Request) -> web.Response:
    kind = request.query.get("format", "json")
    if kind not in ("csv", "json"):
        raise BadRequest("format is csv or json")
    entries = await request.config_dict[GOVERNANCE].entries()
    note(request, format=kind)
    body = export_csv(entries) if kind == "csv" else export_json(entries)
    return web.Response(
        text=body,
        content_type="text/csv" if kind == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="ledger.{kind}"'},
    )


def _int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequest(f"{name} is an integer from {low} to {high}")
    return int(raw)


ROUTES = (
    ("GET", "/ledger", browse_ledger, "ledger.browse"),
    ("GET", "/ledger/verify", verify_ledger, "ledger.verify"),
    ("GET", "/ledger/export", export_ledger, "ledger.export"),
)
