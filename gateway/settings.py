"""The one validated settings object, built once at start-up from `conf/gateway.yaml` and the environment.

Nothing else in the gateway reads `os.environ`. Every error names the file, the key and the reason.
Relative paths (roles_dir, sqlite store paths) are resolved against the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from gateway.errors import ConfigError

ENV_OVERRIDES = {
    "GATEWAY_UPSTREAM_URL": ("upstream", "url"),
    "GATEWAY_STORE_URL": ("store", "url"),
    "GATEWAY_SECRET": ("secret",),
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Listen(_Section):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    # The base clients reach the gateway at (behind a load balancer, say). Unset: taken from each request's
    # Host header, which some clients send without the port.
    public_url: str | None = None

    @field_validator("public_url")
    @classmethod
    def _absolute(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/") if value else value


class Upstream(_Section):
    url: str = "http://127.0.0.1:8042/dicom-web"
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # Orthanc serves one connection per HTTP thread; a large idle pool starves it (see orthanc-notes).
    max_connections: Annotated[int, Field(ge=1, le=256)] = 16

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


# The store URLs the gateway opens (gateway.adapters.backends dispatches on the same table).
SQLITE_SCHEME = "sqlite"
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+sentinel", "redis+cluster")


class Store(_Section):
    url: str = "sqlite:///var/lib/dicomweb-gateway/pseudonyms.sqlite3"
    # A hung store must turn into a 503 within 1 s, overhead included.
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 0.8

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        schemes = (f"{SQLITE_SCHEME}:///", *(f"{scheme}://" for scheme in REDIS_SCHEMES))
        if not value.startswith(schemes):
            raise ValueError(f"must start with one of {', '.join(schemes)}")
        return value


# Asymmetric algorithms only: an HMAC algorithm would let anyone holding the public JWKS sign tokens.
OIDC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")


class OidcConsole(_Section):
    """The console's sign-in: the authorization code flow with PKCE, the console being a public client. The
    provider must allow this client the redirect URI `<gateway>/admin/`, and CORS on its token endpoint."""

    authorization_endpoint: str
    token_endpoint: str
    client_id: str
    scope: str = "openid"

    @field_validator("authorization_endpoint", "token_endpoint")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return value


class Oidc(_Section):
    """Bearer tokens from an OpenID Connect provider (Keycloak, Entra ID, ...), verified against its JWKS."""

    issuer: str
    audience: str
    jwks_file: Path | None = None
    jwks_url: str | None = None
    jwks_refresh_s: Annotated[float, Field(ge=10, le=86400)] = 300.0
    algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    leeway_s: Annotated[float, Field(ge=0, le=300)] = 30.0
    roles_claim: str = "realm_access.roles"  # a dotted path into the token's claims
    role_map: dict[str, str]  # claim value -> gateway role; the first entry the token carries decides
    console: OidcConsole | None = None  # sign-in for the admin console; without it the console takes a key or token

    @field_validator("algorithms")
    @classmethod
    def _asymmetric(cls, algorithms: list[str]) -> list[str]:
        unknown = [a for a in algorithms if a not in OIDC_ALGORITHMS]
        if unknown or not algorithms:
            raise ValueError(f"must be a non-empty list of {', '.join(OIDC_ALGORITHMS)}")
        return algorithms

    @field_validator("role_map")
    @classmethod
    def _some_role(cls, role_map: dict[str, str]) -> dict[str, str]:
        if not role_map:
            raise ValueError("must map at least one claim value to a gateway role")
        return role_map

    @model_validator(mode="after")
    def _one_jwks_source(self) -> Oidc:
        if (self.jwks_file is None) == (self.jwks_url is None):
            raise ValueError("set exactly one of jwks_file and jwks_url")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError("jwks_url must be an http:// or https:// URL")
        return self


class Governance(_Section):
    # The opt-out registry, the disclosure ledger and edited profiles; by default in the pseudonym store.
    url: str | None = None
    # How old this replica's view of opt-outs and edited profiles may get: withdrawals must hold within 1 s.
    refresh_s: Annotated[float, Field(gt=0, le=0.5)] = 0.25
    # Every de-identified response waits for its ledger entry, and under a burst of viewers (bench_soak: 20 at
    # once, 120 connections) group commits queue behind each other for longer than the pseudonym store's
    # 0.8 s; a ledger that has not recorded within this deadline still fails the response closed.
    timeout_s: Annotated[float, Field(gt=0, le=30)] = 3.0
    # Where this replica keeps the ledger's witness (its head, outside the store); unset, a store that lost its
    # history cannot be told from a new one.
    witness_path: Path | None = None

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        return None if value is None else Store._known_scheme(value)


class Auth(_Section):
    api_keys: dict[str, str] = Field(default_factory=dict)
    oidc: Oidc | None = None

    @field_validator("api_keys")
    @classmethod
    def _long_enough(cls, keys: dict[str, str]) -> dict[str, str]:
        for key in keys:
            if len(key) < 16:
                raise ValueError("every API key must be at least 16 characters long")
        return keys


class Cors(_Section):
    allow_origins: list[str] = Field(default_factory=list)


class Metrics(_Section):
    enabled: bool = True  # GET /metrics, without credentials: keep it off the public listener if that matters


class Limits(_Section):
    stow_max_bytes: Annotated[int, Field(gt=0)] = 2 * 1024**3


# Processes serving one port (gateway.cli.workers). Past a few dozen, the origin's threads and the store's
# connections (each worker opens its own pools) run out long before the cores do.
MAX_WORKERS = 64


class Settings(_Section):
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS)] = 1
    listen: Listen = Field(default_factory=Listen)
    upstream: Upstream = Field(default_factory=Upstream)
    store: Store = Field(default_factory=Store)
    governance: Governance = Field(default_factory=Governance)
    secret: SecretStr
    key_version: Annotated[int, Field(ge=1)] = 1
    auth: Auth = Field(default_factory=Auth)
    roles_dir: Path = Path("conf/roles")
    cors: Cors = Field(default_factory=Cors)
    limits: Limits = Field(default_factory=Limits)
    metrics: Metrics = Field(default_factory=Metrics)
    log_level: str = "INFO"
    source: str = Field(default="<defaults>", exclude=True)

    @field_validator("secret")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters of key material")
        return value


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the YAML file, apply environment overrides, and validate."""
    environ = os.environ if environ is None else environ
    raw = _read_yaml(path)
    for variable, key_path in ENV_OVERRIDES.items():
        if environ.get(variable):
            _set_path(raw, key_path, environ[variable])
    return settings_from_mapping(raw, source=str(path))


