"""Font subsets that are really subset: the CJK fonts of a rendered PDF shrunk before it is written.

WeasyPrint subsets every font *keeping glyph ids* (the page's text codes are glyph ids), so the
Noto CJK programs it embeds still carry all 65,535 glyph slots: empty charstrings, a full charset and
FDSelect, full ``hmtx``/``vmtx`` tables. A one-page Chinese document weighed ~340 KiB, nearly all of
it two fonts.

These fonts are CID-keyed CFF (registry ``Adobe-Identity``) embedded as a ``CIDFontType0`` with the
``Identity-H`` encoding, so each code on the page is a CID, and a reader finds a CID's outline
through the CFF *charset*, which names each glyph's CID. A CID-keyed CFF can therefore drop its
unused glyphs and renumber the rest **as long as every kept glyph keeps its CID**: fontTools keeps
the ``cidNNNNN`` glyph names, and from them the charset, when it subsets. No content stream, width
array (``/W``) or ``ToUnicode`` map changes; the same codes reach the same outlines.

:func:`compact_cid_fonts` runs as part of the renderer's finisher, on WeasyPrint's object graph
before the PDF is written (so PDF/A markers, the file identifier and the signature cover the
final bytes). For each embedded CID-keyed CFF it keeps ``.notdef`` and the glyphs of the CIDs the
fonts using it print (their ``/W`` entries), drops unused font dictionaries (FDArray) and
subroutines (desubroutinised), and embeds the bare CFF (``FontFile3`` ``/CIDFontType0C``) without
the OpenType wrapper, whose metric tables the ``/W`` array already replaces. The ``CIDToGIDMap``
entry, which applies to TrueType-based CIDFonts only and would contradict the renumbering, is
removed from those fonts. Fonts of any other kind (TrueType, name-keyed CFF) are left as WeasyPrint
wrote them; they are small already.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

_GLYPH_CODES = 0x10000  # Identity-H codes are two bytes


def _deref(pdf: Any, ref: Any) -> Any:
    """The object a pydyf reference (``b"12 0 R"``) points to, or None."""
    if isinstance(ref, bytes):
        ref = ref.decode("ascii")
    if not isinstance(ref, str) or not ref.endswith(" R"):
        return None
    number = int(ref.split()[0])
    return pdf.objects[number] if 0 < number < len(pdf.objects) else None


def cids_of_widths(widths: Sequence[Any]) -> set[int]:
    """The CIDs a CIDFont's ``/W`` array gives widths for (both ``c [w …]`` and ``c_first c_last w``)."""
    cids: set[int] = set()
    i = 0
    while i + 1 < len(widths):
        first, following = widths[i], widths[i + 1]
        if isinstance(following, list):
            cids.update(range(int(first), int(first) + len(following)))
            i += 2
        else:
            cids.update(range(int(first), int(following) + 1))
            i += 3
    return {c for c in cids if 0 <= c < _GLYPH_CODES}


def _glyph_name(cid: int) -> str:
    """fontTools' name for the glyph of ``cid`` in a CID-keyed CFF (its charset is read into these)."""
    return ".notdef" if cid == 0 else f"cid{cid:05d}"


def subset_cid_cff(font_program: bytes, cids: Iterable[int]) -> bytes | None:
    """A bare CFF holding only ``.notdef`` and the glyphs of ``cids``, each under its own CID.

    ``font_program`` is an OpenType font whose ``CFF`` table is CID-keyed; None when it is not one
    (nothing to do for it). The kept charstrings are copied as they are (WeasyPrint already expanded
    the subroutines; a program that still has some is desubroutinised), unused font dictionaries are
    dropped, and the font's bounding box is kept (it still encloses every kept glyph).
    """
    from fontTools.ttLib import TTFont

    source = TTFont(io.BytesIO(font_program), lazy=True, recalcBBoxes=False)
    if "CFF " not in source:
        return None
    table = source["CFF "]
    cff = table.cff
    if len(cff.topDictIndex) != 1 or not hasattr(cff.topDictIndex[0], "ROS"):
        return None
    top = cff.topDictIndex[0]
    wanted = {_glyph_name(cid) for cid in cids} | {".notdef"}
    _keep_glyphs(top, [gid for gid, name in enumerate(top.charset) if name in wanted])
    if len(cff.GlobalSubrs) or any(getattr(fd.Private, "Subrs", None) for fd in top.FDArray):
        cff.desubroutinize()
    out = TTFont(sfntVersion="OTTO", recalcBBoxes=False)
    out.setGlyphOrder(list(top.charset))
    data: bytes = table.compile(out)
    return data


def _keep_glyphs(top: Any, keep: Sequence[int]) -> None:
    """Cut a CID-keyed CFF top dict (fontTools ``cffLib``) down to the glyphs ``keep`` (glyph ids, in
    order): charstrings, charset and FDSelect; then drop the font dictionaries no kept glyph uses."""
    charstrings = top.CharStrings
    names = [top.charset[gid] for gid in keep]
    index = charstrings.charStringsIndex
    index.items = [index[charstrings.charStrings[name]] for name in names]
    del index.file, index.offsets
    charstrings.charStrings = {name: i for i, name in enumerate(names)}
    top.charset = names
    top.numGlyphs = len(names)
    selected = [top.FDSelect.gidArray[gid] for gid in keep]
    used = sorted(set(selected))
    top.FDSelect.format = None
    top.FDSelect.gidArray = [used.index(fd) for fd in selected]
    top.FDArray.items = [top.FDArray[fd] for fd in used]
    del top.FDArray.file, top.FDArray.offsets


def _cid_font_streams(pdf: Any) -> dict[int, tuple[Any, list[Any], set[int]]]:
    """Each OpenType-wrapped CFF program of a CIDFontType0: (stream, the fonts using it, their CIDs)."""
    found: dict[int, tuple[Any, list[Any], set[int]]] = {}
    for obj in pdf.objects:
        if not isinstance(obj, dict) or obj.get("Type") != "/Font" or obj.get("Subtype") != "/CIDFontType0":
            continue
        descriptor = _deref(pdf, obj.get("FontDescriptor"))
        stream = _deref(pdf, descriptor.get("FontFile3")) if isinstance(descriptor, dict) else None
        if stream is None or getattr(stream, "extra", {}).get("Subtype") != "/OpenType":
            continue
        _, fonts, cids = found.setdefault(stream.number, (stream, [], set()))
        fonts.append(obj)
        cids.update(cids_of_widths(obj.get("W") or []))
    return found


def compact_cid_fonts(pdf: Any) -> int:
    """Shrink every embedded CID-keyed CFF of WeasyPrint's ``pdf`` (a ``pydyf.PDF``) to the glyphs its
    fonts print; returns how many font programs were rewritten."""
    rewritten = 0
    for stream, fonts, cids in _cid_font_streams(pdf).values():
        program = b"".join(part for part in stream.stream if isinstance(part, bytes))
        compact = subset_cid_cff(program, cids)
        if compact is None:
            continue
        stream.stream = [compact]
        stream.extra["Subtype"] = "/CIDFontType0C"
        for font in fonts:
            font.pop("CIDToGIDMap", None)
        rewritten += 1
    return rewritten
