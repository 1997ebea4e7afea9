"""Errors of the pseudonym store that belong in the gateway's tree (see gateway.errors).

GatewayError
├── StoreUnavailable       503, raised by every store adapter for any backend failure or timeout
└── IrreversibleScope      409, a reverse lookup a scope does not allow
"""

from __future__ import annotations

from gateway.errors import GatewayError


class IrreversibleScope(GatewayError):
    """An anonymized (irreversible) scope keeps no reverse map except for UIDs, which routing needs."""

    status = 409
    public_message = "this role's pseudonyms are irreversible: they cannot be mapped back to real values"
