"""HTTP protections of the web face: security headers, CSRF tokens and the session cookie.

* **Headers** on every response (an ASGI middleware): a Content-Security-Policy with no inline
  script (``script-src 'self'``; the pages ship no script at all) and ``frame-ancestors 'none'``,
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer`` (an acceptance link's token
  never leaks through a Referer), ``X-Frame-Options``, and ``Cache-Control: no-store`` on pages. A
  route that needs another policy (the acceptance page frames its PDF; the PDF may be framed by
  this origin) sets the header itself and the middleware keeps it.
* **CSRF**: a signed double-submit token. The browser holds a random ``pmo_csrf`` cookie
  (HttpOnly, SameSite=Strict); each form carries HMAC-SHA256(secret, cookie ‖ session cookie) and a
  POST is accepted only when that MAC matches, compared in constant time. A cookie planted by a
  sibling host cannot be turned into a valid token without the server's secret, and the token is
  bound to the session. Every POST route goes through :func:`check_csrf` (the app registers POST
  handlers only through a wrapper that calls it; a test walks the routes).
* **Session cookie** ``pmo_session``: HttpOnly, SameSite=Lax, Secure when the base URL is https.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "pmo_session"
CSRF_COOKIE = "pmo_csrf"
CSRF_FIELD = "csrf"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'; object-src 'none'"
)
# the acceptance page frames its own certificate PDF (same origin) and nothing else
ACCEPT_CSP = PAGE_CSP.replace("object-src 'none'", "object-src 'self'; frame-src 'self'")
# the PDF itself may be framed by this origin's acceptance page only
PDF_CSP = "default-src 'none'; frame-ancestors 'self'; object-src 'self'; style-src 'unsafe-inline'"

BASE_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response (unless a route set them)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in self._headers(static):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(self, static: bool) -> list[tuple[bytes, bytes]]:
        out = [*BASE_HEADERS, (b"content-security-policy", PAGE_CSP.encode()), (b"x-frame-options", b"DENY")]
        out.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
        if self.hsts:
            out.append((b"strict-transport-security", b"max-age=31536000"))
        return out


def _mac(secret: bytes, nonce: str, session: str) -> str:
    return hmac.new(secret, f"{nonce}|{session}".encode(), hashlib.sha256).hexdigest()


def csrf_nonce(request: Request) -> str:
    """The request's CSRF cookie value, or a new one (set on the response by :func:`set_csrf_cookie`)."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if len(nonce) != 43:  # 32 random bytes, url-safe base64
        nonce = getattr(request.state, "csrf_nonce", "") or secrets.token_urlsafe(32)
        request.state.csrf_nonce = nonce
    return nonce


def csrf_token(request: Request, secret: bytes) -> str:
    """The token a form of this page carries."""
    return _mac(secret, csrf_nonce(request), request.cookies.get(SESSION_COOKIE, ""))


def csrf_valid(request: Request, secret: bytes, submitted: str) -> bool:
    """Whether ``submitted`` is this browser's token for its current session (constant-time compare)."""
    nonce = request.cookies.get(CSRF_COOKIE, "")
    if not nonce or not submitted:
        return False
    expected = _mac(secret, nonce, request.cookies.get(SESSION_COOKIE, ""))
    return hmac.compare_digest(expected.encode(), submitted.encode())


def set_csrf_cookie(request: Request, response: Response, *, secure: bool) -> None:
    """Give the browser its CSRF cookie when this request made a new one."""
    nonce = getattr(request.state, "csrf_nonce", "")
    if nonce:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict", secure=secure, path="/")


def set_session_cookie(response: Response, token: str, *, max_age: int, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/")


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


def same_origin(request: Request, base_url: str) -> bool:
    """Reject a POST whose ``Origin`` names another site (a second line behind the token).

    Browsers send ``Origin: null`` for a form posted from a page with ``Referrer-Policy:
    no-referrer`` (ours), so a missing or null origin is left to the token.
    """
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return True
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    if base_url:
        own.add(base_url.rstrip("/"))
    return origin.rstrip("/") in own


def safe_next(target: str) -> str:
    """A redirect target after sign-in: only a local path (never ``//host`` or a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/portfolio"
