"""Which mappings keep a reverse direction.

Reversible scopes keep a reverse map for every identifier. Irreversible (anonymized) scopes keep one only
for UIDs, because the gateway must route WADO requests that carry pseudonymous UIDs back to real ones. A date
shift is never reversed: it is not an identifier, and many patients share one shift.
"""

from __future__ import annotations

from gateway.core.pseudonyms.model import IdKind, ScopeSpec
from gateway.errors import IrreversibleScope


def keeps_reverse(kind: IdKind, *, reversible: bool) -> bool:
    if kind is IdKind.DATE_SHIFT:
        return False
    return reversible or kind is IdKind.UID


def require_reverse(scope: ScopeSpec, kind: IdKind) -> None:
    """Fail before asking the store for a reverse map that, by design, does not exist."""
    if kind is IdKind.DATE_SHIFT:
        raise ValueError("date shifts have no reverse map: many patients share one shift")
    if not keeps_reverse(kind, reversible=scope.reversible):
        raise IrreversibleScope()
