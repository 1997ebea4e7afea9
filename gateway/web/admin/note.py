"""The ledger record of an admin action: handlers note what they touched, the gate appends one entry."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from gateway.core.auth import Principal
from gateway.core.governance.admin_actions import admin_draft
from gateway.web.state import GOVERNANCE, NOTE, PRINCIPAL


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def note(
    request: web.Request,
    *,
    scope: str = "",
    profile_version: str = "",
    real: Mapping[str, list[str]] | None = None,
    pseudonymous: Mapping[str, list[str]] | None = None,
    **detail: str,
) -> None:
    """What this admin action touched, for its ledger entry (identifiers go in the real/pseudonymous fields)."""
    request[NOTE] = {"scope": scope, "profile_version": profile_version, "real": real or {},
                     "pseudonymous": pseudonymous or {}, "detail": detail}


async def record_action(request: web.Request, principal: Principal, action: str, status: int) -> None:
    noted = request.get(NOTE, {})
    detail = {"method": request.method, "status": str(status), **noted.get("detail", {})}
    draft = admin_draft(
        principal.name,
        action,
        scope=noted.get("scope", ""),
        profile_version=noted.get("profile_version", ""),
        real=noted.get("real"),
        pseudonymous=noted.get("pseudonymous"),
        detail=detail,
    )
    await request.config_dict[GOVERNANCE].append(draft)
