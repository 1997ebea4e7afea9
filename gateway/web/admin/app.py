"""The admin API: an aiohttp sub-application at /admin/, for principals of the `admin` role only.

    GET    /admin/                              the console (static; it asks for the credential itself)
    GET    /admin/console/{name}                its modules and style sheet
    GET    /admin/sign-in                       how the console signs in: {oidc: null | the PKCE client's endpoints}
    GET    /admin/roles                         every role: kind, scope, stored version, profile hash
    GET    /admin/roles/{role}                  the live YAML text and its version
    POST   /admin/roles/{role}/validate         {"text"} -> compiles, or 422 {file, key, reason}
    PUT    /admin/roles/{role}                  {"text", "base_version"?} -> compile, store, swap; 422; 409
    POST   /admin/roles/{role}/preview          {StudyInstanceUID, SeriesInstanceUID, SOPInstanceUID, "text"?}
    POST   /admin/roles/{role}/form             {"text"} -> {"data"}, for the console's form (profile_form.py)
    POST   /admin/roles/{role}/yaml             {"data"} -> {"text"}
    GET    /admin/profile-schema                the choices the compiler allows, and what each option does
    GET    /admin/dictionary?prefix=            keyword completion: at most 50 keywords, with tag and VR
    GET    /admin/overview                      this process's last hour per minute (overview.py)
    POST   /admin/roles/{role}/rendered         {the same UIDs, "text"?, frame?, masked} -> image/png (images.py)
    POST   /admin/roles/{role}/with-pixel-rule  {text, match, regions} -> {text}: a drawn rule added, not stored
    GET    /admin/optouts                       the registry
    POST   /admin/optouts                       {PatientID, IssuerOfPatientID?} -> + origin_studies, note
    DELETE /admin/optouts                       {PatientID, IssuerOfPatientID?}
    POST   /admin/optouts/disclosures           {PatientID, IssuerOfPatientID?} -> what was disclosed, per scope
    GET    /admin/ledger?after=N&limit=M        entries in order (default: the last 100), filtered by role, scope,
                                               action, from, to, patient (a real PatientID), study; before=N
    GET    /admin/ledger/verify                 {intact, entries, bad_seq, problem}
    GET    /admin/ledger/export?format=csv|json
    POST   /admin/reidentify                    {scope, pseudonym} -> {kind, real}; 409 for irreversible scopes
    POST   /admin/optouts/status                {PatientID, IssuerOfPatientID?} -> the withdrawal loop, per scope
    GET    /admin/origin/studies?q=             studies by PatientID, AccessionNumber or name prefix (pickers.py)
    GET    /admin/origin/studies/{study}/series and .../series/{series}/instances, for the console's pickers

Every request past authentication is an admin action and is recorded in the ledger (action, outcome status,
and the identifiers it touched) before its response goes out; if the ledger cannot be written the admin
gets 503. Errors map to statuses in the gateway's one middleware, as on the DICOMweb routes.
"""

from __future__ import annotations

from aiohttp import web

from gateway.core.governance.admin_actions import ADMIN_ROLE
from gateway.errors import Forbidden, GatewayError
from gateway.web.admin import images, ledger, overview, pickers, profile_form, records, rules
from gateway.web.admin.note import principal_of, record_action
from gateway.web.state import TRANSACTION, RequestHandler, authenticate


def build_admin() -> web.Application:
    admin = web.Application(middlewares=[gate])
    admin.router.add_get("/", records.page, name="page")
    admin.router.add_get("/console/{name}", records.asset, name="asset")
    admin.router.add_get("/sign-in", records.sign_in, name="sign_in")
    for method, path, handler, name in (
        *rules.ROUTES,
        *profile_form.ROUTES,
        *images.ROUTES,
        *records.ROUTES,
        *ledger.ROUTES,
        *pickers.ROUTES,
        *overview.ROUTES,
    ):
        admin.router.add_route(method, path, handler, name=name)
    return admin


@web.middleware
async def gate(request: web.Request, handler: RequestHandler) -> web.StreamResponse:
    route = request.match_info.route.name or "unknown"
    request[TRANSACTION] = f"admin.{route}"
    if route in ("page", "asset", "sign_in"):
        return await handler(request)  # the console holds no data; every call it makes comes back through here
    principal = await authenticate(request)
    if principal.role != ADMIN_ROLE:
        raise Forbidden("the admin API is for the admin role only")
    try:
        response = await handler(request)
    except GatewayError as exc:
        await record_action(request, principal_of(request), f"admin.{route}", exc.status)
        raise
    await record_action(request, principal_of(request), f"admin.{route}", response.status)
    return response
