"""The web pages in a real browser (Debian's Chromium through chromedriver, Selenium 4).

One scenario on the English sample, served by uvicorn on a loopback port: the PM signs in, records
progress and takes the project into planning; the sponsor waives the blocking findings of the
planning gate through the waiver form and approves it; the client representative approves; a
steering member (who holds no approval role at this gate, and reads the pages in Chinese) sees no
approve button and is refused by the endpoint itself; the PM advances the project into execution.
Then the client opens the acceptance link e-mailed to them, rejects one deliverable and accepts the
others; the records, audit events and countersigned PDF are checked, and the used link is refused.
Screenshots of the pages are taken on the way (``PMO_KEEP_SCREENSHOTS=1`` copies them to
docs/screenshots/).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.flows.conftest import Inbox
from tests.web.browser import chromium, have_browser, serving, shot
from tests.web.conftest import CODE, PASSWORD, USERS, Site

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not have_browser(), reason="needs Debian's chromium and chromium-driver (scripts/setup.sh)"),
]

KEEP = os.environ.get("PMO_KEEP_SCREENSHOTS") == "1"


def _by(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, css)


def _all(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return driver.find_elements(By.CSS_SELECTOR, css)


def submit(driver: Any, element: Any) -> None:
    """Click ``element`` and wait for the next page to load (the old one goes stale)."""
    from selenium.webdriver.support.ui import WebDriverWait

    old = _by(driver, "html")
    element.click()
    WebDriverWait(driver, 20).until(lambda d: _gone(old))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _gone(element: Any) -> bool:
    """Has the page ``element`` belongs to been replaced? Chromium's driver reports a node of a replaced
    document either as stale or, during the swap, as "does not belong to the document": both mean yes."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def sign_in(driver: Any, base: str, who: str) -> None:
    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    _by(driver, "input[name=email]").send_keys(USERS[who][0])
    _by(driver, "input[name=password]").send_keys(PASSWORD)
    submit(driver, _by(driver, "form button[type=submit]"))
    assert "/portfolio" in driver.current_url, _by(driver, "main").text


def _wait_sweep(driver: Any, base: str) -> None:
    import time

    for _ in range(60):
        if not _all(driver, ".sweep"):
            return
        time.sleep(1)
        driver.get(f"{base}/portfolio")
    raise AssertionError("the portfolio sweep did not finish")


def _fits_a_phone(driver: Any, folder: Path) -> None:
    """At a phone's width the gate page needs no sideways scrolling (wide tables scroll in their box)."""
    driver.set_window_size(390, 844)
    try:
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        wide = driver.execute_script(
            "return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
            "window.innerWidth + 1 && !e.closest('.table-wrap, .chart')).slice(0, 5).map(e => e.tagName + '.' + "
            "e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
        )
        assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px window: {wide}"
        shot(driver, folder, "gate-phone", keep=KEEP, width=390)
    finally:
        driver.set_window_size(1366, 900)


def _project(site: Site) -> Any:
    c = site.ctx()
    try:
        return c.store.get(CODE)
    finally:
        c.close()


@pytest.fixture
def mail_app(site: Site, inbox: Inbox) -> Any:
    """The app on a workspace whose settings send e-mail to the loopback SMTP server."""
    import yaml

    from lifecycle.services.context import open_workspace
    from lifecycle.web.app import WebSettings, create_app

    path = site.ws / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    settings["smtp"] = inbox.settings()
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return create_app(WebSettings(open_workspace(str(site.ws))))


