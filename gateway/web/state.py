"""Every piece of state the web shell keeps, typed: the application's resources and each request's facts.

Handlers reach app resources through `request.app[KEY]` (or `config_dict` in the admin sub-application) and
request facts through `request[KEY]`; both are typed keys, so there is no string key to misspell and mypy
checks every use. The de-identifying exchange's Audit travels on the Exchange (exchange.py), not here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.adapters.ocr import TesseractPool
from gateway.adapters.upstream import UpstreamClient
from gateway.core.auth import Authenticator, Principal
from gateway.core.governance.disclosure import Audit
from gateway.core.governance.oversight import Oversight
from gateway.core.governance.profiles import ProfileEditor
from gateway.core.governance.store import GovernanceStore
from gateway.core.pseudonyms.resolver import Resolver
from gateway.core.pseudonyms.store import PseudonymStore
from gateway.core.roles import RoleBook
from gateway.core.rules.burned_text import BurnedTextCache
from gateway.core.rules.face_volume import SeriesVerdictCache
from gateway.core.rules.pixel_verdict import VerdictCache
from gateway.settings import Settings
from gateway.web.hold_budget import HoldBudget
from gateway.web.ocr_jobs import OcrJobs
from gateway.web.turns import Turns

# What aiohttp calls for a request: a route handler, or the rest of the chain a middleware wraps.
RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# -- the application's resources (opened and closed by the cleanup contexts in resources.py) ----------------
SETTINGS = web.AppKey("settings", Settings)
UPSTREAM = web.AppKey("upstream", UpstreamClient)
STORE = web.AppKey("store", PseudonymStore)
RESOLVER = web.AppKey("resolver", Resolver)
GOVERNANCE = web.AppKey("governance", GovernanceStore)
OVERSIGHT = web.AppKey("oversight", Oversight)
EDITOR = web.AppKey("profile_editor", ProfileEditor)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)
ROLES = web.AppKey("roles", RoleBook)
VERDICTS = web.AppKey("pixel_verdicts", VerdictCache)
SERIES_VERDICTS = web.AppKey("series_verdicts", SeriesVerdictCache)  # head volumes (face_volumes.py)
OCR = web.AppKey("ocr", TesseractPool)  # burned-in text (burned_text.py): the process pool
BURNED_TEXT = web.AppKey("burned_text", BurnedTextCache)  # the OCR verdicts
OCR_JOBS = web.AppKey("ocr_jobs", OcrJobs)  # the reads in flight
STOW_MAX_BYTES = web.AppKey("stow_max_bytes", int)
# Whole-series metadata parsed and de-identified at once: each holds tens of MB of objects while it runs, and
# twenty viewers opening studies together took the process past 500 MB (bench_soak). The origin's answers are
# still fetched concurrently; only the parse-and-rewrite waits its turn.
METADATA_TURNS = web.AppKey("metadata_turns", Turns)
HELD_FRAMES = web.AppKey("held_frames", HoldBudget)  # frames answers held whole at once (handlers/frames.py)

# -- one request's facts ----------------------------------------------------------------------------------
TRANSACTION = web.RequestKey("transaction", str)  # the PS3.18 transaction name, for the access log and /metrics
ROLE = web.RequestKey("role", str)  # the caller's role, once authenticated
PRINCIPAL = web.RequestKey("principal", Principal)
AUDIT = web.RequestKey("audit", Audit)  # the governance side of a de-identifying exchange
STARTED = web.RequestKey("started", bool)  # the status line is out: an error can only cut the connection
NOTE = web.RequestKey("admin_note", dict[str, Any])  # what an admin action touched, for its ledger entry


async def authenticate(request: web.Request) -> Principal:
    """Who is calling (401 if nobody known); the role goes on the request for the access log."""
    principal = await request.config_dict[AUTHENTICATOR].authenticate(request.headers.get("Authorization"))
    request[ROLE] = principal.role
    request[PRINCIPAL] = principal
    return principal
