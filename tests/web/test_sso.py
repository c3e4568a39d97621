"""Single sign-on through the web routes, against the loopback OpenID provider of the tests."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from tests.web.conftest import CODE, USERS, Site
from tests.web.oidc_provider import Provider


@pytest.fixture
def provider() -> Iterator[Provider]:
    p = Provider(default_email=USERS["pm"][0]).start()
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def sso_client(site: Site, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    from lifecycle.services.context import open_workspace
    from lifecycle.web.app import WebSettings, create_app

    monkeypatch.delenv("PMO_NOW")  # ID tokens are checked against the real clock the provider signs with
    monkeypatch.delenv("PMO_TODAY")
    path = site.ws / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    settings["base_url"] = "http://testserver"
    settings["oidc"] = {
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
    }
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    app = create_app(WebSettings(open_workspace(str(site.ws)), base_url="http://testserver"))
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _to_provider_and_back(client: TestClient) -> str:
    """What a browser does: /login/oidc → the provider → back to our callback; the callback's path+query."""
    go = client.get("/login/oidc")
    assert go.status_code == 303
    cookie = next(h for h in go.headers.get_list("set-cookie") if h.startswith("pmo_oidc="))
    assert "HttpOnly" in cookie and "Path=/login/oidc" in cookie
    back = httpx.get(go.headers["location"], follow_redirects=False)
    assert back.status_code == 302
    loc = urllib.parse.urlsplit(back.headers["location"])
    assert loc.path == "/login/oidc/callback"
    return f"{loc.path}?{loc.query}"


def test_sign_in_with_the_company_provider(sso_client):
    assert "Sign in with your company" in sso_client.get("/login").text
    callback = _to_provider_and_back(sso_client)
    done = sso_client.get(callback)
    assert done.status_code == 303 and done.headers["location"] == "/portfolio"
    assert CODE in sso_client.get("/portfolio").text
    assert sso_client.get(callback).status_code == 401  # an answer is used once


def test_an_answer_started_in_another_browser_is_refused(sso_client, app):
    callback = _to_provider_and_back(sso_client)
    with TestClient(app, follow_redirects=False) as victim:  # no state cookie of this sign-in
        res = victim.get(callback)
        assert res.status_code == 401 and "did not succeed" in res.text
        assert victim.get("/portfolio").status_code == 303


def test_an_unknown_e_mail_is_refused(sso_client, provider):
    provider.default_email = "stranger@nowhere.example.com"
    res = sso_client.get(_to_provider_and_back(sso_client))
    assert res.status_code == 401
    assert "pmo_session=" not in res.headers.get("set-cookie", "")
