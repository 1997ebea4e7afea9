"""Errors of the pseudonym store that belong in the gateway's tree (see gateway.errors).

GatewayError
├── StoreUnavailable       503, raised by every store adapter for any backend failure or timeout
├── IrreversibleScope      409, a reverse lookup a scope does not allow
├── KeyMismatch            503, a wrapped key or sealed value that the secret does not open
└── PseudonymsExhausted    503, every candidate pseudonym of a value is taken (the scheme is too short)
"""

from __future__ import annotations

from gateway.errors import GatewayError


class IrreversibleScope(GatewayError):
    """An anonymized (irreversible) scope keeps no reverse map except for UIDs, which routing needs."""

    status = 409
    public_message = "this role's pseudonyms are irreversible: they cannot be mapped back to real values"


class KeyMismatch(GatewayError):
    """A wrapped key or a sealed value does not open: another secret made it, or it was altered."""

    status = 503
    public_message = "the gateway's store was sealed under another secret; check GATEWAY_SECRET"


class PseudonymsExhausted(GatewayError):
    """Every candidate of a value is another value's pseudonym: the scope's pseudonyms are too short."""

    status = 503
    public_message = "no free pseudonym is left for this scope; lengthen its pseudonym scheme"
