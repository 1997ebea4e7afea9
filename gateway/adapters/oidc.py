"""OIDC bearer tokens: verify a JWT against the provider's JWKS and map one of its claims to a gateway role.

    auth.oidc.issuer, audience     must equal the token's `iss` and be in its `aud`
    auth.oidc.jwks_file | jwks_url the provider's public keys (one of the two), cached for jwks_refresh_s
    auth.oidc.roles_claim          dotted path to the role claim, `realm_access.roles` for Keycloak realm roles
    auth.oidc.role_map             claim value -> gateway role; the first entry the token carries decides

A token that fails a check (signature, expiry, issuer, audience) is 401. A valid token whose claim maps to no
gateway role is 403: the caller is known, it just has no role here. Keys are refetched when they are older than
jwks_refresh_s, or sooner when a token names a key id the cache does not hold (rotation), at most every
`_MIN_REFETCH_S`. When a refetch fails the cached keys stay in use; with none at all, tokens are refused (401).
Neither tokens nor claims are logged: only the kind of failure.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import Any

import aiohttp
import jwt

from gateway.core.auth import Principal
from gateway.errors import ConfigError, Forbidden, Unauthenticated
from gateway.settings import Oidc

log = logging.getLogger("gateway.oidc")
_MIN_REFETCH_S = 10.0
_FETCH_TIMEOUT_S = 5.0
_JWKS_MAX_BYTES = 1024**2


class JwksCache:
    """The provider's signing keys by key id, refreshed on age or on an unknown key id."""

    def __init__(self, settings: Oidc) -> None:
        self._settings = settings
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -float("inf")
        self._lock = asyncio.Lock()
        if settings.jwks_file is not None:
            # Read once at start-up so a missing or broken file stops the gateway, naming the key.
            file, key = str(settings.jwks_file), "auth.oidc.jwks_file"
            try:
                self._keys = _parse(_read_file(settings.jwks_file))
            except OSError as exc:
                raise ConfigError(file, key, f"cannot be read ({exc.strerror})") from None
            except ValueError as exc:
                raise ConfigError(file, key, str(exc)) from None
            self._fetched_at = time.monotonic()

    async def key(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if age > self._settings.jwks_refresh_s or (kid not in self._keys and age > _MIN_REFETCH_S):
            await self._refresh()
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))  # a provider with one key may leave `kid` out
        if kid is None or kid not in self._keys:
            raise Unauthenticated("the token's signing key is unknown")
        return self._keys[kid]

    async def _refresh(self) -> None:
        async with self._lock:  # one fetch for a burst of requests, not one each
            if time.monotonic() - self._fetched_at <= _MIN_REFETCH_S:
                return
            try:
                self._keys = _parse(await self._load())
            except (OSError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
                log.warning("jwks refresh failed", extra={"error": type(exc).__name__})
            self._fetched_at = time.monotonic()  # failed or not: do not hammer the provider

    async def _load(self) -> dict[str, Any]:
        if self._settings.jwks_file is not None:
            return await asyncio.to_thread(_read_file, self._settings.jwks_file)
        assert self._settings.jwks_url is not None
        timeout = aiohttp.ClientTimeout(total=_FETCH_TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(self._settings.jwks_url, raise_for_status=True) as response,
        ):
            body = await response.content.read(_JWKS_MAX_BYTES + 1)
        if len(body) > _JWKS_MAX_BYTES:
            raise ValueError("JWKS document too large")
        return _json_object(body)


class OidcVerifier:
    def __init__(self, settings: Oidc, keys: JwksCache | None = None) -> None:
        self._settings = settings
        self._keys = keys or JwksCache(settings)

    def looks_like(self, token: str) -> bool:
        """Three dot-separated parts: a JWS compact serialization. API keys are tried first in any case."""
        return token.count(".") == 2

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
            key = await self._keys.key(header.get("kid"))
            claims = jwt.decode(
                token,
                key=key,
                algorithms=self._settings.algorithms,
                audience=self._settings.audience,
                issuer=self._settings.issuer,
                leeway=self._settings.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the bearer token has expired") from None
        except jwt.PyJWTError as exc:
            log.info("token refused", extra={"error": type(exc).__name__})
            raise Unauthenticated("invalid bearer token") from None
        return Principal(f"oidc:{claims['sub']}", self._role(claims))

    def _role(self, claims: dict[str, Any]) -> str:
        carried = _claim_values(claims, self._settings.roles_claim)
        for claim_value, role in self._settings.role_map.items():
            if claim_value in carried:
                return role
        raise Forbidden("the token carries no role this gateway knows")


def _claim_values(claims: dict[str, Any], path: str) -> set[str]:
    node: Any = claims
    for step in path.split("."):
        node = node.get(step) if isinstance(node, dict) else None
    if isinstance(node, str):
        return {node}
    return {v for v in node if isinstance(v, str)} if isinstance(node, list) else set()


def _read_file(path: Path) -> dict[str, Any]:
    return _json_object(path.read_bytes())


def _json_object(body: bytes) -> dict[str, Any]:
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("a JWKS must be a JSON object with a 'keys' array")
    return document


def _parse(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
    """Signing keys by key id; keys marked for encryption, or of a type PyJWT cannot use, are skipped."""
    keys = {}
    for number, entry in enumerate(document.get("keys") or []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[str(entry.get("kid", number))] = jwt.PyJWK(entry)
        except jwt.PyJWTError:
            log.warning("jwks key skipped", extra={"kind": str(entry.get("kty", "-"))})
    if not keys:
        raise ValueError("the JWKS holds no usable signing key")
    return keys
