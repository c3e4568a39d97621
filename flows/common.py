"""Plumbing shared by the flows: a service context per task, the retry policy, and shared tasks.

Every task opens its own :class:`~lifecycle.services.context.Context` on the workspace named by
``PMO_WORKSPACE`` (and ``PMO_DATABASE_URL``, when set) and closes it, so a task retried in another
attempt, thread or worker process never shares a database session. Tasks pass ids and plain data
(project code, document number), never live objects.

Prefect's result caching is off for every task (``NO_CACHE``): idempotency is the services' job
(stable ids, delivery keys), so a retried flow re-runs each step and each step decides what is
already done. Delivery tasks retry on :class:`~lifecycle.errors.DeliveryError` only; a missing
setting is reported in the result instead of being retried. Delays come from
``PMO_FLOW_RETRY_DELAYS`` (seconds, comma separated, default ``10,60,300``; ``none`` for no retry).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from lifecycle.errors import ConfigError, InvalidInput
from lifecycle.services.context import Context


def retry_delays() -> list[float]:
    raw = os.environ.get("PMO_FLOW_RETRY_DELAYS", "10,60,300").strip()
    if raw.lower() in ("", "none"):
        return []
    try:
        return [max(0.0, float(x)) for x in raw.split(",") if x.strip()]
    except ValueError:
        return [10.0, 60.0, 300.0]


DELAYS = retry_delays()


def log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger (shown in the Prefect UI and ``pmo flow run``), else a plain one."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("pmo.flows")


@contextmanager
def service_context() -> Iterator[Context]:
    """A context on the workspace of this process (``PMO_WORKSPACE`` / ``PMO_DATABASE_URL``)."""
    from lifecycle.services.context import open_context
    from lifecycle.workspace import open_workspace

    ctx = open_context(open_workspace())
    try:
        yield ctx
    finally:
        ctx.close()


# ------------------------------------------------------------------ shared tasks
@task(name="ensure-document", cache_policy=NO_CACHE)
async def ensure_document_task(
    project: str, kind: str, milestone: str | None = None, review_id: str | None = None
) -> dict[str, Any]:
    """Issue the document (or reuse the one issued from the same project data)."""
    from lifecycle.services.delivery import ensure_document

    with service_context() as ctx:
        doc, issued = ensure_document(ctx, project, kind, milestone=milestone, review_id=review_id)
    log().info("%s %s %s (%s)", "issued" if issued else "reusing", kind, doc.number, doc.path)
    return {
        "id": doc.id,
        "number": doc.number,
        "kind": doc.kind,
        "path": doc.path,
        "sha256": doc.sha256,
        "issued_now": issued,
    }


@task(name="send-document", cache_policy=NO_CACHE, retries=len(DELAYS), retry_delay_seconds=DELAYS or 0)
async def send_document_task(project: str, document: str, to: Sequence[str] | None = None) -> dict[str, Any]:
    """E-mail a registered document (at most once per document and recipients); retried on failure."""
    from lifecycle.services.delivery import find_document, send_document, smtp_configured

    with service_context() as ctx:
        if not smtp_configured(ctx):
            log().warning("no SMTP server configured (smtp.host): %s was not sent", document)
            return {
                "document": document,
                "status": "not_sent",
                "reason": "no SMTP server configured",
                "sent_now": False,
            }
        doc = find_document(ctx, project, document)
        try:
            result = send_document(ctx, doc, list(to) if to else None)
        except (ConfigError, InvalidInput) as exc:  # a setting or an address: retrying will not help
            log().error("%s not sent: %s", document, exc)
            return {"document": document, "status": "not_sent", "reason": str(exc), "sent_now": False}
    if result["sent_now"]:
        log().info("sent %s to %s (%s)", document, ", ".join(result["to"]), result["message_id"])
    else:
        log().info("%s was already sent to %s; not sent again", document, ", ".join(result["to"]))
    return result


@task(name="notify", cache_policy=NO_CACHE, retries=len(DELAYS), retry_delay_seconds=DELAYS or 0)
async def notify_task(project: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Post an event to the webhook (once per event and payload); retried on failure."""
    from lifecycle.services.delivery import notify

    with service_context() as ctx:
        try:
            result = notify(ctx, project, event, payload)
        except ConfigError as exc:
            log().error("notification %s not sent: %s", event, exc)
            return {"event": event, "status": "not_sent", "reason": str(exc), "sent_now": False}
    log().info("notification %s: %s", event, result["status"])
    return result


def people_with_email(ctx: Context, code: str, ids: Sequence[str]) -> list[str]:
    """The ids among ``ids`` that name a person or contact with an e-mail address."""
    project = ctx.store.get(code)
    index = {**project.index("contacts"), **project.index("people")}
    return [i for i in dict.fromkeys(ids) if i and i in index and index[i].email]
