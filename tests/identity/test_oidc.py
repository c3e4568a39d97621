"""Single sign-on: the code flow with PKCE and nonce against a real provider on loopback (tests/web/oidc_provider)."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lifecycle.errors import AuthFailed, ConfigError
from lifecycle.services import identity, oidc
from lifecycle.services.context import Context
from lifecycle.storage.memory import MemoryStore
from lifecycle.workspace import Settings, Workspace
from tests.web.oidc_provider import Provider

USER = "pat@supplier.example"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(default_email=USER).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def ctx(provider: Provider, tmp_path: Path) -> Context:
    settings = Settings(
        base_url="https://pmo.example.test",
        oidc={"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret},
    )
    c = Context(Workspace(tmp_path, settings), MemoryStore())  # type: ignore[arg-type]
    identity.create_user(c, email=USER, name="Pat Manager")
    return c


def browse(url: str) -> dict[str, str]:
    """Follow the authorization URL like a browser would, up to the redirect back to us: its query."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302, exc.read()
        location = exc.headers["Location"]
        assert location.startswith("https://pmo.example.test/login/oidc/callback?")
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    raise AssertionError("the provider did not redirect back")


def test_code_flow_with_pkce_and_nonce_signs_in_the_existing_user(ctx, provider):
    start = oidc.begin_login(ctx)
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.url).query))
    assert q["code_challenge_method"] == "S256" and q["nonce"] == start.nonce and q["state"] == start.state
    assert start.code_verifier not in start.url  # only the challenge travels through the browser
    back = browse(start.url)
    principal = oidc.complete_login(ctx, start, code=back["code"], state=back["state"])
    assert principal.email == USER and principal.auth_method == "oidc"
    assert provider.token_requests[-1]["code_verifier"] == start.code_verifier
    with pytest.raises(AuthFailed, match="400"):  # the code works once
        oidc.complete_login(ctx, start, code=back["code"], state=back["state"])


def test_a_foreign_state_is_refused_before_anything_is_exchanged(ctx, provider):
    start = oidc.begin_login(ctx)
    back = browse(start.url)
    with pytest.raises(AuthFailed, match="state"):
        oidc.complete_login(ctx, start, code=back["code"], state=oidc.begin_login(ctx).state)
    assert provider.token_requests == []


def test_a_wrong_verifier_fails_at_the_provider(ctx):
    start = oidc.begin_login(ctx)
    back = browse(start.url)
    with pytest.raises(AuthFailed, match="PKCE"):
        oidc.complete_login(ctx, replace(start, code_verifier="x" * 64), code=back["code"], state=back["state"])


@pytest.mark.parametrize(
    ("switch", "value", "message"),
    [
        ("wrong_nonce", True, "nonce"),
        ("foreign_key", True, "not valid"),
        ("token_issuer", "http://127.0.0.1:1", "iss"),
        ("email_verified", False, "verified e-mail"),
        ("default_email", "nobody@else.example", "sign-in failed"),
    ],
)
def test_every_id_token_check_refuses(ctx, provider, switch, value, message):
    setattr(provider, switch, value)
    start = oidc.begin_login(ctx)
    back = browse(start.url)
    with pytest.raises(AuthFailed, match=message):
        oidc.complete_login(ctx, start, code=back["code"], state=back["state"])


def test_discovery_must_name_the_configured_issuer(ctx, provider, tmp_path):
    bad = Settings(oidc={"issuer": provider.issuer + "/other", "client_id": "x"})
    c = Context(Workspace(tmp_path, bad), MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(AuthFailed):  # nothing answers at that path
        oidc.begin_login(c)
    c2 = Context(Workspace(tmp_path, Settings(oidc={"issuer": "file:///etc", "client_id": "x"})), MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="https"):
        oidc.begin_login(c2)
    assert oidc.oidc_config(Workspace(tmp_path, Settings())) is None
