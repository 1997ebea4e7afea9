"""The withdrawal feed (a contract): what a de-identifying scope must delete after opt-outs.

    GET  /withdrawals?since=CURSOR&limit=N   a signed page of the caller's scope's feed, from CURSOR (default 0)
    POST /withdrawals/ack  {"cursor": N}     the caller has deleted everything up to N
    GET  /withdrawals/key                    the public key the pages are signed with (no credentials needed)

Every role that has a scope may read its own scope's feed and no other; identity roles and the admin have
none. A page that holds entries is recorded in the ledger as delivered before it goes out, and so is every
acknowledgement, so the admin sees how far each recipient has come (gateway.core.governance.withdrawal).
"""

from __future__ import annotations

from aiohttp import web

from gateway.core.auth import Principal
from gateway.core.governance.model import LedgerEntry
from gateway.core.governance.withdrawal import FeedSigner, Page, ack_draft, delivery_draft, is_feed_entry
from gateway.core.roles import Role
from gateway.errors import BadRequest, Forbidden
from gateway.web.admin.body import json_answer, json_body
from gateway.web.state import GOVERNANCE, ROLES, TRANSACTION, authenticate

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
_SCAN = 1000  # ledger entries read per round trip while looking for the scope's


async def feed(request: web.Request) -> web.Response:
    request[TRANSACTION] = "withdrawals.feed"
    principal, role = await _recipient(request)
    since = _cursor(request.query.get("since", "0"), "since")
    limit = _cursor(request.query.get("limit", str(DEFAULT_LIMIT)), "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit is an integer from 1 to {MAX_LIMIT}")
    scope = _scope(role)
    page = Page(scope, since, limit, tuple(await _entries(request, scope, since, limit)))
    store = request.app[GOVERNANCE]
    if page.entries:  # on record before it goes out: a ledger that cannot be written gives 503, no page
        await store.append(delivery_draft(principal.name, role.name, page))
    return json_answer(FeedSigner(await store.feed_seed()).signed(page.as_dict()))


async def acknowledge(request: web.Request) -> web.Response:
    request[TRANSACTION] = "withdrawals.ack"
    principal, role = await _recipient(request)
    data = await json_body(request)
    cursor = data.get("cursor")
    if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 1:
        raise BadRequest("cursor is a positive integer from a page of this feed")
    scope = _scope(role)
    found = await request.app[GOVERNANCE].entries(after=cursor - 1, limit=1)
    if not found or found[0].seq != cursor or not is_feed_entry(found[0], scope):
        raise BadRequest("cursor is not an entry of this scope's feed")
    entry = await request.app[GOVERNANCE].append(ack_draft(principal.name, role.name, scope, cursor))
    return json_answer({"scope": scope, "acknowledged": cursor, "recorded_at": entry.body["time"]})


async def public_key(request: web.Request) -> web.Response:
    request[TRANSACTION] = "withdrawals.key"
    return json_answer(FeedSigner(await request.app[GOVERNANCE].feed_seed()).published())


async def _recipient(request: web.Request) -> tuple[Principal, Role]:
    principal = await authenticate(request)
    role = request.app[ROLES].get(principal.role)
    if role is None or role.identity or role.profile.scope is None:
        raise Forbidden("the withdrawal feed is for de-identifying roles that have a scope")
    return principal, role


def _scope(role: Role) -> str:
    assert role.profile.scope is not None
    return role.profile.scope.name


async def _entries(request: web.Request, scope: str, since: int, limit: int) -> list[LedgerEntry]:
    store = request.app[GOVERNANCE]
    found: list[LedgerEntry] = []
    after = since
    while len(found) < limit:
        batch = await store.entries(after=after, limit=_SCAN)
        found += [entry for entry in batch if is_feed_entry(entry, scope)]
        if len(batch) < _SCAN:
            break
        after = batch[-1].seq
    return found[:limit]


def _cursor(raw: str, name: str) -> int:
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"{name} is a non-negative integer")
    return int(raw)
