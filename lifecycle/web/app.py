"""The Starlette application of ``pmo serve``: settings, templates, the request context and errors.

Starlette rather than FastAPI: the pages are server-rendered HTML forms, not a JSON API, so
FastAPI's request models and OpenAPI generation would add start-up time and a second validation
layer without serving anyone; Starlette (which FastAPI is built on, and which Prefect already brings)
gives routing, forms, cookies, static files and the test client, and nothing more.

One store is opened for the application and shared by the requests (SQLAlchemy's pool hands each
thread its connection); each request gets its own :class:`Context` carrying the signed-in
:class:`Principal`, and the rule pack is parsed once for all of them (a shared context cache).
Handlers run the services in Starlette's thread pool, so a slow page never blocks the event loop.
Errors of the service layer become pages: ``Forbidden`` → 403, ``NotFound`` → 404, a user's mistake
→ 400 with its message, a conflict → 409.

The portfolio, project and gate pages are kept once rendered (:class:`PageCache`) while the service's
stamp of what they show holds (``web_views.page_stamp``); the stamp itself is re-read at most once a
second (:class:`StampMemo`) and at once after any POST through this server.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from lifecycle.errors import (
    ConcurrentUpdate,
    Forbidden,
    GateBlocked,
    IllegalTransition,
    LifecycleError,
    NotFound,
)
from lifecycle.services import client_acceptance, identity, oidc
from lifecycle.services.context import Context, Principal, Workspace, acting_as, open_context
from lifecycle.web import security
from lifecycle.web.i18n import lang_for, translator

HERE = Path(__file__).resolve().parent
Handler = Callable[[Request], Awaitable[Response]]
MAX_FIELDS = 20000  # a progress form lists every task of a large plan
MAX_BODY = 2 * 1024 * 1024  # forms only: a larger body is refused before it is read


@dataclass
class WebSettings:
    """What ``pmo serve`` (or a test) gives the application."""

    workspace: Workspace
    base_url: str = ""  # public URL, e.g. https://pmo.example.com (links in e-mails, Secure cookies)
    secret: bytes = b""  # CSRF MAC key; default: derived from the workspace secret
    oidc: bool | None = None  # show "sign in with your company" (default: when settings.yaml has oidc)
    stamp_ttl: float = 1.0  # seconds a page's validity stamp is trusted before it is read again
    extra_routes: list[BaseRoute] = field(default_factory=list)

    @property
    def secure(self) -> bool:
        return self.base_url.lower().startswith("https://")


class Web:
    """The application's shared state: settings, the store, the template environment."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        # a key of its own for CSRF, derived from the workspace secret (stable across restarts and workers)
        root = client_acceptance.workspace_secret(settings.workspace)
        self.secret = settings.secret or hmac.new(root, b"pmo-web-csrf", hashlib.sha256).digest()
        self.base = open_context(settings.workspace)
        self.pages = PageCache()
        if settings.oidc is None:
            settings.oidc = oidc.oidc_config(settings.workspace) is not None
        self.stamps = StampMemo(settings.stamp_ttl)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,  # every page: hostile text from project files shows as text
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def context(self, principal: Principal | None) -> Context:
        return acting_as(self.base, principal)

    def principal(self, request: Request) -> Principal | None:
        token = request.cookies.get(security.SESSION_COOKIE, "")
        if not token:
            return None
        return identity.principal_from_session(self.context(None), token)

    def close(self) -> None:
        self.base.close()


@dataclass
class _RenderLock:
    lock: threading.Lock = field(default_factory=threading.Lock)
    holders: int = 0


