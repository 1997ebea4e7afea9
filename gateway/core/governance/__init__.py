"""Governance: who withdrew, what was disclosed to whom, and which rules each role runs.

The pure core (no aiohttp) of issue 7:

    model.py        the records: opt-outs, stored role profiles, ledger entries
    chain.py        the ledger's hash chain: sealing an entry, verifying a whole ledger, exporting it
    store.py        the protocols: GovernanceStore (the records in clear) and GovernanceBackend, which
                    sqlite.py and redis_store.py implement (one contract suite), holding no real value in clear
    sealing.py      what the back ends keep instead: opt-out indexes, sealed pairs, entries with `real` sealed
    sealed.py       SealedGovernance: the records in clear over a back end, the one place that seals and opens
    migration.py    `store migrate`: the clear layout of an earlier version, sealed without loss
    oversight.py    this replica's cached view of the records, refreshed at most `refresh_s` after a change
    disclosure.py   what one response disclosed, sealed into the ledger once, before the response completes
    profiles.py     role profiles edited at run time: compile first, then swap the RoleBook
    identifiers.py  patient keys and study/series/instance UIDs read from DICOM JSON and Part 10 headers
    witness.py      the ledger's head kept outside the store, so a store that lost entries is noticed
    origin.py       how many studies of a patient the origin holds, reported when an opt-out is added
    commands.py     the CLI verbs: optout, ledger, reidentify

The aiohttp shell (the admin sub-application and its page) lives in `gateway/web/admin/`.
"""
