"""A small OpenID Connect provider for tests, on loopback: discovery, authorize, token (PKCE), JWKS.

It signs ID tokens with an RSA key of its own (joserfc), remembers each authorization code with its
client, redirect URI, nonce and PKCE challenge, and gives a code once. ``/authorize`` signs in the
user named by ``login_hint`` (else ``default_email``) at once and redirects back, as a provider does
after its own login page. Switches let tests make it misbehave the ways a reviewer checks:
a wrong nonce, a foreign signing key, an unverified e-mail, another issuer in the token.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str
    challenge: str
    email: str


@dataclass
class Provider:
    client_id: str = "pmo-web"
    client_secret: str = "s3cret-for-tests"
    default_email: str = ""
    email_verified: bool = True
    wrong_nonce: bool = False
    foreign_key: bool = False
    token_issuer: str = ""  # a different issuer in the ID token when set
    port: int = 0
    keys: KeySet = field(default_factory=lambda: KeySet([RSAKey.generate_key(2048, parameters={"kid": "k1"})]))
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }

    # ------------------------------------------------------------ endpoints
    def authorize(self, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return 400, {}, b"unknown client or response type"
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return 400, {}, b"PKCE with S256 is required"
        code = secrets.token_urlsafe(24)
        email = q.get("login_hint") or self.default_email
        self.grants[code] = Grant(q["client_id"], q["redirect_uri"], q.get("nonce", ""), q["code_challenge"], email)
        back = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q.get("state", "")})
        return 302, {"Location": back}, b""

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        self.token_requests.append(form)
        grant = self.grants.pop(form.get("code", ""), None)  # a code works once
        if grant is None or form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "invalid_grant"})
        if form.get("client_id") != grant.client_id or form.get("client_secret") != self.client_secret:
            return _json(401, {"error": "invalid_client"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant", "error_description": "redirect_uri differs"})
        verifier = form.get("code_verifier", "")
        digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if not verifier or digest != grant.challenge:
            return _json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
        now = int(time.time())
        claims = {
            "iss": self.token_issuer or self.issuer,
            "sub": "sub-" + hashlib.sha256(grant.email.encode()).hexdigest()[:12],
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": "not-the-nonce" if self.wrong_nonce else grant.nonce,
            "email": grant.email,
            "email_verified": self.email_verified,
        }
        keys = KeySet([RSAKey.generate_key(2048, parameters={"kid": "k1"})]) if self.foreign_key else self.keys
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, keys)
        return _json(200, {"access_token": secrets.token_urlsafe(16), "token_type": "Bearer", "id_token": id_token})

    # ------------------------------------------------------------ server
    def start(self) -> Provider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, answer: tuple[int, dict[str, str], bytes]) -> None:
                status, headers, body = answer
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                q = dict(urllib.parse.parse_qsl(url.query))
                if url.path == "/.well-known/openid-configuration":
                    self._send(_json(200, provider.metadata()))
                elif url.path == "/jwks":
                    self._send(_json(200, provider.keys.as_dict(private=False)))
                elif url.path == "/authorize":
                    self._send(provider.authorize(q))
                else:
                    self._send((404, {}, b"not found"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                if urllib.parse.urlsplit(self.path).path == "/token":
                    self._send(provider.token(form))
                else:
                    self._send((404, {}, b"not found"))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _json(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()
