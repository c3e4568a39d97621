"""Print-safe layout: every page of every document kind, both languages, samples and a stress project.

The stress project (``samples.stress``) has long names, 100-character ids and 60 deliverables. Each
document is read back with ``pdftotext -bbox``: every word lies inside the page's content box (header
and footer inside the paper minus 10 mm), no page holds only a footer's worth of content, no page but
the last ends on a heading, and the signature-and-seal blocks are printed once, on one page, with the
conclusion they sign.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lifecycle.documents.locale import Formatter
from lifecycle.documents.render import render_html
from lifecycle.services.documents import issue_document
from tests.documents import layout
from tests.documents.conftest import SCENARIOS, Issued, make_ctx, needs_tools, project_for
from tests.documents.samples import in_execution, load_sample, long_names, stress

pytestmark = needs_tools

KINDS = ("acceptance", "final_acceptance", "handover", "gate_review", "status")
CASES = [(which, kind, variant) for variant in ("sample", "stress") for which in ("zh", "en") for kind in KINDS]
SEAL = {"zh": "（盖章）", "en": "Company seal"}
CONCLUSION = {
    "acceptance": "sec.conclusion",
    "final_acceptance": "sec.conclusion",
    "handover": "sec.handover_signatures",
}


def _stress_project(which: str, kind: str):  # type: ignore[no-untyped-def]
    state, today = SCENARIOS[kind]
    base = load_sample(which)
    if state == "closed":
        return stress(base)
    if state == "execution":
        return in_execution(long_names(base), today)
    return long_names(base)


@pytest.fixture(scope="session")
def stressed(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Issued]:
    cache: dict[tuple[str, str], Issued] = {}
    root = tmp_path_factory.mktemp("stress")

    def get(which: str, kind: str) -> Issued:
        if (which, kind) not in cache:
            _, today = SCENARIOS[kind]
            project = _stress_project(which, kind)
            ctx = make_ctx(root / f"{which}-{kind}", project, today=today)
            ms = project.milestones[-1].id if kind == "acceptance" else None
            cache[(which, kind)] = Issued(which, kind, ctx, issue_document(ctx, project.code, kind, milestone=ms))
        return cache[(which, kind)]

    return get


@pytest.fixture
def document(request, issued, stressed) -> Issued:  # type: ignore[no-untyped-def]
    which, kind, variant = request.param
    return (issued if variant == "sample" else stressed)(which, kind)  # type: ignore[no-any-return]


def _pages(doc: Issued) -> list[list[layout.Word]]:
    pages = layout.words(Path(doc.doc.path))
    assert pages, f"{doc.doc.number}: no pages read"
    return pages


@pytest.mark.parametrize("document", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_every_word_lies_inside_the_content_box(document: Issued) -> None:
    problems = layout.outside_content_box(_pages(document))
    assert not problems, f"{document.doc.number}: {len(problems)} words outside the page:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("document", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_no_page_holds_only_a_footers_worth(document: Issued) -> None:
    problems = layout.thin_pages(_pages(document))
    assert not problems, f"{document.doc.number}: " + "; ".join(problems)


@pytest.mark.parametrize("document", CASES, indirect=True, ids=["-".join(c) for c in CASES])
def test_headings_keep_with_what_follows(document: Issued) -> None:
    headings = layout.heading_texts(render_html(document.doc.record))
    assert headings, "the document's HTML has no headings"
    problems = layout.headings_at_page_bottom(_pages(document), headings)
    assert not problems, f"{document.doc.number}: " + "; ".join(problems)


SIGNED = [c for c in CASES if c[1] in CONCLUSION]


@pytest.mark.parametrize("document", SIGNED, indirect=True, ids=["-".join(c) for c in SIGNED])
def test_signature_blocks_are_printed_once_with_the_conclusion(document: Issued) -> None:
    pages = _pages(document)
    lang = document.doc.lang
    seal = SEAL["zh" if lang.startswith("zh") else "en"]
    label = seal.replace(" ", "")
    counts = {n: "".join(layout.lines(page)).replace(" ", "").count(label) for n, page in enumerate(pages, start=1)}
    on = sorted(n for n, c in counts.items() if c)
    assert len(on) == 1, f"{document.doc.number}: seal boxes on pages {on}"
    assert counts[on[0]] == 2, f"{document.doc.number}: {counts[on[0]]} seal boxes (client and supplier once each)"
    heading = Formatter(lang).t(CONCLUSION[document.kind])
    assert on[0] in layout.page_of(pages, heading), (
        f"{document.doc.number}: the signatures are not on the page of '{heading}'"
    )


def test_the_checker_sees_a_word_outside_the_box(tmp_path: Path) -> None:
    """The checker itself: a page with text pushed past the right margin is reported."""
    from weasyprint import HTML

    pdf = tmp_path / "wide.pdf"
    HTML(
        string="<style>@page{size:A4;margin:21mm 18mm 17mm 18mm}</style><p>inside</p>"
        '<p style="margin-left:170mm;white-space:nowrap">outside-the-margin</p>' + "<p>x</p>" * 30
    ).write_pdf(pdf)
    problems = layout.outside_content_box(layout.words(pdf))
    assert any("outside" in p and "mm outside" in p for p in problems), problems


RESULTS = [c for c in CASES if c[1] in ("acceptance", "final_acceptance")]


@pytest.mark.parametrize("document", RESULTS, indirect=True, ids=["-".join(c) for c in RESULTS])
def test_criterion_result_rows_are_never_split(document: Issued) -> None:
    """Each criterion's row (criterion, target, measured, method, evidence, verifier, date, result) is
    laid out on one page: no row box of the results tables continues on the next page."""
    from lifecycle.documents.render import templates_dir

    split, rows = layout.rows_split_across_pages(render_html(document.doc.record), "criteria-results", templates_dir())
    assert rows >= 5, f"{document.doc.number}: only {rows} criterion rows laid out"
    assert split == 0, f"{document.doc.number}: {split} of {rows} criterion rows split across pages"


def test_the_row_checker_sees_a_split_row() -> None:
    """The checker itself: long rows that may break are reported, the same rows kept whole are not."""
    from lifecycle.documents.render import templates_dir

    def table(style: str) -> str:
        rows = "".join(f"<tr{style}><td>{'word ' * 400}</td></tr>" for _ in range(3))
        return f"<html><body><table class='criteria-results'><tbody>{rows}</tbody></table></body></html>"

    assert layout.rows_split_across_pages(table(""), "criteria-results", templates_dir())[0] >= 1
    kept = " style='break-inside: avoid'"
    assert layout.rows_split_across_pages(table(kept), "criteria-results", templates_dir()) == (0, 3)


INTERNAL = [(which, kind) for which in ("zh", "en") for kind in ("final_acceptance", "status")]


@pytest.mark.parametrize(("which", "kind"), INTERNAL, ids=["-".join(c) for c in INTERNAL])
def test_the_pmos_internal_versions_are_print_safe_too(which: str, kind: str, tmp_path: Path) -> None:
    """The internal mark adds a line to the running header; every word still lies inside the page."""
    state, today = SCENARIOS[kind]
    project = project_for(which, state, today)
    ctx = make_ctx(tmp_path / "ws", project, today=today)
    doc = issue_document(ctx, project.code, kind, audience="internal")
    pages = layout.words(Path(doc.path))
    problems = layout.outside_content_box(pages) + layout.thin_pages(pages)
    problems += layout.headings_at_page_bottom(pages, layout.heading_texts(render_html(doc.record)))
    assert pages and not problems, f"{doc.number}: " + "\n".join(problems[:20])