def _certificate_sent(site: Site, inbox: Inbox, base: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Milestone M1 done on its date, its acceptance certificate issued and e-mailed; the link's token."""
    import re

    from lifecycle.services.delivery import send_document
    from lifecycle.services.documents import issue_document
    from lifecycle.services.milestones import complete_milestone

    monkeypatch.setenv("PMO_TODAY", "2026-10-15")
    monkeypatch.setenv("PMO_NOW", "2026-10-15T09:00:00+00:00")
    c = site.ctx("pm")
    try:
        complete_milestone(c, CODE, "M1")
        doc = issue_document(c, CODE, "acceptance", milestone="M1")
        send_document(c, doc)
    finally:
        c.close()
    mail = inbox.messages[-1]
    assert mail.rcpt_tos == [USERS["client"][0]]
    body = mail.message.get_body(("plain",)).get_content()
    m = re.search(re.escape(base) + r"/accept/(\S+)", body)
    assert m, body
    return m.group(1)


def _check_acceptance(site: Site, inbox: Inbox, accepted: list[str], rejected: str) -> None:
    """The answer's records, audit event, sign-off and the countersigned PDF sent back."""
    import subprocess

    c = site.ctx()
    try:
        p = c.store.get(CODE)
        status = {d.id: d.status for d in p.deliverables}
        assert status[rejected] == "rejected" and all(status[d] == "accepted" for d in accepted)
        events = [e for e in c.store.audit(CODE) if e.action == "client.acceptance"]
        assert len(events) == 1
        ev = events[0]
        assert ev.actor == USERS["client"][0] and ev.data["auth_method"] == "client_link"
        assert ev.data["ip"] == "127.0.0.1" and "Chrome" in ev.data["user_agent"]
        assert {a["deliverable"]: a["verdict"] for a in ev.data["answers"]}[rejected] == "rejected"
        signoffs = c.store.records(CODE, "client_signoff")
        assert len(signoffs) == 1 and signoffs[0].data["confirm_name"] == "Priya Nair"
        docs = c.store.documents(CODE)
    finally:
        c.close()
    assert len(docs) == 2, [d.number for d in docs]  # the certificate and its countersigned copy
    back = [
        m
        for m in inbox.messages
        if any(p.get_content_type() == "application/pdf" for p in m.message.iter_attachments())
    ]
    assert len(back) >= 2  # the certificate, then the countersigned copy
    pdf = next(p for p in back[-1].message.iter_attachments() if p.get_content_type() == "application/pdf")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.get_content(), capture_output=True, check=True).stdout
    assert b"The DPIA section is missing" in text and b"Priya Nair" in text


