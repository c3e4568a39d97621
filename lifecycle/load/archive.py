"""Checking a workbook's zip archive before a spreadsheet library opens it.

An ``.xlsx`` file is a zip archive of XML parts. A few kilobytes can unpack to gigabytes (a zip
bomb), and a part can declare a document type with entities (an XML external entity). Before the
workbook is handed to the library, :func:`archive_problems` reads the archive's directory and refuses
too many parts, a total unpacked size above :data:`~lifecycle.domain.limits.MAX_UNZIPPED_BYTES` and a
part compressed more than :data:`~lifecycle.domain.limits.MAX_ZIP_RATIO` to one, without unpacking
anything; then it unpacks each XML part as a stream (the sizes just checked bound the work) and
refuses a document type declaration, XML in any encoding but UTF-8 (whose declarations could hide
from this scan), and more sheets, rows or cells than the limits allow, stopping at the first excess.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field

from lifecycle.domain.limits import (
    MAX_CELLS,
    MAX_ROWS,
    MAX_SHEETS,
    MAX_UNZIPPED_BYTES,
    MAX_ZIP_PARTS,
    MAX_ZIP_RATIO,
    ZIP_RATIO_FROM,
)

_CHUNK = 1 << 20
_BOM = b"\xef\xbb\xbf"
_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(sheet|row|c)[\s/>]")
_DECLARATION = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_UNREADABLE = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError, ValueError)
_UTF8 = {"utf-8", "utf8", "us-ascii", "ascii"}
_WORDS = {b"sheet": ("sheets", MAX_SHEETS), b"row": ("rows", MAX_ROWS), b"c": ("cells", MAX_CELLS)}


class ArchiveRefused(Exception):
    """What is wrong with the archive, as one sentence."""


@dataclass
class _Counts:
    seen: dict[bytes, int] = field(default_factory=lambda: {b"sheet": 0, b"row": 0, b"c": 0})

    def add(self, body: bytes) -> None:
        for name in _ELEMENT.findall(body):
            self.seen[name] += 1
        for name, count in self.seen.items():
            word, limit = _WORDS[name]
            if count > limit:
                raise ArchiveRefused(f"the workbook holds more than {limit:,} {word}, the most a workbook may have")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB"


def _directory(zf: zipfile.ZipFile) -> None:
    """Refusals read from the archive's directory alone: nothing is unpacked."""
    parts = zf.infolist()
    if len(parts) > MAX_ZIP_PARTS:
        raise ArchiveRefused(f"the workbook holds {len(parts):,} files, more than the {MAX_ZIP_PARTS:,} it may have")
    total = sum(p.file_size for p in parts)
    if total > MAX_UNZIPPED_BYTES:
        raise ArchiveRefused(
            f"the workbook unpacks to {_mb(total)}, more than the {_mb(MAX_UNZIPPED_BYTES)} a workbook may hold"
        )
    for p in parts:
        if p.file_size > ZIP_RATIO_FROM and p.file_size > MAX_ZIP_RATIO * max(p.compress_size, 1):
            ratio = p.file_size // max(p.compress_size, 1)
            raise ArchiveRefused(
                f"part '{p.filename}' is compressed {ratio:,} to 1, more than the {MAX_ZIP_RATIO} to 1 "
                "a workbook part may be (a zip bomb)"
            )


def _start(name: str, first: bytes) -> bool:
    """Whether the part is XML to scan (False: an image or other binary part); refuses non-UTF-8 XML."""
    head = first[len(_BOM) :] if first.startswith(_BOM) else first
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:2] in (b"<\x00", b"\x00<"):
        raise ArchiveRefused(f"part '{name}' is XML in UTF-16; a workbook's parts must be UTF-8")
    if not head.lstrip().startswith(b"<"):
        return False
    found = _DECLARATION.match(head.lstrip())
    if found and found.group(1).decode("ascii").lower() not in _UTF8:
        raise ArchiveRefused(f"part '{name}' is XML in {found.group(1).decode('ascii')}; it must be UTF-8")
    return True


def _scan(zf: zipfile.ZipFile, info: zipfile.ZipInfo, counts: _Counts) -> None:
    """Stream one part: no document type, and the sheets, rows and cells it adds within the limits."""
    with zf.open(info) as stream:
        first = stream.read(_CHUNK)
        if not _start(info.filename, first):
            return
        carry, chunk = b"", first
        while chunk:
            buf = carry + chunk
            cut = buf.rfind(b"<")
            body, carry = (buf, b"") if cut < 0 else (buf[:cut], buf[cut:])
            _body(info.filename, body, counts)
            chunk = stream.read(_CHUNK)
        _body(info.filename, carry, counts)


def _body(name: str, body: bytes, counts: _Counts) -> None:
    """One stretch of a part, cut before a ``<``: an element never straddles two stretches."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ArchiveRefused(f"part '{name}' declares a document type (<!DOCTYPE>); a workbook never needs one")
    counts.add(body)


def archive_problems(data: bytes) -> str | None:
    """Why the zip archive ``data`` may not be opened as a workbook (None: it may)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _directory(zf)
            counts = _Counts()
            for info in zf.infolist():
                if not info.is_dir():
                    _scan(zf, info, counts)
    except ArchiveRefused as exc:
        return str(exc)
    except _UNREADABLE as exc:
        return f"not an .xlsx workbook ({type(exc).__name__})"
    return None
