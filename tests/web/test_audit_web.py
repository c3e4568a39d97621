"""Changes made through the web face are sealed like the CLI's: the trail verifies clean and anchored."""

from __future__ import annotations

from lifecycle.services import audit
from tests.web.conftest import CODE, csrf_of, login


def test_web_actions_leave_a_sealed_trail_that_verifies_clean(site, client):
    login(client, "pm")
    client.post(f"/projects/{CODE}/gate/advance", data={"csrf": csrf_of(client.get(f"/projects/{CODE}/gate").text)})
    page = client.get(f"/projects/{CODE}/progress").text
    task = page.split('name="pct:', 1)[1].split('"', 1)[0]
    res = client.post(f"/projects/{CODE}/progress", data={"csrf": csrf_of(page), f"pct:{task}": "40"})
    assert res.status_code == 303
    client.cookies.clear()
    login(client, "sponsor")
    token = csrf_of(client.get(f"/projects/{CODE}/gate").text)
    waiver = {"csrf": token, "rule": "PLN-05", "role": "sponsor", "reason": "steering", "until": "2026-10-01"}
    assert client.post(f"/projects/{CODE}/gate/waive", data=waiver).status_code == 303
    vote = {"csrf": token, "role": "sponsor", "comment": "fine"}
    assert client.post(f"/projects/{CODE}/gate/approve", data=vote).status_code == 303
    with site.ctx() as ctx:
        trail = ctx.store.audit(CODE)
        report = audit.verify(ctx)
    actions = [e.action for e in trail]
    assert {"gate.waiver", "gate.approval", "phase.changed"} <= set(actions), actions
    assert all(e.mac for e in trail) and report.anchored and report.problems == []