def settings_from_mapping(raw: Mapping[str, Any], *, source: str) -> Settings:
    try:
        settings = Settings.model_validate({**raw, "source": source})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "<root>"
        reason = "required, and missing" if first["type"] == "missing" else first["msg"]
        raise ConfigError(source, key, reason) from None
    _check_workers(settings)
    return settings


def _check_workers(settings: Settings) -> None:
    """Several workers are several processes: each keeps its own caches of values of record and its own view of
    the governance records, and the SQLite back ends assume one writing process (the ledger's chain above all).
    So they must share Redis, and one fixed port. Checked here, not in a model validator, to name the key."""
    if settings.workers == 1:
        return
    stores = (("store.url", settings.store.url), ("governance.url", settings.governance.url))
    for key, url in stores:
        if url is not None and url.startswith(f"{SQLITE_SCHEME}:"):
            schemes = ", ".join(f"{scheme}://" for scheme in REDIS_SCHEMES)
            reason = f"is SQLite, but workers: {settings.workers} needs a shared Redis ({schemes})"
            raise ConfigError(settings.source, key, reason)
    if settings.listen.port == 0:
        raise ConfigError(settings.source, "listen.port", "must be a fixed port when workers is more than 1")


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), "<file>", f"cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "<file>"
        raise ConfigError(str(path), where, "is not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(str(path), "<root>", "must be a mapping")
    return data


def _set_path(raw: dict[str, Any], key_path: tuple[str, ...], value: str) -> None:
    node = raw
    for key in key_path[:-1]:
        child = node.get(key)
        node[key] = child = dict(child) if isinstance(child, dict) else {}
        node = child
    node[key_path[-1]] = value
