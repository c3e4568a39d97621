"""Rendering: record → HTML (Jinja2) → PDF/A-3b (WeasyPrint) with the record attached as JSON.

* **Safe templates.** One Jinja2 environment over the shipped ``templates/`` folder, autoescaping
  every ``.html`` template and using ``StrictUndefined``, so a misspelt field fails the render instead
  of printing nothing. Project text is therefore always text: ``<script>`` or ``<link …>`` in a task
  name prints as those characters.
* **Nothing fetched but our assets.** WeasyPrint gets an
  :class:`~lifecycle.documents.fetcher.AssetFetcher` that serves only files inside the templates
  folder and ``data:`` URIs.
* **Deterministic bytes.** The PDF's dates (info dictionary, XMP, attachment) come from the record's
  ``issued_at``; the file identifier is a hash of the content; nothing reads the wall clock or a random
  source, so the same record renders to the same bytes (a test asserts it).
* **Small.** CJK font programs are cut to the glyphs the page prints (:mod:`~lifecycle.documents.fonts`).
* **Machine-readable.** The record (sorted-key JSON) is attached as a new ``Attachment`` on every
  render, with the PDF/A-3 relationship ``Data``, named ``<number>.json``.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lifecycle.documents import charts
from lifecycle.documents.fetcher import AssetFetcher
from lifecycle.documents.fonts import compact_cid_fonts
from lifecycle.documents.locale import Formatter, tidy_zh
from lifecycle.errors import RenderError

PDF_VARIANT = "pdf/a-3b"
GENERATOR = "pmo-lifecycle"


def templates_dir() -> Path:
    from lifecycle.workspace import package_data_dir

    return package_data_dir("templates")


@functools.cache
def _environment(folder: str) -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml", "svg"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    return env


def environment(folder: Path | None = None) -> Any:
    """The shared Jinja2 environment (autoescape on, StrictUndefined) for a templates folder."""
    return _environment(str(folder or templates_dir()))


def record_json(record: Mapping[str, Any]) -> bytes:
    """The attachment's bytes: the record as indented, key-sorted UTF-8 JSON."""
    return json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


def _issued_at(record: Mapping[str, Any]) -> datetime:
    try:
        value = datetime.fromisoformat(str(record["issued_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError) as exc:
        raise RenderError(f"document record has no valid issued_at: {record.get('issued_at')!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass
class Rendered:
    """A rendered document: the PDF bytes, the HTML it came from, and what the fetcher saw."""

    pdf: bytes
    html: str
    fetched: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def render_html(record: Mapping[str, Any], *, logo: str = "", folder: Path | None = None) -> str:
    """The document's HTML. ``logo`` is an optional ``data:`` URI for the page header."""
    import jinja2

    kind = str(record.get("kind", ""))
    lang = str(record.get("lang", ""))
    project = record.get("project") or {}
    fmt = Formatter(lang, currency=str(project.get("currency", "")), phases=record.get("phase_titles") or {})
    issued = _issued_at(record)
    try:
        template = environment(folder).get_template(f"{kind}.html")
        return _typeset(
            lang,
            template.render(
                doc=record,
                L=fmt,
                charts=charts,
                logo=logo if logo.startswith("data:image/") else "",
                w3c_issued=issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
                generator=GENERATOR,
            ),
        )
    except jinja2.TemplateNotFound as exc:
        raise RenderError(f"no template for document kind '{kind}'") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"template for '{kind}' failed: {exc}") from exc


_TEXT = re.compile(r">([^<]+)<")


def _typeset(lang: str, html: str) -> str:
    """Chinese documents: tidy the punctuation of every text node (project text included)."""
    if not lang.startswith("zh"):
        return str(html)
    body = html.index("<body")
    return html[:body] + _TEXT.sub(lambda m: ">" + tidy_zh(m.group(1)) + "<", html[body:])


def _one_attachment_entry(document: Any, pdf: Any) -> None:
    """Finisher: the catalog's /AF lists each attachment once (the PDF/A writer adds it twice)."""
    refs = pdf.catalog.get("AF")
    if refs:
        unique = list(dict.fromkeys(refs))
        refs.clear()
        refs.extend(unique)


def _finish_compact(document: Any, pdf: Any) -> None:
    """Finisher: one attachment entry, and CJK font subsets cut to the glyphs printed (``fonts``)."""
    _one_attachment_entry(document, pdf)
    compact_cid_fonts(pdf)


def render_pdf(
    record: Mapping[str, Any],
    *,
    logo: str = "",
    folder: Path | None = None,
    fetcher: AssetFetcher | None = None,
    compact_fonts: bool = True,
) -> Rendered:
    """Render a record to PDF/A-3b bytes with the record attached; same record → same bytes.

    ``compact_fonts=False`` keeps the font programs as WeasyPrint subsets them (glyph ids retained,
    much larger); the tests compare both to show the compaction changes no text and no pixel.
    """
    from weasyprint import HTML, Attachment

    folder = (folder or templates_dir()).resolve()
    fetcher = fetcher or AssetFetcher(folder)
    html = render_html(record, logo=logo, folder=folder)
    issued = _issued_at(record)
    number = str(record.get("number", "document"))
    try:
        attachment = Attachment(
            string=record_json(record),
            name=f"{number}.json",
            description=f"Machine-readable record of {number}",
            created=issued,
            modified=issued,
            relationship="Data",
            url_fetcher=fetcher,
        )
        pdf = HTML(string=html, base_url=folder.as_uri() + "/", url_fetcher=fetcher).write_pdf(
            pdf_variant=PDF_VARIANT,
            attachments=[attachment],
            finisher=_finish_compact if compact_fonts else _one_attachment_entry,
        )
    except RenderError:
        raise
    except Exception as exc:  # WeasyPrint raises many kinds; the caller needs one
        raise RenderError(f"could not render {number}: {type(exc).__name__}: {exc}") from exc
    if not isinstance(pdf, bytes):
        raise RenderError(f"could not render {number}: the renderer returned no bytes")
    return Rendered(pdf=pdf, html=html, fetched=list(fetcher.attempts), refused=list(fetcher.refused))


def extract_record(pdf: bytes) -> dict[str, Any] | None:
    """The JSON record attached to a document, or None if there is none (or it cannot be read).

    Read with pyHanko's PDF reader (already needed for signatures), following the catalog's
    ``/Names /EmbeddedFiles`` tree of the latest revision.
    """
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
        for i in range(0, len(names) - 1, 2):
            if not str(names[i]).endswith(".json"):
                continue
            stream = names[i + 1].get_object()["/EF"]["/F"].get_object()
            data = json.loads(stream.data.decode("utf-8"))
            if isinstance(data, dict) and "number" in data:
                return data
    except Exception:  # a damaged or foreign file simply has no readable record
        return None
    return None
