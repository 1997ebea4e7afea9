"""Authentication: who is calling, and with which role.

API keys come from the settings (`auth.api_keys`: key -> role). A key is never logged; a principal is named by
a short fingerprint of its key so the ledger and the logs can tell callers apart without holding the secret.
With `auth.oidc` set, a bearer token that is no API key and looks like a JWT is verified by `gateway.adapters.oidc`
(principal `oidc:<sub>`). API keys are tried first, so services keep working whatever the identity provider does.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from gateway.errors import Unauthenticated


@dataclass(frozen=True)
class Principal:
    name: str  # "key:<fingerprint>" for API keys, "oidc:<sub>" for OIDC tokens
    role: str


def key_fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:12]


class ApiKeys:
    def __init__(self, keys: Mapping[str, str]) -> None:
        self._keys = dict(keys)

    def find(self, token: str) -> Principal | None:
        for key, role in self._keys.items():
            # Compare in constant time so a key cannot be guessed byte by byte.
            if hmac.compare_digest(key.encode(), token.encode()):
                return Principal(f"key:{key_fingerprint(key)}", role)
        return None


class TokenVerifier(Protocol):
    def looks_like(self, token: str) -> bool: ...

    async def verify(self, token: str) -> Principal: ...


class Authenticator:
    """API keys first, then the token verifier (OIDC) if one is configured."""

    def __init__(self, api_keys: ApiKeys, tokens: TokenVerifier | None = None) -> None:
        self._api_keys = api_keys
        self._tokens = tokens

    async def authenticate(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        principal = self._api_keys.find(token)
        if principal is not None:
            return principal
        if self._tokens is not None and self._tokens.looks_like(token):
            return await self._tokens.verify(token)
        raise Unauthenticated("unknown API key or token")


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("send Authorization: Bearer <API key or token>")
    return token
