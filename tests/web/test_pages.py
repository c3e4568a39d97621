"""The pages over HTTP on the real app: portfolio filters and sorting, the sweep indicator, the
project, gate, progress and rules pages, Chinese labels, kept pages that never outlive a change,
and the web face's layering (services only)."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

from starlette.testclient import TestClient

from lifecycle.documents import catalogs
from tests.web.conftest import CODE, OTHER, csrf_of, login

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "lifecycle" / "web"


def _codes(html: str) -> list[str]:
    return re.findall(r'<td class="code"><a href="/projects/([^"]+)">', html)


def _swept(client: TestClient) -> str:
    for _ in range(120):
        html = client.get("/portfolio").text
        if 'class="sweep"' not in html:
            return html
        assert '<meta http-equiv="refresh"' in html  # the page refreshes itself while the sweep runs
        time.sleep(0.5)
    raise AssertionError("the sweep did not finish")


def test_portfolio_filters_sorts_and_shows_the_swept_decision(client):
    login(client, "admin")
    html = _swept(client)
    assert _codes(html) == [CODE, OTHER]
    assert 'title="initiation_to_planning">Authorise planning<' in html and 'class="decision d-go"' in html
    assert _codes(client.get("/portfolio?sort=code&desc=1").text) == [OTHER, CODE]
    assert _codes(client.get("/portfolio?q=other").text) == [OTHER]
    assert _codes(client.get("/portfolio?phase=planning").text) == []
    assert _codes(client.get("/portfolio?rag=green").text) == [CODE, OTHER]
    assert "No projects match." in client.get("/portfolio?rag=red").text


def test_a_kept_page_never_outlives_a_change_made_through_the_server(client):
    login(client, "pm")
    before = client.get(f"/projects/{CODE}/gate").text
    assert "Advance to planning" in before
    token = csrf_of(before)
    assert client.post(f"/projects/{CODE}/gate/advance", data={"csrf": token}).status_code == 303
    after = client.get(f"/projects/{CODE}/gate").text
    assert "planning → execution" in after and "Advance to planning" not in after
    assert "Planning" in client.get(f"/projects/{CODE}").text


def test_a_change_by_another_process_shows_within_the_stamp_ttl(site, app, client):
    from lifecycle.services.projects import set_fields

    login(client, "pm")
    assert "Brand-new risk title" not in client.get(f"/projects/{CODE}").text
    c = site.ctx("pm")
    try:
        set_fields(c, CODE, "risks", "R-01", {"title": "Brand-new risk title"}, action="risk.update")
    finally:
        c.close()
    time.sleep(app.state.web.stamps.ttl + 0.1)
    assert "Brand-new risk title" in client.get(f"/projects/{CODE}").text


def test_kept_pages_carry_each_browser_its_own_csrf_token(app, client):
    login(client, "pm")
    first = csrf_of(client.get(f"/projects/{CODE}/gate").text)
    with TestClient(app, follow_redirects=False) as other:
        login(other, "pm")
        second = csrf_of(other.get(f"/projects/{CODE}/gate").text)
    assert first != second
    assert client.post(f"/projects/{CODE}/progress", data={"csrf": first}).status_code == 303


def test_progress_refuses_a_bad_percentage_and_writes_nothing(site, client):
    login(client, "pm")
    page = client.get(f"/projects/{CODE}/progress").text
    task = re.search(r'name="pct:([^"]+)"', page).group(1)
    res = client.post(f"/projects/{CODE}/progress", data={"csrf": csrf_of(page), f"pct:{task}": "140"})
    assert res.status_code == 400 and "from 0 to 100" in res.text
    c = site.ctx()
    try:
        assert next(t for t in c.store.get(CODE).tasks if t.id == task).percent_complete == 0
    finally:
        c.close()


def test_progress_page_is_for_the_project_team_only(client):
    login(client, "sponsor")
    assert client.get(f"/projects/{CODE}/progress").status_code == 403
    assert 'href="/projects/' + CODE + '/progress"' not in client.get(f"/projects/{CODE}").text


def test_waiver_needs_a_reason_and_an_expiry(client):
    login(client, "pm")
    client.post(f"/projects/{CODE}/gate/advance", data={"csrf": csrf_of(client.get(f"/projects/{CODE}/gate").text)})
    client.cookies.clear()
    login(client, "sponsor")
    page = client.get(f"/projects/{CODE}/gate").text
    assert 'name="reason" required' in page and 'name="until" required' in page
    token = csrf_of(page)
    no_reason = client.post(
        f"/projects/{CODE}/gate/waive", data={"csrf": token, "rule": "PLN-05", "role": "sponsor", "until": "2026-10-01"}
    )
    assert no_reason.status_code == 400 and "needs a reason" in no_reason.text
    no_date = client.post(
        f"/projects/{CODE}/gate/waive", data={"csrf": token, "rule": "PLN-05", "role": "sponsor", "reason": "ok"}
    )
    assert no_date.status_code == 400 and "expiry" in no_date.text


def test_steering_member_reads_in_chinese_and_gets_no_waiver_form(client):
    login(client, "steering")
    html = client.get(f"/projects/{CODE}").text
    assert '<html lang="zh-CN">' in html and "项目章程" in html and "关键路径" in html
    gate = client.get(f"/projects/{CODE}/gate").text
    assert "阶段关口" in gate and 'details class="waive"' not in gate


def test_a_traditional_chinese_browser_gets_zh_tw_pages_in_the_tc_face(client):
    html = client.get("/login", headers={"accept-language": "zh-Hant-TW,zh;q=0.8,en;q=0.5"}).text
    assert '<html lang="zh-TW">' in html and "登入" in html and "電子郵件" in html and "邮箱" not in html
    css = client.get("/static/web.css").text
    rule = css[css.index(":root:lang(zh-TW)") :].split("}")[0]
    assert '"Noto Sans CJK TC"' in rule and "SC" not in rule
    assert '<html lang="zh-CN">' in client.get("/login", headers={"accept-language": "zh-CN"}).text


def test_rules_page_lists_the_pack_its_tests_and_a_diff(site, client, tmp_path):
    import shutil

    from lifecycle.workspace import package_data_dir

    login(client, "admin")
    html = client.get("/rules").text
    assert "PLN-05" in html and "passed" in html
    outside = client.get("/rules", params={"diff": "/etc"}).text
    assert "a pack to review must be in" in outside and "passwd" not in outside
    new = site.ws / "review" / "pack"
    shutil.copytree(package_data_dir("rules") / "default", new)
    gate = new / "gates" / "initiation.yaml"
    gate.write_text(gate.read_text(encoding="utf-8").replace("severity: blocking", "severity: warning"), "utf-8")
    diff = client.get("/rules", params={"diff": str(new)}).text
    assert "projects would change" in diff or "No project" in diff
    assert "no rule pack folder" in client.get("/rules", params={"diff": str(site.ws / "nope")}).text


def test_document_download_and_verify_are_checked_against_rights(site, client):
    from lifecycle.services.documents import issue_document

    c = site.ctx("pm")
    try:
        doc = issue_document(c, CODE, "status")
    finally:
        c.close()
    login(client, "pm")
    pdf = client.get(f"/projects/{CODE}/documents/{doc.id}")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    assert doc.number in client.get(f"/projects/{CODE}/documents/{doc.id}/verify").text
    Path(doc.path).unlink()  # a server on another machine than the one that issued it: the database copy
    again = client.get(f"/projects/{CODE}/documents/{doc.id}")
    assert again.status_code == 200 and again.content == pdf.content
    assert "<dd>authentic</dd>" in client.get(f"/projects/{CODE}/documents/{doc.id}/verify").text
    client.cookies.clear()
    login(client, "other_client")
    assert client.get(f"/projects/{CODE}/documents/{doc.id}").status_code == 404


def test_the_pmos_internal_version_is_shown_to_the_pm_and_never_to_the_client(site, client):
    from lifecycle.services.documents import issue

    c = site.ctx("pm")
    try:
        internal = issue(c, CODE, "status", audience="internal").document
    finally:
        c.close()
    url = f"/projects/{CODE}/documents/{internal.id}"
    login(client, "pm")
    assert f'/documents/{internal.id}"' in client.get(f"/projects/{CODE}").text
    assert client.get(url).content == Path(internal.path).read_bytes()
    client.cookies.clear()
    login(client, "client")  # the client representative may see the project, not the PMO's version
    page = client.get(f"/projects/{CODE}")
    assert page.status_code == 200 and f"/documents/{internal.id}" not in page.text
    assert client.get(url).status_code == 404 and client.get(f"{url}/verify").status_code == 404


# ------------------------------------------------------------------ catalog and layering
def test_every_label_a_template_uses_exists_in_the_catalog():
    used = set()
    for path in (WEB / "templates").rglob("*.html"):
        used |= set(re.findall(r't\("([a-z_.]+)"', path.read_text(encoding="utf-8")))
    for path in WEB.rglob("*.py"):
        used |= set(re.findall(r'"((?:login|done|accept|error|gate)\.[a-z_.]+)"', path.read_text(encoding="utf-8")))
    missing = sorted(k for k in used if k not in catalogs.source("web") and not k.endswith((".", ".html")))
    assert not missing, missing


def test_the_web_face_imports_services_only():
    forbidden = ("lifecycle.storage", "lifecycle.load", "lifecycle.expr", "lifecycle.documents", "lifecycle.notify")
    for path in WEB.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                mods = [node.module]
            for mod in mods:
                assert not mod.startswith(forbidden), f"{path.name} imports {mod}"
                if mod.startswith("lifecycle.domain"):
                    assert mod == "lifecycle.domain.policy", f"{path.name} imports {mod}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in ("store", "get_many", "list_projects"), f"{path.name} calls the store"
        assert ".store." not in path.read_text(encoding="utf-8"), f"{path.name} reaches into the store"


def test_a_stamp_read_while_the_server_changed_something_is_not_kept():
    from lifecycle.web.app import StampMemo

    memo = StampMemo(60)

    def read_then_a_post_clears() -> str:
        value = "before"
        memo.clear()  # a POST finishes while this stamp was being read
        return value

    assert memo.get("/portfolio", read_then_a_post_clears) == "before"
    assert memo.get("/portfolio", lambda: "after") == "after"
    assert memo.get("/portfolio", lambda: "later") == "after"  # kept for the ttl
