"""Errors of the governance records that belong in the gateway's tree (see gateway.errors).

GatewayError
├── StoreUnavailable
│   └── GovernanceUnavailable   503, the opt-out registry, ledger or profile records cannot be read or written
├── ClientError
│   └── VersionConflict         409, a profile update based on a version that is no longer current
├── ProfileSyncFailed           503, a stored role profile does not compile here: the role is not served
└── UnmigratedStore             503, the store holds records in the clear layout of an earlier version

A governance store sealed under another secret raises gateway.core.pseudonyms.errors.KeyMismatch (503).
"""

from __future__ import annotations

from gateway.errors import ClientError, GatewayError, StoreUnavailable


class GovernanceUnavailable(StoreUnavailable):
    # Same prefix as the pseudonym store's message: by default both live in the same store.
    public_message = "the pseudonym store is unavailable (governance records)"


class VersionConflict(ClientError):
    status = 409
    public_message = "the profile changed since it was read: reload it and apply the edit again"


class ProfileSyncFailed(GatewayError):
    status = 503
    public_message = "a stored role profile does not compile on this replica"


class UnmigratedStore(GatewayError):
    """Not a StoreUnavailable: waiting does not help, and start-up refuses it instead of carrying on."""

    status = 503
    public_message = (
        "the governance store holds records in the clear layout of an earlier version: "
        "run `dicomweb-gateway store migrate` with the gateways stopped"
    )
