"""The client's acceptance pages: ``/accept/<token>`` shows the certificate and takes the answer.

No account: the signed link is the credential, checked by
:mod:`lifecycle.services.client_acceptance` on every request (signature, stored link, recipient,
document hash, expiry, single use). The page frames the certificate PDF from ``/accept/<token>/pdf``
(its own, stricter Content-Security-Policy allows exactly that frame) and shows, per deliverable,
accept / accept with conditions / reject with a comment; the client confirms with their name. A
used, expired or invalid link gives a clear page and records nothing. ``Referrer-Policy:
no-referrer`` (on every response) keeps the token out of any Referer.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from lifecycle.errors import InvalidInput, LinkError, LinkExpired, LinkUsed
from lifecycle.services import client_acceptance
from lifecycle.web import security
from lifecycle.web.app import Page, form_post, page_for, web_of
from lifecycle.web.i18n import lang_for

VERDICTS = ("accept", "accept_with_conditions", "reject")


def _closed(page: Page, exc: LinkError) -> Response:
    key = (
        "accept.used"
        if isinstance(exc, LinkUsed)
        else "accept.expired"
        if isinstance(exc, LinkExpired)
        else "accept.bad"
    )
    page.status = 410 if isinstance(exc, (LinkUsed, LinkExpired)) else 404
    return page.render("accept_closed.html", key=key)


def _show(page: Page, token: str, *, error: str = "", values: dict[str, str] | None = None) -> Response:
    view = client_acceptance.open_link(page.ctx, token)
    page.lang = lang_for(view.lang)
    page.headers["Content-Security-Policy"] = security.ACCEPT_CSP
    return page.render("accept.html", v=view, token=token, error=error, values=values or {}, verdicts=VERDICTS)


async def accept_page(request: Request) -> Response:
    page = page_for(request, None)
    token = request.path_params["token"]
    try:
        return await run_in_threadpool(_show, page, token)
    except LinkError as exc:
        return _closed(page, exc)


async def accept_pdf(request: Request) -> Response:
    web = web_of(request)
    try:
        pdf = await run_in_threadpool(client_acceptance.link_pdf, web.context(None), request.path_params["token"])
    except LinkError as exc:
        return _closed(page_for(request, None), exc)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": "inline",
            "Content-Security-Policy": security.PDF_CSP,
            "X-Frame-Options": "SAMEORIGIN",
        },
    )


def _answers(form: dict[str, str]) -> list[client_acceptance.DeliverableAnswer]:
    out = []
    for key, verdict in form.items():
        if key.startswith("verdict:"):
            did = key.split(":", 1)[1]
            if verdict not in VERDICTS:
                raise InvalidInput(f"choose an answer for {did}")
            out.append(client_acceptance.DeliverableAnswer(did, verdict, form.get(f"comment:{did}", "").strip()))
    return out


def _submit(page: Page, form: dict[str, str]) -> Response:
    token = page.request.path_params["token"]
    request = page.request
    try:
        outcome = client_acceptance.submit_answer(
            page.ctx,
            token,
            _answers(form),
            form.get("confirm_name", ""),
            request.client.host if request.client else "",
            request.headers.get("user-agent", ""),
        )
    except LinkError as exc:
        return _closed(page, exc)
    except InvalidInput as exc:
        page.status = 400
        return _show(page, token, error=str(exc), values=form)
    return page.render("accept_done.html", outcome=outcome)


def routes() -> list[BaseRoute]:
    return [
        Route("/accept/{token}", accept_page, methods=["GET"]),
        Route("/accept/{token}/pdf", accept_pdf, methods=["GET"]),
        Route("/accept/{token}", form_post(_submit, anonymous=True), methods=["POST"]),
    ]
