"""Each protection of the web face, tested on the real app and a real SQLite workspace; each test
fails when its protection is removed."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from lifecycle.web import security
from tests.web.conftest import CODE, OTHER, PASSWORD, USERS, csrf_of, login


# ------------------------------------------------------------------ CSRF
def test_every_post_route_refuses_a_missing_or_forged_token(app, client):
    login(client, "pm")
    posts = [r.path for r in app.routes if isinstance(r, Route) and "POST" in (r.methods or ())]
    assert {"/login", "/logout", "/projects/{code}/gate/approve", "/projects/{code}/progress"} <= set(posts)
    for path in posts:
        url = path.replace("{code}", CODE).replace("{token}", "x" * 40)
        for data in ({}, {"csrf": "0" * 64}):
            res = client.post(url, data=data)
            assert res.status_code == 403, (url, data, res.status_code)
            assert "did not come from this site" in res.text


def test_a_token_from_another_session_is_refused(app, client):
    login(client, "pm")
    page = client.get(f"/projects/{CODE}/progress")
    token = csrf_of(page.text)
    with TestClient(app, follow_redirects=False) as other:
        login(other, "sponsor")  # its own csrf cookie and session
        res = other.post(f"/projects/{CODE}/progress", data={"csrf": token})
        assert res.status_code == 403


def test_csrf_compare_is_constant_time(monkeypatch):
    import hmac

    calls = []
    real = hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    from starlette.requests import Request

    req = Request({"type": "http", "headers": [(b"cookie", b"pmo_csrf=" + b"a" * 43)], "method": "POST"})
    assert not security.csrf_valid(req, b"k", "f" * 64)
    assert calls, "the CSRF token must be compared with hmac.compare_digest"


def test_a_post_from_another_origin_is_refused(client):
    login(client, "pm")
    token = csrf_of(client.get(f"/projects/{CODE}/progress").text)
    res = client.post(f"/projects/{CODE}/progress", data={"csrf": token}, headers={"origin": "https://evil.example"})
    assert res.status_code == 403
    ok = client.post(f"/projects/{CODE}/progress", data={"csrf": token}, headers={"origin": "http://testserver"})
    assert ok.status_code == 303


# ------------------------------------------------------------------ cookies and sign-in
def test_session_cookie_is_httponly_and_samesite_lax(client):
    page = client.get("/login")
    res = client.post(
        "/login", data={"email": USERS["pm"][0], "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/"}
    )
    cookie = next(h for h in res.headers.get_list("set-cookie") if h.startswith("pmo_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    csrf_cookie = next(h for h in page.headers.get_list("set-cookie") if h.startswith("pmo_csrf="))
    assert "HttpOnly" in csrf_cookie and "SameSite=strict" in csrf_cookie


def test_session_cookie_is_secure_behind_https(site):
    from lifecycle.services.context import open_workspace
    from lifecycle.web.app import WebSettings, create_app

    app = create_app(WebSettings(open_workspace(str(site.ws)), base_url="https://pmo.example.com"))
    with TestClient(app, base_url="https://pmo.example.com", follow_redirects=False) as c:
        page = c.get("/login")
        res = c.post(
            "/login",
            data={"email": USERS["pm"][0], "password": PASSWORD, "csrf": csrf_of(page.text), "next": "/"},
            headers={"origin": "https://pmo.example.com"},
        )
        cookie = next(h for h in res.headers.get_list("set-cookie") if h.startswith("pmo_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie
        assert res.headers["strict-transport-security"].startswith("max-age=")


def _try(client: TestClient, email: str, password: str) -> tuple[int, str]:
    page = client.get("/login")
    res = client.post("/login", data={"email": email, "password": password, "csrf": csrf_of(page.text)})
    return res.status_code, re.sub(r'value="[0-9a-f]{64}"|value="[^"]*@[^"]*"', "", res.text)


def test_sign_in_errors_do_not_tell_which_users_exist(client):
    unknown = _try(client, "nobody@nowhere.example.com", "whatever-long-enough")
    wrong = _try(client, USERS["pm"][0], "wrong password!")
    assert unknown[0] == wrong[0] == 401
    assert unknown[1] == wrong[1]  # the same page, byte for byte (without the echoed e-mail and token)
    assert "Wrong e-mail or password." in wrong[1]


def test_sign_in_is_rate_limited(client):
    codes = [_try(client, USERS["sponsor"][0], "wrong password!")[0] for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    page = client.get("/login")
    res = client.post("/login", data={"email": USERS["sponsor"][0], "password": PASSWORD, "csrf": csrf_of(page.text)})
    assert res.status_code == 429 and int(res.headers["retry-after"]) > 0  # even the right password waits


def test_sign_out_ends_the_session(client):
    login(client, "pm")
    token = csrf_of(client.get("/portfolio").text)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    assert client.get("/portfolio").status_code == 303  # back to the sign-in page


def test_next_after_sign_in_stays_on_this_site(client):
    page = client.get("/login")
    res = client.post(
        "/login",
        data={"email": USERS["pm"][0], "password": PASSWORD, "csrf": csrf_of(page.text), "next": "//evil.example/x"},
    )
    assert res.headers["location"] == "/portfolio"


# ------------------------------------------------------------------ rights on projects
def test_a_client_of_one_project_cannot_see_another(client):
    login(client, "other_client")
    assert client.get(f"/projects/{OTHER}").status_code == 200
    for url in (f"/projects/{CODE}", f"/projects/{CODE}/gate", f"/projects/{CODE}/progress"):
        assert client.get(url).status_code == 404, url
    listing = client.get("/portfolio").text
    assert OTHER in listing and CODE not in listing


def test_a_stranger_sees_no_project_and_a_viewer_role_sees_all(client):
    login(client, "outsider")
    assert client.get(f"/projects/{CODE}").status_code == 404
    assert CODE not in client.get("/portfolio").text
    client.cookies.clear()
    login(client, "admin")
    text = client.get("/portfolio").text
    assert CODE in text and OTHER in text


def test_pages_need_a_session(client):
    for url in ("/portfolio", f"/projects/{CODE}", f"/projects/{CODE}/gate", "/rules"):
        res = client.get(url)
        assert res.status_code == 303 and res.headers["location"].startswith("/login"), url


def test_approving_without_the_role_is_forbidden(client):
    login(client, "pm")  # the PM does not hold the sponsor role
    token = csrf_of(client.get(f"/projects/{CODE}/gate").text)
    res = client.post(f"/projects/{CODE}/gate/approve", data={"csrf": token, "role": "sponsor"})
    assert res.status_code == 403
    assert "may not approve gate as sponsor" in res.text


# ------------------------------------------------------------------ autoescape
def test_hostile_text_from_a_project_file_shows_as_text(site, client):
    from lifecycle.services.projects import set_fields

    c = site.ctx("pm")
    try:
        set_fields(
            c,
            CODE,
            "risks",
            "R-01",
            {"title": '<script>alert("x")</script><img src=x onerror=alert(1)>'},
            action="risk.update",
        )
    finally:
        c.close()
    login(client, "pm")
    html = client.get(f"/projects/{CODE}").text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


# ------------------------------------------------------------------ headers
@pytest.mark.parametrize("url", ["/login", "/portfolio", "/static/web.css", "/no-such-page"])
def test_security_headers_on_every_response(client, url):
    login(client, "pm")
    res = client.get(url)
    csp = res.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert res.headers["x-content-type-options"] == "nosniff"
    assert res.headers["referrer-policy"] == "no-referrer"
    assert res.headers["x-frame-options"] == "DENY"


def test_pages_carry_no_inline_script_and_load_nothing_from_elsewhere(client):
    login(client, "pm")
    for url in ("/portfolio", f"/projects/{CODE}", f"/projects/{CODE}/gate", f"/projects/{CODE}/progress"):
        html = client.get(url).text
        assert "<script" not in html and " on" + "click=" not in html, url
        assert not re.search(r'(src|href)="(https?:)?//', html), url
