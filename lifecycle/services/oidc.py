"""Optional single sign-on with an OpenID Connect provider: authorization code flow with PKCE and nonce.

Configured in ``settings.yaml`` under ``oidc`` (``issuer``, ``client_id``, ``client_secret`` or the
``PMO_OIDC_CLIENT_SECRET`` variable, optional ``redirect_uri`` (default ``<base_url>/login/oidc/callback``),
``scope``, ``label``). The provider's metadata comes from discovery
(``<issuer>/.well-known/openid-configuration``; the issuer it names must be the configured one).

The web face calls :func:`begin_login`, keeps the returned :class:`OidcStart` (state, nonce and PKCE
verifier) server-side or in a signed cookie, redirects the browser to ``start.url``, and on the
callback calls :func:`complete_login` with the ``code`` and ``state`` it received. That exchanges the
code (with the PKCE verifier) at the token endpoint, verifies the ID token's signature against the
provider's JWKS (asymmetric algorithms only: never ``none`` or a shared secret), its issuer, audience,
expiry and nonce, and signs in the *existing* user whose verified e-mail it names
(:func:`lifecycle.services.identity.login_oidc`). Every failure is one
:class:`~lifecycle.errors.AuthFailed` (the reason in the message, never the tokens); a wrong
configuration is a :class:`~lifecycle.errors.ConfigError`.

PKCE, state and nonce come from authlib; the JOSE work from joserfc (authlib's JOSE library).
"""

from __future__ import annotations

import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from lifecycle.domain.policy import Principal
from lifecycle.errors import AuthFailed, ConfigError
from lifecycle.services.context import Context
from lifecycle.services.identity import login_oidc
from lifecycle.workspace import Workspace

ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
LEEWAY_SECONDS = 60
TIMEOUT = 10


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "openid email profile"
    label: str = "single sign-on"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OidcStart:
    """What the web keeps between the redirect and the callback (never shown to anyone else)."""

    url: str
    state: str
    nonce: str
    code_verifier: str


def oidc_config(ws: Workspace) -> OidcConfig | None:
    """The workspace's OIDC settings, or None when single sign-on is not configured."""
    raw: Mapping[str, Any] = ws.settings.oidc or {}
    if not raw:
        return None
    missing = [k for k in ("issuer", "client_id") if not str(raw.get(k, "")).strip()]
    if missing:
        raise ConfigError(f"settings oidc: missing {', '.join(missing)}")
    from lifecycle.services.client_acceptance import base_url

    return OidcConfig(
        issuer=str(raw["issuer"]).rstrip("/"),
        client_id=str(raw["client_id"]),
        client_secret=ws.runtime.oidc_client_secret or str(raw.get("client_secret", "")),
        redirect_uri=str(raw.get("redirect_uri") or f"{base_url(ws)}/login/oidc/callback"),
        scope=str(raw.get("scope") or "openid email profile"),
        label=str(raw.get("label") or "single sign-on"),
    )


def _fetch_json(url: str, data: Mapping[str, str] | None = None) -> Any:
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):  # urllib would also open file: URLs
        raise ConfigError(f"the identity provider's address must be an https URL, not {url[:80]}")
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise AuthFailed(f"sign-in failed: the identity provider answered {exc.code} ({detail})") from exc
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise AuthFailed(f"sign-in failed: the identity provider cannot be reached ({exc})") from exc


