"""Convert a governance store written before issue 12 (opt-outs and the ledger in clear) to the sealed layout.

Run once with the gateways stopped (`dicomweb-gateway store migrate`); until then the gateway refuses to start
on the store, and the CLI verbs refuse it too (UnmigratedStore). Nothing is lost: every opt-out withdraws the
same patients and lists the same rows, and every ledger entry keeps its seq, its hash and, in clear, its body,
so the chain verifies with the same head and the same witness. Running it again converts nothing.
"""

from __future__ import annotations

from gateway.core.governance.sealed import governance_key
from gateway.core.governance.sealing import GovernanceSeal
from gateway.core.governance.store import GovernanceBackend
from gateway.core.keys import Keyring


async def migrate(store: GovernanceBackend, keyring: Keyring) -> dict[str, int]:
    """{"optouts": n, "entries": n}: how many records of the clear layout were sealed (0 and 0 once done).
    `store` is the back end as `factory.open_for` opens it."""
    if not await store.legacy_layout():
        return {"optouts": 0, "entries": 0}
    return await store.migrate_legacy(GovernanceSeal(await governance_key(store, keyring)))
