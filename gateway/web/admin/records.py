"""Admin handlers for the records: the page, opt-outs, and re-identification (the ledger: ledger.py)."""

from __future__ import annotations

import re
from importlib import resources
from urllib.parse import urlsplit

from aiohttp import web

from gateway.adapters.origin import holding_note, patient_objects, studies_of
from gateway.core.governance.admin_actions import opt_out_of, record_withdrawal, reidentify, scope_named
from gateway.core.governance.model import LedgerEntry, OptOut
from gateway.core.governance.withdrawal import loop_status
from gateway.core.pseudonyms.model import IdKind, Needs
from gateway.errors import NotFound, UpstreamError
from gateway.settings import OidcConsole
from gateway.web.admin.body import json_answer, json_body, text_field
from gateway.web.admin.note import note, principal_of
from gateway.web.state import GOVERNANCE, OVERSIGHT, RESOLVER, ROLES, SETTINGS, UPSTREAM

_CONSOLE = resources.files("gateway.web.admin").joinpath("console")
_ASSET = re.compile(r"[a-z_]+\.(js|css)")
_TYPES = {"js": "text/javascript", "css": "text/css"}
# The console's modules come from the gateway alone; a strict policy keeps anything else (a CDN, an injected
# script, a form posting elsewhere) out. Rendered previews are blobs of the admin API's own answers; the one
# other place the page may call is the OIDC provider's token endpoint, to finish a sign-in.
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'{}; "
        "form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
_DEFAULT_PAGE = 100
_FILTER_TEXTS = ("role", "scope", "action", "from", "to", "patient", "study")
_MAX_FILTER = 64
_SHOWN = ("role", "scope", "action", "from", "to", "after", "before", "limit")
_NO_FEED = (
    "warning: the withdrawal feed was not written, the origin could not be asked what it holds of the "
    "patient; the opt-out is in force: add it again once the origin answers"
)


async def page(request: web.Request) -> web.Response:
    return _static(request, "index.html", "text/html")


async def asset(request: web.Request) -> web.Response:
    """One of the console's own files, by a name of the allowed shape: nothing else on disk is reachable."""
    name = request.match_info["name"]
    match = _ASSET.fullmatch(name)
    if match is None or not _CONSOLE.joinpath(name).is_file():
        raise NotFound()
    return _static(request, name, _TYPES[match.group(1)])


async def sign_in(request: web.Request) -> web.Response:
    """How the console may sign in: always with a key or token; with OIDC when `auth.oidc.console` is set."""
    console = _oidc_console(request)
    return json_answer({"oidc": console.model_dump() if console is not None else None})


def _oidc_console(request: web.Request) -> OidcConsole | None:
    oidc = request.config_dict[SETTINGS].auth.oidc
    return oidc.console if oidc is not None else None


def _static(request: web.Request, name: str, content_type: str) -> web.Response:
    console = _oidc_console(request)
    token_origin = "" if console is None else " " + _origin(console.token_endpoint)
    return web.Response(text=_CONSOLE.joinpath(name).read_text(encoding="utf-8"), content_type=content_type,
                        headers={"Content-Security-Policy": _CSP.format(token_origin), "Cache-Control": "no-store",
                                 "X-Content-Type-Options": "nosniff"})


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# -- opt-outs ------------------------------------------------------------------------------------------
async def list_optouts(request: web.Request) -> web.Response:
    optouts = await request.config_dict[GOVERNANCE].optouts()
    return json_answer([_optout(o) for o in optouts])


async def add_optout(request: web.Request) -> web.Response:
    """Registers the opt-out, says how many studies of the patient the origin holds (0: a warning), and writes
    the withdrawal feed's entries: per scope, what it was given of the patient. Repeating the call after the
    origin failed writes what is still missing, never an entry twice."""
    optout = await _patient(request)
    store = request.config_dict[GOVERNANCE]
    changed = await store.add_optout(optout)
    await _in_force(request)
    try:
        objects = await patient_objects(request.config_dict[UPSTREAM], optout)
    except UpstreamError:
        answer: dict[str, object] = {
            **_optout(optout),
            "changed": changed,
            "origin_studies": None,
            "note": holding_note(None),
            "withdrawals": None,
            "withdrawals_note": _NO_FEED,
        }
        return json_answer(answer, status=201 if changed else 200)
    listed = await record_withdrawal(
        store, request.config_dict[RESOLVER], request.config_dict[ROLES], optout, objects, principal_of(request).name
    )
    held = len(objects.studies)
    answer = {
        **_optout(optout),
        "changed": changed,
        "origin_studies": held,
        "note": holding_note(held),
        "withdrawals": listed,
    }
    return json_answer(answer, status=201 if changed else 200)


async def remove_optout(request: web.Request) -> web.Response:
    optout = await _patient(request)
    changed = await request.config_dict[GOVERNANCE].remove_optout(optout)
    await _in_force(request)
    return json_answer({"PatientID": optout.patient_id, "IssuerOfPatientID": optout.issuer, "changed": changed})


