"""Hostile project text is printed as text, and the renderer fetches nothing but its own assets.

A project's names and comments come from users and imported files. Markup in them must reach the page
as the characters typed, and even markup that did reach WeasyPrint could only load files from the
templates folder or ``data:`` URIs: the fetcher refuses ``file:///etc/passwd``, http URLs and paths that
climb out of the folder, and records every attempt so these tests can prove nothing else was fetched.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import threading
from datetime import date
from pathlib import Path

import pytest

from lifecycle.documents.fetcher import AssetFetcher, FetchRefused
from lifecycle.documents.render import render_html, render_pdf, templates_dir
from lifecycle.services.documents import issue_document
from tests.documents.conftest import make_ctx, needs_tools
from tests.documents.samples import closed, in_execution, load_sample


class Listener:
    """A TCP port on 127.0.0.1 that records whether anything connected to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def hostile(port: int) -> dict[str, str]:
    return {
        "script": "<script>alert('x')</script>",
        "link": '<link rel="attachment" href="file:///etc/passwd">',
        "css": f"url(http://127.0.0.1:{port}/x)",
        "style": f"<style>@import url(http://127.0.0.1:{port}/s.css);</style>",
        "img": f'<img src="http://127.0.0.1:{port}/i.png">',
    }


def hostile_project(port: int, today: date):
    h = hostile(port)
    p = in_execution(closed(load_sample("en")), today)
    tasks = tuple(dataclasses.replace(t, name=h["script"] + " " + t.name) if not t.parent else t for t in p.tasks)
    deliverables = (dataclasses.replace(p.deliverables[0], name=h["link"], description=h["img"]), *p.deliverables[1:])
    report = dataclasses.replace(
        p.status_reports[-1], summary=" ".join(h.values()), accomplishments=(h["css"],), decisions_needed=(h["style"],)
    )
    risks = (dataclasses.replace(p.risks[0], title=h["link"], response_plan=h["css"]), *p.risks[1:])
    return dataclasses.replace(
        p,
        tasks=tasks,
        deliverables=deliverables,
        status_reports=(report,),
        risks=risks,
        charter=dataclasses.replace(p.charter, acceptance_method=h["style"] + h["script"]),
    )


def test_fetcher_serves_template_assets_and_data_uris_only(tmp_path):
    f = AssetFetcher(templates_dir())
    css = f.fetch((templates_dir() / "style.css").as_uri())
    assert b"@page" in css.read() and css.content_type == "text/css"
    assert f.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    assert f.fetch("data:,a%20b").read() == b"a b"
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:9/x",
        "https://example.invalid/a.css",
        (templates_dir() / ".." / "pyproject.toml").as_uri(),
        "ftp://host/x",
        "file://otherhost/etc/passwd",
        "javascript:alert(1)",
    ):
        with pytest.raises(FetchRefused):
            f.fetch(url)
    assert f.refused == f.attempts[3:]
    # a link inside the folder that points out of it is refused too
    root = tmp_path / "tpl"
    root.mkdir()
    (root / "leak.css").symlink_to("/etc/passwd")
    with pytest.raises(FetchRefused):
        AssetFetcher(root).fetch((root / "leak.css").as_uri())


def test_markup_that_reaches_weasyprint_still_fetches_nothing(listener, tmp_path):
    """Defence in depth: raw hostile HTML rendered with our fetcher embeds and requests nothing."""
    from weasyprint import HTML

    h = hostile(listener.port)
    html = (
        "<html><head>" + h["link"] + h["style"] + "<style>p{background:" + h["css"] + "}</style></head><body>"
        "<p>x</p>" + h["img"] + '<img src="../../../../../etc/passwd"><a rel="attachment" '
        'href="file:///etc/passwd">a</a></body></html>'
    )
    fetcher = AssetFetcher(templates_dir())
    pdf = HTML(string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=fetcher).write_pdf(
        pdf_variant="pdf/a-3b"
    )
    assert fetcher.attempts, "the renderer should have asked the fetcher"
    assert set(fetcher.attempts) == set(fetcher.refused)
    assert any(u.startswith("file:///etc/passwd") for u in fetcher.refused)
    assert any(u.startswith("http://127.0.0.1") for u in fetcher.refused)
    assert b"root:" not in pdf and b"/EmbeddedFile" not in pdf
    assert listener.connections == 0


@needs_tools
def test_hostile_project_text_prints_as_text_and_nothing_is_fetched(listener, tmp_path, monkeypatch):
    today = date(2027, 3, 20)
    project = hostile_project(listener.port, today)
    ctx = make_ctx(tmp_path / "ws", project, today=today)

    fetchers: list[AssetFetcher] = []

    class Recording(AssetFetcher):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            fetchers.append(self)

    monkeypatch.setattr("lifecycle.documents.render.AssetFetcher", Recording)
    status = issue_document(ctx, project.code, "status")
    acceptance = issue_document(ctx, project.code, "acceptance", milestone="M1")

    for doc in (status, acceptance):
        html = render_html(doc.record)
        assert "<script>" not in html and '<link rel="attachment"' not in html and '<img src="http' not in html
        assert "&lt;script&gt;" in html
        listing = subprocess.run(["pdfdetach", "-list", doc.path], capture_output=True, text=True).stdout
        assert "1 embedded files" in listing and "passwd" not in listing
        assert b"root:x:" not in Path(doc.path).read_bytes()
    status_text = " ".join(
        subprocess.run(["pdftotext", status.path, "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "<script>alert('x')</script>" in status_text
    assert '<link rel="attachment" href="file:///etc/passwd">' in status_text
    assert f"url(http://127.0.0.1:{listener.port}/x)" in status_text
    acc_text = " ".join(
        subprocess.run(["pdftotext", acceptance.path, "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "<style>@import" in acc_text and '<link rel="attachment"' in acc_text

    assert len(fetchers) == 2
    for f in fetchers:
        assert f.refused == []
        for url in f.attempts:
            assert url.startswith("data:") or (
                url.startswith("file://") and url.startswith(templates_dir().resolve().as_uri())
            ), url
    assert listener.connections == 0


def test_a_refused_fetch_stops_the_document(tmp_path, monkeypatch):
    """If a template ever names an outside URL, nothing is written or registered."""
    project = closed(load_sample("en"))
    ctx = make_ctx(tmp_path / "ws", project)
    real = render_pdf

    def leaky(record, **kw):
        out = real(record, **kw)
        out.refused.append("http://127.0.0.1:9/x")
        return out

    monkeypatch.setattr("lifecycle.documents.render.render_pdf", leaky)
    from lifecycle.errors import RenderError

    with pytest.raises(RenderError, match="only template assets"):
        issue_document(ctx, project.code, "handover", out_dir=tmp_path / "out")
    assert ctx.store.documents(project.code) == []
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
