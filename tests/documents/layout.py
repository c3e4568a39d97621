"""Print-safe layout checks on a rendered PDF, read back with ``pdftotext -bbox`` (positions in points).

A client prints and files these documents, so every word must lie inside the page's content box (A4,
18 mm side margins); the running header and footer may use the margin band but stay 10 mm from the
paper's edge. No page may carry only a line or two (a stray footer's worth), no page may end on a
heading, and the signature blocks are printed once each, on the page of the conclusion they sign.
"""

from __future__ import annotations

import html
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

MM = 72.0 / 25.4
PAPER = (210 * MM, 297 * MM)
SIDE, TOP, BOTTOM = 18 * MM, 21 * MM, 20 * MM  # the @page margins of templates/style.css
EDGE = 10 * MM  # header and footer stay this far from the paper's edge
SLACK = 0.75  # points: rounding of glyph boxes
MIN_BODY_HEIGHT = 25 * MM  # a page's body content spans at least this much (more than a footer's worth)

_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', re.DOTALL)
_PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.DOTALL)


@dataclass(frozen=True)
class Word:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def in_margin_band(self) -> bool:
        """Above the top or below the bottom margin line: the running header or the footer."""
        return self.y1 <= TOP + SLACK or self.y0 >= PAPER[1] - BOTTOM - SLACK


def words(pdf: Path) -> list[list[Word]]:
    """Every page's words with their boxes."""
    out = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    pages = []
    for n, page in enumerate(_PAGE.finditer(out), start=1):
        pages.append(
            [
                Word(n, float(a), float(b), float(c), float(d), html.unescape(t))
                for a, b, c, d, t in _WORD.findall(page.group(3))
            ]
        )
    return pages


def lines(page: list[Word]) -> list[str]:
    """The page's body text (header and footer left out) as lines, top to bottom."""
    rows: dict[int, list[Word]] = {}
    for w in page:
        if not w.in_margin_band:
            rows.setdefault(round(w.y1), []).append(w)
    return ["".join(x.text for x in sorted(ws, key=lambda w: w.x0)) for _, ws in sorted(rows.items())]


def outside_content_box(pages: list[list[Word]]) -> list[str]:
    """Words that a printer would clip or that sit in the margin where only header and footer belong."""
    problems = []
    for page in pages:
        for w in page:
            if w.in_margin_band:
                left, right, top, bottom = EDGE, PAPER[0] - EDGE, EDGE, PAPER[1] - EDGE
            else:
                left, right, top, bottom = SIDE, PAPER[0] - SIDE, TOP, PAPER[1] - BOTTOM
            if w.x0 < left - SLACK or w.x1 > right + SLACK or w.y0 < top - SLACK or w.y1 > bottom + SLACK:
                over = max(left - w.x0, w.x1 - right, top - w.y0, w.y1 - bottom) / MM
                problems.append(f"p.{w.page}: {w.text[:40]!r} {over:.1f} mm outside")
    return problems


def thin_pages(pages: list[list[Word]]) -> list[str]:
    """Pages whose body holds no more than a footer's worth of content."""
    problems = []
    for n, page in enumerate(pages, start=1):
        body = [w for w in page if not w.in_margin_band]
        height = (max(w.y1 for w in body) - min(w.y0 for w in body)) if body else 0.0
        if height < MIN_BODY_HEIGHT:
            problems.append(f"p.{n}: body spans {height / MM:.1f} mm ({' '.join(w.text for w in body)[:60]!r})")
    return problems


def headings_at_page_bottom(pages: list[list[Word]], headings: set[str]) -> list[str]:
    """Pages (but the last) whose last body line is a heading: the heading is cut off from its text."""
    problems = []
    for n, page in enumerate(pages[:-1], start=1):
        body = lines(page)
        if body and _squash(body[-1]) in headings:
            problems.append(f"p.{n} ends with the heading {body[-1]!r}")
    return problems


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


_HEADING = re.compile(r"<h([1-4])[^>]*>(.*?)</h\1>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def heading_texts(document_html: str) -> set[str]:
    """The texts of every heading (h1–h4) of the document's HTML, whitespace removed."""
    return {_squash(html.unescape(_TAG.sub("", m.group(2)))) for m in _HEADING.finditer(document_html)}


def page_of(pages: list[list[Word]], text: str) -> list[int]:
    """Pages whose body text contains ``text`` (whitespace ignored)."""
    want = _squash(text)
    return [n for n, page in enumerate(pages, start=1) if want in _squash("".join(lines(page)))]


def _row_elements(box: object, rows: set[int], table_class: str, where: str = "") -> None:
    """Ids of the body-row elements of tables with ``table_class`` laid out under ``box``."""
    element = getattr(box, "element", None)
    tag = getattr(element, "tag", "")
    if tag == "table" and table_class in str(element.get("class") or "").split():  # type: ignore[union-attr]
        where = "table"
    elif where == "table" and tag == "tbody":
        where = "tbody"
    elif where == "tbody" and tag == "tr":
        rows.add(id(element))
    for child in getattr(box, "children", ()) or ():
        _row_elements(child, rows, table_class, where)


def rows_split_across_pages(document_html: str, table_class: str, base: Path) -> tuple[int, int]:
    """Lay the HTML out and count the body rows of tables with ``table_class`` that are on more than one
    page (a row split by a page break); returns (split rows, rows)."""
    from weasyprint import HTML

    from lifecycle.documents.fetcher import AssetFetcher

    doc = HTML(string=document_html, base_url=base.as_uri() + "/", url_fetcher=AssetFetcher(base)).render()
    seen: dict[int, int] = {}
    for page in doc.pages:
        rows: set[int] = set()
        _row_elements(page._page_box, rows, table_class)
        for r in rows:
            seen[r] = seen.get(r, 0) + 1
    return sum(1 for n in seen.values() if n > 1), len(seen)