async def optout_disclosures(request: web.Request) -> web.Response:
    """For a withdrawal request to recipients: per scope, the patient's pseudonym, every ledger entry that
    disclosed one of the patient's studies, and the pseudonymous UIDs given (found via the real studies)."""
    optout = await _patient(request)
    studies = await studies_of(request.config_dict[UPSTREAM], optout)
    found: dict[str, dict[str, set[str]]] = {}
    for entry in await request.config_dict[GOVERNANCE].entries():
        if entry.body.get("action") == "disclose":
            _collect(entry, set(studies), found)
    for scope_name, levels in found.items():
        levels["patients"] = await _patient_pseudonyms(request, scope_name, set(studies.values()))
    scopes = {scope: {level: sorted(values) for level, values in levels.items()} for scope, levels in found.items()}
    return json_answer(
        {
            "PatientID": optout.patient_id,
            "IssuerOfPatientID": optout.issuer,
            "studies": sorted(studies),
            "scopes": scopes,
        }
    )


async def optout_status(request: web.Request) -> web.Response:
    """The withdrawal loop of one opt-out: per scope that received the patient's data, what its feed entry
    lists, and when the scope fetched and acknowledged it."""
    optout = await _patient(request)
    store = request.config_dict[GOVERNANCE]
    rows = loop_status(await store.entries(), await store.optout_index(optout))
    return json_answer({"PatientID": optout.patient_id, "IssuerOfPatientID": optout.issuer, "withdrawals": rows})


async def _patient_pseudonyms(request: web.Request, scope_name: str, patients: set[str]) -> set[str]:
    """The pseudonyms this scope gave the patient. It disclosed the patient's studies, so they are of record."""
    try:
        scope = scope_named(request.config_dict[ROLES], scope_name)
    except NotFound:
        return set()  # a scope no role uses any more: its disclosures are listed, its pseudonym is not at hand
    mappings = await request.config_dict[RESOLVER].resolve(scope, Needs({IdKind.PATIENT: patients}))
    return {mappings.get(IdKind.PATIENT, patient) for patient in patients}


def _collect(entry: LedgerEntry, studies: set[str], found: dict[str, dict[str, set[str]]]) -> None:
    """The patient's part of one disclosure. Each level lists real and pseudonymous UIDs in the same order, so
    studies pair up; series and instances are not linked to their study in the entry, so they are taken only
    from entries that disclosed nothing but this patient's studies (a search across patients names its studies
    here, not its other objects)."""
    real, pseudo = entry.body.get("real", {}), entry.body.get("pseudonymous", {})
    disclosed = real.get("studies", [])
    if not studies & set(disclosed):
        return
    into = found.setdefault(entry.body.get("scope", ""), {"entries": set()})
    into["entries"].add(str(entry.seq))
    pairs = zip(disclosed, pseudo.get("studies", []), strict=False)
    into.setdefault("studies", set()).update(p for r, p in pairs if r in studies and p)
    if set(disclosed) <= studies:
        for level in ("series", "instances"):
            into.setdefault(level, set()).update(v for v in pseudo.get(level, []) if v)


async def _patient(request: web.Request) -> OptOut:
    data = await json_body(request)
    optout = opt_out_of(text_field(data, "PatientID"), text_field(data, "IssuerOfPatientID", required=False))
    note(request, real={"patients": [optout.key]})
    return optout


async def _in_force(request: web.Request) -> None:
    """Make the change live on this replica before answering (the others follow within refresh_s)."""
    oversight = request.config_dict[OVERSIGHT]
    oversight.invalidate()
    await oversight.current()


def _optout(optout: OptOut) -> dict[str, str]:
    return {"PatientID": optout.patient_id, "IssuerOfPatientID": optout.issuer, "added_at": optout.added_at}


# -- re-identification ---------------------------------------------------------------------------------
async def reidentify_pseudonym(request: web.Request) -> web.Response:
    data = await json_body(request)
    scope_name, pseudonym = text_field(data, "scope"), text_field(data, "pseudonym")
    # Until the store says this scope issued it, what the admin typed may be anything, a real MRN included:
    # the ledger keeps it sealed, with the real fields.
    note(request, scope=scope_name, real={"asked": [pseudonym]})
    scope = scope_named(request.config_dict[ROLES], scope_name)
    kind, real = await reidentify(request.config_dict[RESOLVER], scope, pseudonym)
    note(request, scope=scope.name, pseudonymous={"pseudonym": [pseudonym]}, real={kind.value: [real]}, kind=kind.value)
    return json_answer({"scope": scope.name, "pseudonym": pseudonym, "kind": kind.value, "real": real})


ROUTES = (
    ("GET", "/optouts", list_optouts, "optouts.list"),
    ("POST", "/optouts", add_optout, "optouts.add"),
    ("DELETE", "/optouts", remove_optout, "optouts.remove"),
    ("POST", "/optouts/disclosures", optout_disclosures, "optouts.disclosures"),
    ("POST", "/optouts/status", optout_status, "optouts.status"),
    ("POST", "/reidentify", reidentify_pseudonym, "reidentify"),
)
