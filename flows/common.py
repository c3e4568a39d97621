"""Plumbing shared by the flows: a service context per task, the retry policy, and shared tasks.

Every task opens its own :class:`~lifecycle.services.context.Context` on the workspace named by
``PMO_WORKSPACE`` (and ``PMO_DATABASE_URL``, when set) and closes it, so a task retried in another
attempt, thread or worker process never shares a database session. Tasks pass ids and plain data
(project code, document number), never live objects.

Prefect's result caching is off for every task (``NO_CACHE``): idempotency is the services' job
(stable ids, delivery keys), so a retried flow re-runs each step and each step decides what is
already done. A setting that is missing is checked once, before anything is issued
(:func:`delivery_settings_task`: documents with recipients and no SMTP server fail the run, since
retrying would not help). Delivery tasks retry on a transient :class:`~lifecycle.errors.DeliveryError`
only (:func:`worth_retrying`): a permanent one (a 5xx SMTP refusal, a 4xx webhook answer, a redirect)
fails the task at once, and the delivery service reports a bad address and a send that may have been
delivered (``uncertain``, see ``pmo outbox``) in the result instead. Delays come from
``PMO_FLOW_RETRY_DELAYS`` (seconds, comma separated, default ``10,60,300``; ``none`` for no retry).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from prefect import get_run_logger, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from lifecycle.errors import DeliveryError
from lifecycle.services import artifacts, delivery, shared_settings
from lifecycle.services.context import Context, open_context, open_workspace


def retry_delays() -> list[float]:
    raw = os.environ.get("PMO_FLOW_RETRY_DELAYS", "10,60,300").strip()
    if raw.lower() in ("", "none"):
        return []
    try:
        return [max(0.0, float(x)) for x in raw.split(",") if x.strip()]
    except ValueError:
        return [10.0, 60.0, 300.0]


DELAYS = retry_delays()


async def worth_retrying(task: Any, task_run: Any, state: Any) -> bool:
    """The retry condition of the delivery tasks: anything but a permanent delivery error."""
    exc = await state.aresult(raise_on_failure=False)
    return not (isinstance(exc, DeliveryError) and exc.permanent)


F = TypeVar("F", bound=Callable[..., Any])


def delivery_task(name: str) -> Callable[[F], F]:
    """The task decorator of a delivery step: no result cache, retried after a transient failure only."""
    return task(  # type: ignore[return-value]  # a Task is called like the function it wraps
        name=name,
        cache_policy=NO_CACHE,
        retries=len(DELAYS),
        retry_delay_seconds=DELAYS or 0,
        retry_condition_fn=worth_retrying,
    )


def log() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The flow run's logger (shown in the Prefect UI and ``pmo flow run``), else a plain one."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("pmo.flows")


def service_context() -> Context:
    """A context on the workspace of this process (``PMO_WORKSPACE`` / ``PMO_DATABASE_URL``), with the
    settings pushed to the database filling what the workspace's settings file lacks; use ``with``."""
    ctx = open_context(open_workspace())
    try:
        shared_settings.apply(ctx)
    except BaseException:
        ctx.close()
        raise
    return ctx


def run_name(flow: str) -> Callable[[], str]:
    """The ``flow_run_name`` of ``flow``: ``<flow>/<project>/<milestone, gate or portfolio>``."""

    def name() -> str:
        from prefect.runtime import flow_run

        return artifacts.run_label(flow, dict(flow_run.parameters or {})).name

    return name


async def label_run(flow: str, params: Mapping[str, Any]) -> None:
    """Add the run's tags (``pmo``, ``project:<code>``, ``milestone:<id>`` ...) to the current flow run."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if not run_id:
        return
    label = artifacts.run_label(flow, params)
    async with get_client() as client:
        current = await client.read_flow_run(run_id)
        tags = sorted(set(current.tags) | set(label.tags))
        if tags != sorted(current.tags):
            await client.update_flow_run(run_id, tags=tags)


async def publish_markdown(key: str, markdown: str, description: str) -> None:
    """Attach a markdown artifact (built by :mod:`lifecycle.services.artifacts`) to the current run."""
    await acreate_markdown_artifact(markdown=markdown, key=key, description=description)


async def publish_table(key: str, table: list[dict[str, str]], description: str) -> None:
    """Attach a table artifact (built by :mod:`lifecycle.services.artifacts`) to the current run."""
    await acreate_table_artifact(table=table, key=key, description=description)


# ------------------------------------------------------------------ shared tasks
@task(name="ensure-document", cache_policy=NO_CACHE)
async def ensure_document_task(
    project: str, kind: str, milestone: str | None = None, review_id: str | None = None
) -> dict[str, Any]:
    """Issue the document (or reuse the one issued from the same project data)."""
    with service_context() as ctx:
        doc = delivery.ensure_document_summary(ctx, project, kind, milestone=milestone, review_id=review_id)
        markdown = artifacts.documents_markdown(ctx, project, [doc])
    log().info("%s %s %s (%s)", "issued" if doc["issued_now"] else "reusing", kind, doc["number"], doc["path"])
    await publish_markdown(artifacts.artifact_key("documents", project), markdown, f"{doc['number']} ({kind})")
    return doc


@task(name="delivery-settings", cache_policy=NO_CACHE)
async def delivery_settings_task(project: str, what: str, to: Sequence[str] | None = None) -> None:
    """Fail the run (not retried) before anything is issued when ``what`` has recipients and no SMTP
    server is configured on this worker or pushed to the database."""
    with service_context() as ctx:
        shared_settings.require_smtp(ctx, project, what, to)


@delivery_task("send-document")
async def send_document_task(project: str, document: str, to: Sequence[str] | None = None) -> dict[str, Any]:
    """E-mail a registered document (at most once per document and recipients); retried on failure."""
    with service_context() as ctx:
        result = delivery.deliver_document(ctx, project, document, to)
    if result["status"] in ("not_sent", "failed", "uncertain"):  # not retried: retrying would not help
        log().warning("%s %s: %s", document, result["status"].replace("_", " "), result["reason"])
    elif result["sent_now"]:
        log().info("sent %s to %s (%s)", document, ", ".join(result["to"]), result["message_id"])
    else:
        log().info("%s was already sent to %s; not sent again", document, ", ".join(result["to"]))
    return result


@delivery_task("notify")
async def notify_task(project: str, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Post an event to the webhook (once per event and payload); retried on failure."""
    with service_context() as ctx:
        result = delivery.deliver_notification(ctx, project, event, payload)
    log().info("notification %s: %s%s", event, result["status"], f" ({result['reason']})" if "reason" in result else "")
    return result
