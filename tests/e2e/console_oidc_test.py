"""The console signs in with OIDC (authorization code and PKCE) against a local identity provider, and the
token it gets is the admin's credential; a token for another role opens nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from console_support import run_console_flow
from cryptography.hazmat.primitives.asymmetric import rsa
from support.gateway_server import ROLE_KEYS, GatewayProcess, free_port

from gateway.demo.orthanc import OrthancProcess

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
ISSUER, AUDIENCE, CLIENT = "https://sso.hospital.example/realms/imaging", "dicomweb-gateway", "gateway-console"


class Provider:
    """An identity provider reduced to the code flow with PKCE: /authorize answers at once, as for a user who is
    already signed in, and /token checks the verifier against the challenge before it signs a token."""

    def __init__(self, roles: list[str]) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.roles = roles
        self.port = free_port()
        self.issued: dict[str, dict[str, str]] = {}  # code -> what the authorize request said
        self.refused: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    def token(self) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "admin-user", "iat": now, "exp": now + 300,
                  "realm_access": {"roles": self.roles}}  # fmt: skip
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def serve(self) -> Iterator[Provider]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                code = base64.urlsafe_b64encode(hashlib.sha256(query.get("state", "").encode()).digest()).decode()
                provider.issued[code] = query
                target = query.get("redirect_uri", "") + "?" + urlencode({"code": code, "state": query.get("state")})
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()

            def do_POST(self) -> None:
                form = {
                    k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()
                }
                asked = provider.issued.pop(form.get("code", ""), {})
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                good = (asked.get("code_challenge") == challenge and asked.get("code_challenge_method") == "S256"
                        and form.get("client_id") == CLIENT == asked.get("client_id")
                        and form.get("redirect_uri") == asked.get("redirect_uri"))  # fmt: skip
                body = json.dumps({"access_token": provider.token(), "token_type": "Bearer"} if good else
                                  {"error": "invalid_grant"}).encode()  # fmt: skip
                if not good:
                    provider.refused.append(form.get("code", ""))
                self.send_response(200 if good else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()


def _gateway(tmp: Path, orthanc: OrthancProcess, provider: Provider) -> GatewayProcess:
    jwks = tmp / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    oidc = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_file": str(jwks),
            "role_map": {"gw-admin": "admin", "gw-research": "researcher"},
            "console": {"authorization_endpoint": provider.url + "/authorize",
                        "token_endpoint": provider.url + "/token", "client_id": CLIENT}}  # fmt: skip
    auth = {"api_keys": {key: role for role, key in ROLE_KEYS.items()}, "oidc": oidc}
    return GatewayProcess(tmp, upstream_url=orthanc.dicomweb_url, auth=auth).start()


@pytest.mark.parametrize(("roles", "signed_in"), [(["gw-admin"], True), (["gw-research"], False)])
def test_the_console_signs_in_with_oidc_and_pkce(
    ohif_installed: Path, orthanc: OrthancProcess, tmp_path: Path, roles: list[str], signed_in: bool
) -> None:
    provider = Provider(roles)
    for _ in provider.serve():
        gateway = _gateway(tmp_path, orthanc, provider)
        try:
            report = run_console_flow(
                ohif_installed, gateway, "console_oidc_flow", adminKey=None, expectedStatuses=[] if signed_in else [403]
            )
        finally:
            gateway.stop()
        assert provider.refused == []
        assert report["url"] == gateway.url + "/admin/"  # the code is taken out of the URL
        assert set(report["storage"]) <= {"adminToken"}  # verifier and state gone once used
        if signed_in:
            assert report["status"] == "signed in" and "researcher" in report["roles"]
        else:
            assert report["status"] == "the admin API is for the admin role only" and report["roles"] == []
