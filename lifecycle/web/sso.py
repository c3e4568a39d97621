"""Single sign-on routes: ``/login/oidc`` sends the browser to the company's identity provider and
``/login/oidc/callback`` signs the user in when it comes back (:mod:`lifecycle.services.oidc` does
the protocol: PKCE, state, nonce, the ID token's checks, the existing user by verified e-mail).

The sign-in in progress (state, nonce, PKCE verifier) stays on the server for ten minutes, keyed by
its state; the browser holds only the state, in an HttpOnly cookie scoped to ``/login/oidc`` and
compared in constant time with the state the provider returns, so an answer started in another
browser (login CSRF) is refused. Every failure shows the same sign-in page with a generic message.
"""

from __future__ import annotations

import hmac
import threading
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from lifecycle.errors import AuthFailed, ConfigError
from lifecycle.services import identity, oidc
from lifecycle.web import security
from lifecycle.web.app import page_for, web_of

STATE_COOKIE = "pmo_oidc"
TTL = 600.0
_PENDING: dict[str, tuple[float, Any]] = {}
_LOCK = threading.Lock()


def _keep(start: oidc.OidcStart) -> None:
    now = time.monotonic()
    with _LOCK:
        for state in [s for s, (t, _) in _PENDING.items() if now - t > TTL]:
            del _PENDING[state]
        _PENDING[start.state] = (now, start)


def _take(state: str) -> oidc.OidcStart | None:
    with _LOCK:
        entry = _PENDING.pop(state, None)
    if entry is None or time.monotonic() - entry[0] > TTL:
        return None
    start: oidc.OidcStart = entry[1]
    return start


async def begin(request: Request) -> Response:
    web = web_of(request)
    try:
        start = await run_in_threadpool(oidc.begin_login, web.context(None))
    except ConfigError:
        return RedirectResponse("/login", status_code=303)
    _keep(start)
    response = RedirectResponse(start.url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        start.state,
        max_age=int(TTL),
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET from its site
        secure=web.settings.secure,
        path="/login/oidc",
    )
    return response


def _failed(request: Request) -> Response:
    page = page_for(request, None)
    page.status = 401
    return page.render("login.html", email="", error="login.sso_failed", next="/portfolio")


async def callback(request: Request) -> Response:
    web = web_of(request)
    state = request.query_params.get("state", "")
    held = request.cookies.get(STATE_COOKIE, "")
    if not state or not held or not hmac.compare_digest(state.encode(), held.encode()):
        return _failed(request)
    start = _take(state)
    if start is None:
        return _failed(request)
    ctx = web.context(None)
    code = request.query_params.get("code", "")
    try:
        principal = await run_in_threadpool(lambda: oidc.complete_login(ctx, start, code=code, state=state))
        session = await run_in_threadpool(identity.start_session, ctx, principal)
    except AuthFailed:
        return _failed(request)
    response = RedirectResponse("/portfolio", status_code=303)
    max_age = max(int((session.expires - ctx.now()).total_seconds()), 60)
    security.set_session_cookie(response, session.token, max_age=max_age, secure=web.settings.secure)
    response.delete_cookie(STATE_COOKIE, path="/login/oidc")
    return response


def routes() -> list[BaseRoute]:
    return [Route("/login/oidc", begin, methods=["GET"]), Route("/login/oidc/callback", callback, methods=["GET"])]
