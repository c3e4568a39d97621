"""The client acceptance pages over HTTP: the headers of the framed certificate, an answer that is
incomplete, and the clear pages of an invalid, expired or used link (nothing recorded)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import CODE, USERS, Site, csrf_of


@pytest.fixture
def token(site: Site, monkeypatch: pytest.MonkeyPatch) -> str:
    from lifecycle.services import client_acceptance
    from lifecycle.services.documents import issue_document
    from lifecycle.services.milestones import complete_milestone

    c = site.ctx("pm")
    try:
        complete_milestone(c, CODE, "M1")
        doc = issue_document(c, CODE, "acceptance", milestone="M1")
        return client_acceptance.issue_link(c, doc.id, USERS["client"][0])
    finally:
        c.close()


def _answers(site: Site) -> int:
    c = site.ctx()
    try:
        return len(c.store.records(CODE, "client_signoff"))
    finally:
        c.close()


def test_the_page_frames_only_its_own_certificate(client, token):
    page = client.get(f"/accept/{token}")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    pdf = client.get(f"/accept/{token}/pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert pdf.headers["content-type"] == "application/pdf"
    assert "frame-ancestors 'self'" in pdf.headers["content-security-policy"]
    assert pdf.headers["x-frame-options"] == "SAMEORIGIN"
    assert client.get("/portfolio").status_code == 303  # the link signs nobody in


def test_an_incomplete_answer_is_refused_and_nothing_is_recorded(site, client, token):
    page = client.get(f"/accept/{token}").text
    ids = re.findall(r'name="verdict:([^"]+)" value="accept"', page)
    data: dict[str, Any] = {"csrf": csrf_of(page), "confirm_name": "Priya Nair", f"verdict:{ids[0]}": "accept"}
    res = client.post(f"/accept/{token}", data=data)
    assert res.status_code == 400 and "answer each deliverable once" in res.text
    wrong_name = {**data, **{f"verdict:{i}": "accept" for i in ids}, "confirm_name": "Somebody Else"}
    res = client.post(f"/accept/{token}", data=wrong_name)
    assert res.status_code == 400 and "confirm with your name" in res.text
    assert _answers(site) == 0


def test_invalid_and_used_links_show_a_clear_page(site, client, token):
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    res = client.get(f"/accept/{tampered}")
    assert res.status_code == 404 and "This link is not valid. Nothing was recorded." in res.text
    assert client.get(f"/accept/{tampered}/pdf").status_code == 404

    page = client.get(f"/accept/{token}").text
    ids = re.findall(r'name="verdict:([^"]+)" value="accept"', page)
    data = {"csrf": csrf_of(page), "confirm_name": "Priya Nair", **{f"verdict:{i}": "accept" for i in ids}}
    assert client.post(f"/accept/{token}", data=data).status_code == 200
    assert _answers(site) == 1
    again = client.post(f"/accept/{token}", data=data)
    assert again.status_code == 410 and "already used" in again.text
    assert _answers(site) == 1


def test_an_expired_link_shows_a_clear_page(site, token, monkeypatch):
    from lifecycle.services.context import open_workspace
    from lifecycle.web.app import WebSettings, create_app

    monkeypatch.setenv("PMO_NOW", "2026-09-30T09:00:00+00:00")  # the link was issued on 28 August for 14 days
    monkeypatch.setenv("PMO_TODAY", "2026-09-30")
    # a server started on that day (the environment is read once, when the workspace is opened)
    app = create_app(WebSettings(open_workspace(str(site.ws)), base_url="http://testserver"))
    with TestClient(app, follow_redirects=False) as client:
        res = client.get(f"/accept/{token}")
    assert res.status_code == 410 and "This link has expired. Nothing was recorded." in res.text
    assert _answers(site) == 0


def test_the_page_shows_the_criterion_results_the_certificate_states(site, client, token):
    """One row per criterion with the result printed on the certificate; a result recorded after the
    certificate was issued is not what the client is accepting, so the page does not show it."""
    from lifecycle.services import criteria

    page = client.get(f"/accept/{token}").text
    rows = re.findall(r'<tr class="criterion result-(\w+)">', page)
    assert rows == ["pass"] * 5, rows  # the sample's D1 (two criteria) and D2 (three), all verified
    assert "Traceability matrix RTM-1.3" in page and "10 of 10 requirements" in page and "2026-09-28" in page
    assert "Every confirmed requirement traced" in page
    c = site.ctx("pm")
    try:
        new = criteria.NewResult("fail", measured="9 of 10", verifier="lucy_morgan", evidence="RTM-1.4")
        criteria.record_criterion_result(c, CODE, "D1", "D1-AC1", new)
    finally:
        c.close()
    page = client.get(f"/accept/{token}").text
    assert re.findall(r'<tr class="criterion result-(\w+)">', page) == ["pass"] * 5
    assert "RTM-1.4" not in page