class PageCache:
    """Rendered pages kept while their service stamp holds (see ``web_views.page_stamp``).

    A page is stored with a placeholder where its forms carry the CSRF token, and the requesting
    browser's own token is put in on the way out, so one stored page serves every session of the
    same user without sharing a token. The key holds the user (id, e-mail, global roles), the
    language and the full URL; an LRU of ``size`` pages.
    """

    PLACEHOLDER = "__pmo_csrf_token__"

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self.pages: OrderedDict[tuple[str, ...], tuple[int, str]] = OrderedDict()
        self.lock = threading.Lock()
        self.locks: dict[tuple[str, ...], _RenderLock] = {}

    def get(self, key: tuple[str, ...]) -> tuple[int, str] | None:
        with self.lock:
            hit = self.pages.get(key)
            if hit is not None:
                self.pages.move_to_end(key)
            return hit

    @contextlib.contextmanager
    def rendering(self, key: tuple[str, ...]) -> Iterator[None]:
        """Hold the page's render lock (made on first use, dropped with the last holder)."""
        with self.lock:
            entry = self.locks.setdefault(key, _RenderLock())
            entry.holders += 1
        try:
            with entry.lock:
                yield
        finally:
            with self.lock:
                entry.holders -= 1
                if entry.holders == 0:
                    self.locks.pop(key, None)

    def put(self, key: tuple[str, ...], status: int, body: str) -> None:
        with self.lock:
            self.pages[key] = (status, body)
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


class StampMemo:
    """Service stamps re-read at most every ``ttl`` seconds per page (a stamp over a large portfolio
    reads every project's version: ~15 ms for 1,000 projects). One request re-reads an expired stamp
    while the others go on with the previous one, so a busy page is never re-stamped by every request
    at once. A POST through this server clears the stamps at once; a change made by another process
    (the CLI, a flow) shows within about ``ttl``."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.stamps: dict[str, tuple[float, str]] = {}
        self.refreshing: set[str] = set()
        self.generation = 0  # moved by clear(): a stamp read before a clear is not kept after it
        self.lock = threading.Lock()

    def get(self, key: str, compute: Callable[[], str]) -> str:
        now = time.monotonic()
        with self.lock:
            hit = self.stamps.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                return hit[1]
            if hit is not None and key in self.refreshing:
                return hit[1]  # another request is reading the new stamp
            self.refreshing.add(key)
            generation = self.generation
        try:
            stamp = compute()
        finally:
            with self.lock:
                self.refreshing.discard(key)
        with self.lock:
            if stamp and generation == self.generation:
                self.stamps[key] = (now, stamp)
            elif not stamp:  # '' (do not keep the page, e.g. while a sweep runs) is asked again next time
                self.stamps.pop(key, None)
        return stamp

    def clear(self) -> None:
        with self.lock:
            self.stamps.clear()
            self.generation += 1


def web_of(request: Request) -> Web:
    w: Web = request.app.state.web
    return w


@dataclass
class Page:
    """One request's page state: who, which language, the translator."""

    request: Request
    web: Web
    principal: Principal | None
    lang: str
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    cache_key: tuple[str, ...] | None = None  # set: the rendered page is kept under this key

    @property
    def ctx(self) -> Context:
        return self.web.context(self.principal)

    def render(self, template: str, **values: Any) -> HTMLResponse:
        token = security.csrf_token(self.request, self.web.secret)
        body = self.web.env.get_template(f"web/{template}").render(
            t=translator(self.lang),
            lang=self.lang,
            user=self.principal,
            csrf=PageCache.PLACEHOLDER if self.cache_key else token,
            csrf_field=security.CSRF_FIELD,
            path=self.request.url.path,
            oidc=bool(self.web.settings.oidc),
            **values,
        )
        if self.cache_key:
            self.web.pages.put(self.cache_key, self.status, body)
        return self.respond(self.status, body, token)

    def respond(self, status: int, body: str, token: str) -> HTMLResponse:
        if self.cache_key:
            body = body.replace(PageCache.PLACEHOLDER, token)
        response = HTMLResponse(body, status_code=status, headers=self.headers)
        security.set_csrf_cookie(self.request, response, secure=self.web.settings.secure)
        return response


def page_for(request: Request, principal: Principal | None) -> Page:
    locale = principal.locale if principal else None
    return Page(request, web_of(request), principal, lang_for(locale, request.headers.get("accept-language", "")))


