"""CJK font subsets that are really subset (issue 13, finding 11), and that change nothing a reader sees.

Every kind in both languages that embeds a CJK font is rendered again with the font programs as
WeasyPrint subsets them (``compact_fonts=False``, the pipeline before the compaction) and compared
with the issued document:
the same text (pdftotext) and the same pixels (pdftoppm -r 60, exactly). The compacted CJK programs
are bare CID-keyed CFFs holding only the CIDs the page prints, without subroutines or unused font
dictionaries (the size limit is in ``test_client_ready``).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from lifecycle.documents.fonts import cids_of_widths, subset_cid_cff
from lifecycle.documents.render import render_pdf
from tests.documents.conftest import needs_tools

KINDS = ("acceptance", "final_acceptance", "handover", "gate_review", "status")

pytestmark = needs_tools


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def page_images(path: Path, prefix: Path) -> list[Image.Image]:
    subprocess.run(["pdftoppm", "-r", "60", str(path), str(prefix)], check=True)
    return [Image.open(p) for p in sorted(prefix.parent.glob(prefix.name + "-*.ppm"))]


def cid_fonts(path: Path) -> list[tuple[Any, Any]]:
    """Each embedded CIDFontType0 of the file: (the CIDFont dictionary, its font-program stream)."""
    reader = PdfReader(str(path))
    found: dict[int, tuple[Any, Any]] = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()["/DescendantFonts"][0].get_object()
            if font["/Subtype"] == "/CIDFontType0":
                found[id(font)] = (font, font["/FontDescriptor"].get_object()["/FontFile3"].get_object())
    return list(found.values())


def test_cids_of_widths_reads_both_forms() -> None:
    assert cids_of_widths([3, [500, 600], 10, 12, 1000]) == {3, 4, 10, 11, 12}
    assert cids_of_widths([]) == set()


@pytest.mark.parametrize("which", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_compaction_changes_no_text_and_no_pixel(issued: Any, which: str, kind: str, tmp_path: Path) -> None:
    """Compared where the compaction acts: a document without a CID-keyed CFF (an English kind that
    prints no CJK-font glyph) is written by exactly the code path of before, so it is not rendered twice."""
    item = issued(which, kind)
    if not cid_fonts(item.path):
        assert which == "en", "a Chinese document without its CJK font"
        assert "CID Type 0C" not in subprocess.run(["pdffonts", str(item.path)], capture_output=True, text=True).stdout
        return
    before = tmp_path / "before.pdf"
    before.write_bytes(render_pdf(item.doc.record, compact_fonts=False).pdf)
    assert pdf_text(item.path) == pdf_text(before)
    old, new = page_images(before, tmp_path / "old"), page_images(item.path, tmp_path / "new")
    assert len(old) == len(new) > 0
    for number, (a, b) in enumerate(zip(old, new, strict=True), start=1):
        assert a.size == b.size and ImageChops.difference(a, b).getbbox() is None, f"page {number} differs"
    if which == "zh":
        assert item.path.stat().st_size < before.stat().st_size / 2


WITH_CJK = [("zh", k) for k in KINDS] + [("en", k) for k in ("final_acceptance", "gate_review", "status")]


@pytest.mark.parametrize(("which", "kind"), WITH_CJK)
def test_cjk_programs_hold_only_the_printed_cids(issued: Any, which: str, kind: str) -> None:
    from fontTools.cffLib import CFFFontSet

    fonts = cid_fonts(issued(which, kind).path)
    assert fonts, "the document embeds no CJK font"
    for font, stream in fonts:
        assert stream["/Subtype"] == "/CIDFontType0C" and "/CIDToGIDMap" not in font
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(stream.get_data()), None)
        top = cff.topDictIndex[0]
        assert hasattr(top, "ROS"), "the program is no longer CID-keyed"
        printed = cids_of_widths([int(x) if not isinstance(x, list) else x for x in font["/W"]])
        charset = {0 if g == ".notdef" else int(g[3:]) for g in top.charset}
        assert charset == printed | {0}, "each printed CID keeps its glyph, and nothing else is kept"
        assert len(cff.GlobalSubrs) == 0
        assert all(not getattr(fd.Private, "Subrs", None) for fd in top.FDArray)
        assert set(range(len(top.FDArray))) == set(top.FDSelect.gidArray), "unused font dictionaries kept"
    listing = subprocess.run(["pdffonts", str(issued(which, kind).path)], capture_output=True, text=True).stdout
    rows = listing.splitlines()[2:]
    assert all(r.split()[-4] == "yes" for r in rows), listing  # every font a subset
    assert sum("CID Type 0C " in r for r in rows) == len(fonts), listing


def test_other_fonts_are_left_as_they_are(issued: Any) -> None:
    """A TrueType program (the Latin fonts) is not a CID-keyed CFF: nothing to do for it."""
    reader = PdfReader(str(issued("en", "gate_review").path))
    font = reader.pages[0]["/Resources"]["/Font"]
    program = next(
        f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        for f in font.values()
        if "/FontFile2" in f.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
    )
    assert subset_cid_cff(program, {1, 2, 3}) is None