def discover(ctx: Context, cfg: OidcConfig) -> ProviderMetadata:
    """The provider's metadata by discovery (kept in the context's cache)."""
    key = f"oidc.metadata:{cfg.issuer}"
    cached = ctx.cache.get(key)
    if isinstance(cached, ProviderMetadata):
        return cached
    doc = _fetch_json(cfg.issuer + "/.well-known/openid-configuration")
    if not isinstance(doc, dict) or str(doc.get("issuer", "")).rstrip("/") != cfg.issuer:
        raise ConfigError(f"the identity provider at {cfg.issuer} names another issuer: {doc.get('issuer')!r}")
    if "S256" not in (doc.get("code_challenge_methods_supported") or ["S256"]):
        raise ConfigError(f"the identity provider at {cfg.issuer} does not support PKCE with S256")
    offered = tuple(doc.get("id_token_signing_alg_values_supported") or ("RS256",))
    algorithms = tuple(a for a in offered if a in ALGORITHMS)
    if not algorithms:
        raise ConfigError(f"the identity provider signs ID tokens only with {', '.join(offered)}: not accepted")
    meta = ProviderMetadata(
        issuer=cfg.issuer,
        authorization_endpoint=str(doc["authorization_endpoint"]),
        token_endpoint=str(doc["token_endpoint"]),
        jwks_uri=str(doc["jwks_uri"]),
        algorithms=algorithms,
    )
    ctx.cache[key] = meta
    return meta


def begin_login(ctx: Context, cfg: OidcConfig | None = None, *, login_hint: str = "") -> OidcStart:
    """The authorization URL to send the browser to, with fresh state, nonce and PKCE verifier."""
    cfg = cfg or _required(ctx)
    meta = discover(ctx, cfg)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    params = [
        ("response_type", "code"),
        ("client_id", cfg.client_id),
        ("redirect_uri", cfg.redirect_uri),
        ("scope", cfg.scope),
        ("state", state),
        ("nonce", nonce),
        ("code_challenge", create_s256_code_challenge(verifier)),
        ("code_challenge_method", "S256"),
    ]
    if login_hint:
        params.append(("login_hint", login_hint))
    return OidcStart(add_params_to_uri(meta.authorization_endpoint, params), state, nonce, verifier)


def _required(ctx: Context) -> OidcConfig:
    cfg = oidc_config(ctx.workspace)
    if cfg is None:
        raise ConfigError("single sign-on is not configured (settings.yaml: oidc: issuer, client_id, client_secret)")
    return cfg


def _exchange(cfg: OidcConfig, meta: ProviderMetadata, start: OidcStart, code: str) -> str:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": cfg.redirect_uri,
        "client_id": cfg.client_id,
        "code_verifier": start.code_verifier,
    }
    if cfg.client_secret:
        form["client_secret"] = cfg.client_secret
    answer = _fetch_json(meta.token_endpoint, form)
    id_token = answer.get("id_token") if isinstance(answer, dict) else None
    if not isinstance(id_token, str) or not id_token:
        raise AuthFailed("sign-in failed: the identity provider returned no ID token")
    return id_token


def verify_id_token(ctx: Context, cfg: OidcConfig, meta: ProviderMetadata, id_token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims after checking signature (JWKS), issuer, audience, expiry and nonce."""
    keys = KeySet.import_key_set(_fetch_json(meta.jwks_uri))
    try:
        token = jwt.decode(id_token, keys, algorithms=list(meta.algorithms))
        registry = jwt.JWTClaimsRegistry(
            now=int(ctx.now().timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": meta.issuer},
            aud={"essential": True, "value": cfg.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise AuthFailed(f"sign-in failed: the ID token is not valid ({exc})") from exc
    claims: dict[str, Any] = dict(token.claims)
    return claims


def complete_login(
    ctx: Context, start: OidcStart, *, code: str, state: str, cfg: OidcConfig | None = None
) -> Principal:
    """Finish the code flow: state check, code exchange with PKCE, ID token checks, the user by e-mail."""
    cfg = cfg or _required(ctx)
    if not state or not hmac.compare_digest(state.encode(), start.state.encode()):
        raise AuthFailed("sign-in failed: the answer does not belong to this sign-in (state differs)")
    if not code:
        raise AuthFailed("sign-in failed: the identity provider sent no authorization code")
    meta = discover(ctx, cfg)
    id_token = _exchange(cfg, meta, start, code)
    claims = verify_id_token(ctx, cfg, meta, id_token, start.nonce)
    return login_oidc(ctx, claims)