def error_page(page: Page, exc: LifecycleError) -> Response:
    """A service error as a page with the right status (never a traceback)."""
    status = 400
    key = ""
    if isinstance(exc, Forbidden):
        status, key = 403, "error.forbidden"
    elif isinstance(exc, NotFound):
        status, key = 404, "error.not_found"
    elif isinstance(exc, (ConcurrentUpdate, GateBlocked, IllegalTransition)):
        status = 409
    page.status = status
    page.cache_key = None
    return page.render("error.html", message=str(exc), key=key)


def signed_in(fn: Callable[[Page], Response], stamp: Callable[[Page], str] | None = None) -> Handler:
    """A page for signed-in users: run ``fn`` in the thread pool; else send the browser to sign in.

    With ``stamp`` (a service's validity stamp of what the page shows) a page rendered for the same
    user, language and URL under the same stamp is served again without running ``fn``.
    """

    async def endpoint(request: Request) -> Response:
        web = web_of(request)
        principal = await run_in_threadpool(web.principal, request)
        if principal is None:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        page = page_for(request, principal)
        try:
            return await run_in_threadpool(_cached_or_run, page, fn, stamp)
        except LifecycleError as exc:
            page.cache_key = None
            return error_page(page, exc)

    return endpoint


def _cached_or_run(page: Page, fn: Callable[[Page], Response], stamp: Callable[[Page], str] | None) -> Response:
    if stamp is not None and page.principal is not None:
        version = page.web.stamps.get(page.request.url.path, lambda: stamp(page))
        if version:
            p = page.principal
            page.cache_key = (version, str(page.request.url), p.user_id, p.email, ",".join(sorted(p.global_roles)),
                              page.lang)  # fmt: skip
            # one render per page at a time: concurrent requests for a page not yet kept wait for it
            # instead of all rendering it (a thundering herd of 20 portfolio renders)
            with page.web.pages.rendering(page.cache_key):
                hit = page.web.pages.get(page.cache_key)
                if hit is not None:
                    return page.respond(hit[0], hit[1], security.csrf_token(page.request, page.web.secret))
                return fn(page)
    return fn(page)


async def read_form(request: Request) -> dict[str, str]:
    """An url-encoded form (the only kind our pages send; the body size is capped by the app)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True, max_num_fields=MAX_FIELDS))


def form_post(fn: Callable[[Page, dict[str, str]], Response], *, anonymous: bool = False) -> Handler:
    """A POST handler: the CSRF token and the Origin are checked before anything else runs."""

    async def endpoint(request: Request) -> Response:
        web = web_of(request)
        values = await read_form(request)
        principal = None if anonymous else await run_in_threadpool(web.principal, request)
        page = page_for(request, principal)
        if not security.csrf_valid(request, web.secret, values.get(security.CSRF_FIELD, "")) or not (
            security.same_origin(request, web.settings.base_url)
        ):
            page.status = 403
            return page.render("error.html", message="", key="error.csrf")
        if principal is None and not anonymous:
            return RedirectResponse("/login", status_code=303)
        try:
            return await run_in_threadpool(fn, page, values)
        except LifecycleError as exc:
            return error_page(page, exc)
        finally:
            web.stamps.clear()  # this change shows on the next page at once

    return endpoint


async def health(request: Request) -> Response:
    return Response("ok", media_type="text/plain")


def create_app(settings: WebSettings) -> Starlette:
    """The application for ``settings`` (one shared store; closed when the app shuts down)."""
    from lifecycle.web import pages  # here, not at the top: the page modules import this one

    web = Web(settings)
    routes: list[BaseRoute] = [
        Route("/healthz", health),
        *pages.routes(),
        *settings.extra_routes,
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        web.close()

    app = Starlette(
        routes=routes,
        middleware=[Middleware(security.SecurityHeaders, hsts=settings.secure)],
        lifespan=lifespan,
        max_body_size=MAX_BODY,
    )
    app.state.web = web
    return app
