"""The stages of a DICOMweb request, in the one order they run:

    authenticate -> authorize (role and profile) -> [opt-outs and edited profiles as of now -> translate the
    query -> upstream -> de-identify each part (opted-out patients left out) -> audit (one ledger entry)]

Identity roles take the pass-through handler for the bracketed stages; de-identifying roles take the
de-identifying handler for their transaction kind. A stage that fails raises; nothing "logs and carries on".
"""

from __future__ import annotations

from aiohttp import web

from gateway.core.governance.disclosure import Audit
from gateway.core.roles import Role
from gateway.core.target import Target
from gateway.core.transactions import Kind, Transaction
from gateway.core.urls import UrlMap
from gateway.web.exchange import DICOMWEB_ROOT, Exchange
from gateway.web.handlers import deidentified, identity
from gateway.web.handlers.common import upstream_of
from gateway.web.handlers.rendered import identity_thumbnail
from gateway.web.state import GOVERNANCE, OVERSIGHT, ROLES, SETTINGS, TRANSACTION, RequestHandler, authenticate


def transaction_handler(transaction: Transaction) -> RequestHandler:
    async def handle(request: web.Request) -> web.StreamResponse:
        request[TRANSACTION] = transaction.name
        principal = await authenticate(request)
        known = request.app[ROLES].get(principal.role)
        withdrawn = None
        if known is None or not known.identity:
            # Opt-outs and edited profiles as of now, BEFORE the permission check: an edit may have given the
            # role back a permission its cached profile lacks. Identity roles need no store, so they skip it.
            withdrawn = await request.app[OVERSIGHT].current()
        role = request.app[ROLES].authorize(principal.role, transaction)
        audit = None
        if not role.identity:
            assert withdrawn is not None  # roles never turn identity through an edit (the admin API refuses it)
            audit = Audit.begin(withdrawn, principal, role, transaction.name, request.app[GOVERNANCE].append)
        target = target_of(request, transaction, role)  # validated before anything goes upstream
        exchange = Exchange(request, transaction, principal, role, url_map(request), target, audit)
        if role.identity:
            if transaction.kind is Kind.THUMBNAIL:
                return await identity_thumbnail(exchange)
            return await identity.handle(exchange)
        assert audit is not None
        response = await deidentified.handle(exchange, audit)
        await audit.disclosure.seal()  # no-op when a stream sealed before its closing boundary
        return response

    return handle


def target_of(request: web.Request, transaction: Transaction, role: Role) -> Target:
    """The validated target resource; a de-identifying role names only UIDs the gateway issued, all conformant."""
    raw_path = request.rel_url.raw_path[len(DICOMWEB_ROOT) :]
    return Target.parse(transaction.path, raw_path, request.match_info, strict_uids=not role.identity)


def url_map(request: web.Request) -> UrlMap:
    public = request.app[SETTINGS].listen.public_url or f"{request.scheme}://{request.host}"
    return UrlMap(upstream_of(request).base_url, public + DICOMWEB_ROOT)
