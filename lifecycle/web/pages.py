"""The routes of the web face: sign-in, portfolio, project, gate, progress, rules, client acceptance.

Each handler reads the request, calls one service (``web_views``, ``identity``,
``client_acceptance``) and renders a template; rights are checked by the services, so a handler
holds no decision. A POST goes through :func:`lifecycle.web.app.form_post` (CSRF and Origin checks
first) and answers with a redirect to the page and a message key (``?done=approved``), so reloading
never repeats an action.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from lifecycle.errors import (
    AuthFailed,
    ConcurrentUpdate,
    GateBlocked,
    IllegalTransition,
    InvalidInput,
    LifecycleError,
    RateLimited,
)
from lifecycle.services import identity, web_views
from lifecycle.web import accept, security, sso
from lifecycle.web.app import Page, form_post, page_for, signed_in, web_of

DONE_KEYS = {"approved", "rejected", "waived", "advanced", "progress"}


def _done(page: Page) -> str:
    key = page.request.query_params.get("done", "")
    return f"done.{key}" if key in DONE_KEYS else ""


def _back(path: str, **query: str | int) -> RedirectResponse:
    return RedirectResponse(f"{path}?{urlencode(query)}" if query else path, status_code=303)


# ------------------------------------------------------------------ sign-in
async def login_form(request: Request) -> Response:
    page = page_for(request, None)
    return page.render("login.html", email="", error="", next=security.safe_next(request.query_params.get("next", "")))


def _login(page: Page, form: dict[str, str]) -> Response:
    email = form.get("email", "")
    target = security.safe_next(form.get("next", ""))
    client_ip = page.request.client.host if page.request.client else ""
    try:
        principal = identity.login_password(page.ctx, email, form.get("password", ""), client_ip=client_ip)
    except RateLimited as exc:
        page.status = 429
        page.headers["Retry-After"] = str(exc.retry_after)
        return page.render("login.html", email=email, error="login.limited", next=target)
    except AuthFailed:
        page.status = 401
        return page.render("login.html", email=email, error="login.failed", next=target)
    session = identity.start_session(page.ctx, principal)
    response = RedirectResponse(target, status_code=303)
    max_age = max(int((session.expires - page.ctx.now()).total_seconds()), 60)
    security.set_session_cookie(response, session.token, max_age=max_age, secure=page.web.settings.secure)
    return response


def _logout(page: Page, form: dict[str, str]) -> Response:
    token = page.request.cookies.get(security.SESSION_COOKIE, "")
    if token:
        identity.end_session(page.ctx, token)
    response = RedirectResponse("/login", status_code=303)
    security.clear_session_cookie(response, secure=page.web.settings.secure)
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/portfolio", status_code=303)


# ------------------------------------------------------------------ portfolio and project
def _portfolio(page: Page) -> Response:
    q = page.request.query_params
    view = web_views.portfolio_page(
        page.ctx,
        lang=page.lang,
        phase=q.get("phase", ""),
        rag=q.get("rag", ""),
        q=q.get("q", ""),
        sort=q.get("sort", "code"),
        desc=q.get("desc", "") == "1",
    )
    if view.sweep.running:
        page.cache_key = None  # the page refreshes itself until the sweep is done
    return page.render("portfolio.html", view=view, sorts=web_views.SORTS)


def _portfolio_stamp(page: Page) -> str:
    return web_views.page_stamp(page.ctx)


def _project_stamp(page: Page) -> str:
    return web_views.page_stamp(page.ctx, page.request.path_params["code"])


def _project(page: Page) -> Response:
    view = web_views.project_page(page.ctx, page.request.path_params["code"], lang=page.lang)
    return page.render("project.html", p=view)


def _document(page: Page) -> Response:
    pp = page.request.path_params
    data, name = web_views.document_download(page.ctx, pp["code"], pp["doc"])
    return Response(
        data, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _verify(page: Page) -> Response:
    pp = page.request.path_params
    result = web_views.verify_project_document(page.ctx, pp["code"], pp["doc"])
    return page.render("verify.html", code=pp["code"], doc=pp["doc"], result=result)


# ------------------------------------------------------------------ gate
def _gate(page: Page) -> Response:
    code = page.request.path_params["code"]
    view = web_views.gate_page(page.ctx, code, lang=page.lang)
    return page.render("gate.html", g=view, done=_done(page), error="")


def _gate_error(page: Page, exc: LifecycleError) -> Response:
    """Re-render the gate page with the refusal (a user's mistake or a blocked gate)."""
    code = page.request.path_params["code"]
    page.status = 400 if isinstance(exc, InvalidInput) else 409
    view = web_views.gate_page(page.ctx, code, lang=page.lang)
    return page.render("gate.html", g=view, done="", error=str(exc))


def _approve(page: Page, form: dict[str, str]) -> Response:
    code = page.request.path_params["code"]
    reject = form.get("decision") == "reject"
    try:
        web_views.approve_gate(
            page.ctx, code, role=form.get("role", ""), comment=form.get("comment", ""), reject=reject
        )
    except (InvalidInput, ConcurrentUpdate) as exc:
        return _gate_error(page, exc)
    return _back(f"/projects/{code}/gate", done="rejected" if reject else "approved")


def _waive(page: Page, form: dict[str, str]) -> Response:
    code = page.request.path_params["code"]
    try:
        web_views.waive_rule(
            page.ctx,
            code,
            rule=form.get("rule", ""),
            role=form.get("role", ""),
            reason=form.get("reason", ""),
            until=form.get("until", ""),
        )
    except (InvalidInput, ConcurrentUpdate) as exc:
        return _gate_error(page, exc)
    return _back(f"/projects/{code}/gate", done="waived")


def _advance(page: Page, form: dict[str, str]) -> Response:
    code = page.request.path_params["code"]
    try:
        web_views.advance_project(page.ctx, code, reason=form.get("reason", ""))
    except (InvalidInput, GateBlocked, ConcurrentUpdate, IllegalTransition) as exc:
        return _gate_error(page, exc)
    return _back(f"/projects/{code}", done="advanced")


# ------------------------------------------------------------------ progress
def _progress(page: Page) -> Response:
    code = page.request.path_params["code"]
    tasks = web_views.progress_tasks(page.ctx, code)
    q = page.request.query_params
    return page.render(
        "progress.html", code=code, tasks=tasks, done=_done(page), changed=q.get("n", ""), error="", values={}
    )


def _save_progress(page: Page, form: dict[str, str]) -> Response:
    code = page.request.path_params["code"]
    values = {k[4:]: v for k, v in form.items() if k.startswith("pct:")}
    try:
        changed = web_views.record_progress(page.ctx, code, values)
    except InvalidInput as exc:
        page.status = 400
        tasks = web_views.progress_tasks(page.ctx, code)
        return page.render("progress.html", code=code, tasks=tasks, done="", changed="", error=str(exc), values=values)
    return _back(f"/projects/{code}/progress", done="progress", n=len(changed))


# ------------------------------------------------------------------ rules
def _rules(page: Page) -> Response:
    view = web_views.rules_page(page.ctx, lang=page.lang, diff_dir=page.request.query_params.get("diff", ""))
    return page.render("rules.html", r=view)


def routes() -> list[BaseRoute]:
    return [
        Route("/", home),
        Route("/login", login_form, methods=["GET"]),
        Route("/login", form_post(_login, anonymous=True), methods=["POST"]),
        Route("/logout", form_post(_logout), methods=["POST"]),
        Route("/portfolio", signed_in(_portfolio, _portfolio_stamp)),
        Route("/projects/{code}", signed_in(_project, _project_stamp)),
        Route("/projects/{code}/documents/{doc}", signed_in(_document)),
        Route("/projects/{code}/documents/{doc}/verify", signed_in(_verify)),
        Route("/projects/{code}/gate", signed_in(_gate, _project_stamp)),
        Route("/projects/{code}/gate/approve", form_post(_approve), methods=["POST"]),
        Route("/projects/{code}/gate/waive", form_post(_waive), methods=["POST"]),
        Route("/projects/{code}/gate/advance", form_post(_advance), methods=["POST"]),
        Route("/projects/{code}/progress", signed_in(_progress), methods=["GET"]),
        Route("/projects/{code}/progress", form_post(_save_progress), methods=["POST"]),
        Route("/rules", signed_in(_rules)),
        *accept.routes(),
        *sso.routes(),
    ]


__all__ = ["routes", "web_of"]
