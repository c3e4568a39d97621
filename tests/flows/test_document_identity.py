"""A document is identified by its project, kind, subject and content: a repeated flow after a change
the document does not print finds the registered certificate (nothing new issued, nothing re-sent);
a change it prints makes a new certificate."""

from __future__ import annotations

from dataclasses import replace

from lifecycle.services.delivery import ensure_document
from lifecycle.services.milestones import complete_milestone
from lifecycle.services.projects import update_project
from tests.flows.conftest import open_ctx, today_env


def test_an_unrelated_change_keeps_the_certificate_a_printed_one_makes_a_new(make_workspace, monkeypatch):
    today_env(monkeypatch)
    ctx = open_ctx(make_workspace())
    try:
        complete_milestone(ctx, "DEMO-1", "M1")
        first, issued = ensure_document(ctx, "DEMO-1", "acceptance", milestone="M1")
        assert issued and first.number == "DEMO-1-ACC-M1-1"
        again, issued = ensure_document(ctx, "DEMO-1", "acceptance", milestone="M1")
        assert not issued and again.id == first.id

        # a note on a task the certificate does not print: the same certificate
        update_project(
            ctx,
            "DEMO-1",
            lambda p: replace(
                p, tasks=(replace(p.tasks[0], notes="kick-off moved to the client's site"), *p.tasks[1:])
            ),
            action="task.updated",
            entity="task",
            entity_id="T1",
        )
        same, issued = ensure_document(ctx, "DEMO-1", "acceptance", milestone="M1")
        assert not issued and same.id == first.id

        # the deliverable's name is printed on the certificate: a new one
        update_project(
            ctx,
            "DEMO-1",
            lambda p: replace(
                p, deliverables=(replace(p.deliverables[0], name="Design document v4"), *p.deliverables[1:])
            ),
            action="deliverable.updated",
            entity="deliverable",
            entity_id="D1",
        )
        new, issued = ensure_document(ctx, "DEMO-1", "acceptance", milestone="M1")
        assert issued and new.number == "DEMO-1-ACC-M1-2"
        assert [d.number for d in ctx.store.documents("DEMO-1")] == ["DEMO-1-ACC-M1-1", "DEMO-1-ACC-M1-2"]
    finally:
        ctx.close()
