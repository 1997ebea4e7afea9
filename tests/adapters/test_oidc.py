"""OIDC bearer tokens against a locally generated RSA key pair.

In-process: the verifier's checks (signature, expiry, issuer, audience, role claim) and its JWKS cache, from a
file and from a URL. Against the real gateway process and Orthanc: a valid token reaches the data, every bad
token is 401, a token whose roles map to nothing is 403, and the API keys keep working beside OIDC.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa
from support.gateway_server import ROLE_KEYS, GatewayProcess, running_gateway

from gateway.adapters.oidc import OidcVerifier
from gateway.core.auth import ApiKeys, Authenticator
from gateway.demo.orthanc import OrthancProcess
from gateway.errors import ConfigError, Forbidden, Unauthenticated
from gateway.settings import Oidc

ISSUER = "https://sso.hospital.example/realms/imaging"
AUDIENCE = "dicomweb-gateway"
ROLE_MAP = {"imaging-research": "researcher", "imaging-clinical": "clinician"}


class KeyPair:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, *, drop: tuple[str, ...] = (), **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "f3b1c2d4-user",
            "iat": now,
            "exp": now + 300,
            "realm_access": {"roles": ["offline_access", "imaging-research"]},
            **overrides,
        }
        claims = {k: v for k, v in claims.items() if k not in drop}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def signer() -> KeyPair:
    return KeyPair("k1")


@pytest.fixture(scope="module")
def stranger() -> KeyPair:
    return KeyPair("k1")  # same key id, another key: a forged signature


def write_jwks(path: Path, *pairs: KeyPair) -> Path:
    path.write_text(json.dumps({"keys": [pair.jwk() for pair in pairs]}))
    return path


def oidc_settings(**values: Any) -> Oidc:
    return Oidc.model_validate({"issuer": ISSUER, "audience": AUDIENCE, "role_map": ROLE_MAP, **values})


@pytest.fixture
def verifier(tmp_path: Path, signer: KeyPair) -> OidcVerifier:
    return OidcVerifier(oidc_settings(jwks_file=write_jwks(tmp_path / "jwks.json", signer)))


async def test_a_valid_token_gives_the_mapped_role(verifier: OidcVerifier, signer: KeyPair) -> None:
    principal = await verifier.verify(signer.token())
    assert (principal.name, principal.role) == ("oidc:f3b1c2d4-user", "researcher")


async def test_the_first_role_map_entry_the_token_carries_decides(verifier: OidcVerifier, signer: KeyPair) -> None:
    token = signer.token(realm_access={"roles": ["imaging-clinical", "imaging-research"]})
    assert (await verifier.verify(token)).role == "researcher"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"aud": "another-client"}, "invalid"),
        ({"iss": "https://evil.example/realms/imaging"}, "invalid"),
        ({"drop": ("sub",)}, "invalid"),
        ({"drop": ("exp",)}, "invalid"),
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "no-subject", "no-expiry"],
)
async def test_a_token_failing_a_check_is_401(
    verifier: OidcVerifier, signer: KeyPair, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(Unauthenticated, match=message):
        await verifier.verify(signer.token(**claims))


async def test_a_wrong_signature_is_401(verifier: OidcVerifier, stranger: KeyPair) -> None:
    with pytest.raises(Unauthenticated, match="invalid"):
        await verifier.verify(stranger.token())


async def test_an_hmac_token_signed_with_the_public_key_is_401(verifier: OidcVerifier, signer: KeyPair) -> None:
    # The classic algorithm confusion: HS256 keyed with the (public) JWK. Only asymmetric algorithms are allowed.
    token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 60}, "k" * 32, "HS256")
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_a_token_whose_roles_map_to_nothing_is_403(verifier: OidcVerifier, signer: KeyPair) -> None:
    with pytest.raises(Forbidden):
        await verifier.verify(signer.token(realm_access={"roles": ["offline_access"]}))
    with pytest.raises(Forbidden):
        await verifier.verify(signer.token(realm_access=None))


async def test_a_configurable_claim_path_and_a_single_string_claim(tmp_path: Path, signer: KeyPair) -> None:
    settings = oidc_settings(jwks_file=write_jwks(tmp_path / "jwks.json", signer), roles_claim="gateway_role")
    assert (await OidcVerifier(settings).verify(signer.token(gateway_role="imaging-clinical"))).role == "clinician"


async def test_api_keys_are_tried_before_tokens(verifier: OidcVerifier, signer: KeyPair) -> None:
    auth = Authenticator(ApiKeys({"service-key-0123456789": "ai-service"}), verifier)
    assert (await auth.authenticate("Bearer service-key-0123456789")).role == "ai-service"
    assert (await auth.authenticate(f"Bearer {signer.token()}")).role == "researcher"
    with pytest.raises(Unauthenticated):
        await auth.authenticate("Bearer not-a-key-and-not-a-token")
    with pytest.raises(Unauthenticated):
        await Authenticator(ApiKeys({})).authenticate(f"Bearer {signer.token()}")  # OIDC not configured


def test_a_missing_or_empty_jwks_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"auth\.oidc\.jwks_file"):
        OidcVerifier(oidc_settings(jwks_file=tmp_path / "absent.json"))
    (tmp_path / "empty.json").write_text('{"keys": []}')
    with pytest.raises(ConfigError, match="no usable signing key"):
        OidcVerifier(oidc_settings(jwks_file=tmp_path / "empty.json"))


async def test_jwks_from_a_url_is_cached_and_refetched_on_an_unknown_key_id(signer: KeyPair) -> None:
    rotated = KeyPair("k2")
    served = {"keys": [signer.jwk()], "fetches": 0}

    async def jwks(request: web.Request) -> web.Response:
        served["fetches"] += 1
        return web.json_response({"keys": served["keys"]})

    app = web.Application()
    app.router.add_get("/certs", jwks)
    async with TestServer(app) as server:
        verifier = OidcVerifier(oidc_settings(jwks_url=str(server.make_url("/certs"))))
        for _ in range(3):
            await verifier.verify(signer.token())
        assert served["fetches"] == 1
        served["keys"] = [signer.jwk(), rotated.jwk()]
        with pytest.raises(Unauthenticated):  # too soon after the last fetch: no refetch storm
            await verifier.verify(rotated.token())
        verifier._keys._fetched_at -= 60  # as if a minute had passed
        assert (await verifier.verify(rotated.token())).role == "researcher"
        assert served["fetches"] == 2


# --- against the real gateway process -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oidc_gateway(
    orthanc: OrthancProcess, tmp_path_factory: pytest.TempPathFactory, signer: KeyPair
) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("oidc-gateway")
    oidc = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_file": str(write_jwks(workdir / "jwks.json", signer)),
        "role_map": ROLE_MAP,
    }
    auth = {"api_keys": {ROLE_KEYS["ai-service"]: "ai-service"}, "oidc": oidc}
    with running_gateway(workdir, orthanc.dicomweb_url, auth=auth) as process:
        yield process


def _studies(gateway: GatewayProcess, token: str) -> requests.Response:
    return requests.get(
        gateway.dicomweb_url + "/studies",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/dicom+json"},
        timeout=30,
    )


@pytest.mark.integration
def test_gateway_serves_a_valid_token_and_refuses_bad_ones(
    oidc_gateway: GatewayProcess, signer: KeyPair, stranger: KeyPair
) -> None:
    valid = _studies(oidc_gateway, signer.token())
    assert valid.status_code == 200 and len(valid.json()) >= 3
    assert all(s["00100020"]["Value"][0].startswith("RID-") for s in valid.json())  # the researcher's view
    refused = {
        "expired": _studies(oidc_gateway, signer.token(exp=int(time.time()) - 3600)),
        "wrong audience": _studies(oidc_gateway, signer.token(aud="another-client")),
        "wrong signature": _studies(oidc_gateway, stranger.token()),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 401)
    assert all(r.headers["WWW-Authenticate"].startswith("Bearer") for r in refused.values())
    unmapped = _studies(oidc_gateway, signer.token(realm_access={"roles": ["offline_access"]}))
    assert unmapped.status_code == 403
    assert _studies(oidc_gateway, ROLE_KEYS["ai-service"]).status_code == 200  # API keys stay