def test_pm_sponsor_client_and_a_bystander_in_the_browser(
    site: Site, mail_app: Any, inbox: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serving(mail_app) as base, chromium() as driver:
        monkeypatch.setenv("PMO_BASE_URL", base)  # links in e-mails point at this server
        # -- the PM: portfolio, project, progress, and into planning
        sign_in(driver, base, "pm")
        _wait_sweep(driver, base)
        assert CODE in driver.page_source
        shot(driver, tmp_path, "portfolio", keep=KEEP)
        submit(driver, _by(driver, f"a[href='/projects/{CODE}']"))
        assert _by(driver, "h1").text == "Northbridge patient portal and CRM rollout"
        assert _all(driver, ".chart svg .gantt-row.critical"), "the Gantt shows the critical path"
        shot(driver, tmp_path, "project", keep=KEEP)

        submit(driver, _by(driver, f"a[href='/projects/{CODE}/progress']"))
        field = _all(driver, "input.pct")[0]
        task_id = field.get_attribute("name").split(":", 1)[1]
        field.clear()
        field.send_keys("40")
        submit(driver, _by(driver, "#save-progress"))
        assert "Progress saved: 1 task(s) changed." in _by(driver, ".alert.ok").text
        task = next(t for t in _project(site).tasks if t.id == task_id)
        assert task.percent_complete == 40 and task.status == "in_progress"

        driver.get(f"{base}/projects/{CODE}/gate")
        submit(driver, _by(driver, "#advance"))
        assert _project(site).phase == "planning"

        # -- the sponsor: waives the blocking findings, then approves
        sign_in(driver, base, "sponsor")
        driver.get(f"{base}/projects/{CODE}/gate")
        assert "no-go" in _by(driver, ".verdict").text
        assert "any change to the project voids it" in _by(driver, ".note").text
        while _all(driver, "details.waive"):
            details = _all(driver, "details.waive")[0]
            details.click()
            form = details.find_element("css selector", "form")
            form.find_element("css selector", "input[name=reason]").send_keys("Fixed in the first sprint")
            until = form.find_element("css selector", "input[name=until]")
            driver.execute_script("arguments[0].value = '2026-10-15'", until)
            submit(driver, form.find_element("css selector", "button[type=submit]"))
            assert "The waiver is recorded." in _by(driver, ".alert.ok").text
        assert _all(driver, "#approve-sponsor") and not _all(driver, "#approve-client_representative")
        _by(driver, "form.approve input[name=comment]").send_keys("Plan approved")
        submit(driver, _by(driver, "#approve-sponsor"))
        assert "Your approval is recorded." in _by(driver, ".alert.ok").text

        # -- the client representative approves
        sign_in(driver, base, "client")
        driver.get(f"{base}/projects/{CODE}/gate")
        submit(driver, _by(driver, "#approve-client_representative"))
        assert "Your approval is recorded." in _by(driver, ".alert.ok").text
        assert "conditional go" in _by(driver, ".verdict").text or "go" in _by(driver, ".verdict").text
        shot(driver, tmp_path, "gate", keep=KEEP)
        _fits_a_phone(driver, tmp_path)

        # -- a steering member (Chinese pages) gets no button, and the endpoint refuses them
        sign_in(driver, base, "steering")
        assert "项目组合" in _by(driver, "h1").text
        shot(driver, tmp_path, "portfolio-zh", keep=KEEP)
        driver.get(f"{base}/projects/{CODE}/gate")
        assert "审批" in driver.page_source and not _all(driver, "form.approve")
        token = _by(driver, "input[name=csrf]").get_attribute("value")
        cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
        res = httpx.post(
            f"{base}/projects/{CODE}/gate/approve",
            data={"csrf": token, "role": "sponsor", "decision": "approve"},
            cookies=cookies,
        )
        assert res.status_code == 403, res.text

        # -- the PM advances the project into execution
        sign_in(driver, base, "pm")
        driver.get(f"{base}/projects/{CODE}/gate")
        submit(driver, _by(driver, "#advance"))
        assert "The project advanced." in driver.page_source or _project(site).phase == "execution"

        # -- the design milestone is reached; its certificate goes to the client with a link
        token = _certificate_sent(site, inbox, base, monkeypatch)
        driver.delete_all_cookies()
        driver.get(f"{base}/accept/{token}")
        assert "Design sign-off" in _by(driver, "h1").text
        assert f"/accept/{token}/pdf#" in _by(driver, "iframe.pdf-frame").get_attribute("src")
        ids = [f.get_attribute("id").split("-", 1)[1] for f in _all(driver, "fieldset.deliverable")]
        assert len(ids) >= 2
        # the criterion results the client is accepting, one row each, as the certificate states them
        rows = _all(driver, "#criteria-D1 tr.criterion")
        assert len(rows) == 2 and "Traceability matrix RTM-1.3" in rows[0].text and "Pass" in rows[0].text
        assert len(_all(driver, "table.criteria tr.result-pass")) == 5
        rejected, accepted = ids[-1], ids[:-1]
        for did in accepted:
            _by(driver, f"input[name='verdict:{did}'][value=accept]").click()
        _by(driver, f"input[name='verdict:{rejected}'][value=reject]").click()
        _by(driver, f"textarea[name='comment:{rejected}']").send_keys("The DPIA section is missing")
        _by(driver, "input[name=confirm_name]").send_keys("Priya Nair")
        shot(driver, tmp_path, "acceptance", keep=KEEP)
        submit(driver, _by(driver, "#send-answer"))
        assert "your answer is recorded" in _by(driver, "h1").text
        shot(driver, tmp_path, "acceptance-done", keep=False)

        # -- the same link again: refused, nothing recorded
        driver.get(f"{base}/accept/{token}")
        assert "already used" in _by(driver, "#link-state").text
        again = httpx.get(f"{base}/accept/{token}")
        assert again.status_code == 410

    _check_acceptance(site, inbox, accepted, rejected)

    p = _project(site)
    assert p.phase == "execution"
    c = site.ctx()
    try:
        events = c.store.audit(CODE)
        votes = [e for e in events if e.action == "gate.approval"]
        assert {(e.actor, e.data.get("auth_method")) for e in votes} == {
            (USERS["sponsor"][0], "password"),
            (USERS["client"][0], "password"),
        }
        assert all(e.data.get("user_id", "").startswith("u-") for e in votes)
        waivers = [e for e in events if e.action == "gate.waiver"]
        assert len(waivers) == 4 and {e.data["granted_by"] for e in waivers} == {"richard_ashworth"}
        moves = [e.data["to"] for e in events if e.action == "phase.changed"]
        assert moves == ["planning", "execution"]
    finally:
        c.close()
