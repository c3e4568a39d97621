"""The checks a workbook's zip archive passes before the spreadsheet library opens it
(:mod:`lifecycle.load.archive`); the commands' side is in the hostile-input corpus."""

from __future__ import annotations

import io
import zipfile

from lifecycle.load.archive import archive_problems
from lifecycle.load.xlsx import write_project_workbook
from tests.factory import small_project

XML = b'<?xml version="1.0" encoding="UTF-8"?>'


def _zip(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_workbook_the_engine_writes_passes() -> None:
    assert archive_problems(write_project_workbook(small_project())) is None


def test_too_many_parts_are_refused_from_the_directory() -> None:
    data = _zip({f"xl/media/p{i}.bin": b"" for i in range(1_001)})
    assert archive_problems(data) == "the workbook holds 1,001 files, more than the 1,000 it may have"


def test_sheets_and_cells_are_counted_across_parts() -> None:
    sheets = XML + b"<workbook><sheets>" + b'<sheet name="s" sheetId="1"/>' * 101 + b"</sheets></workbook>"
    assert "more than 100 sheets" in str(archive_problems(_zip({"xl/workbook.xml": sheets})))
    cells = XML + b"<x:worksheet><x:sheetData><x:row>" + b'<x:c r="A1"/>' * 2_000_001 + b"</x:row></x:sheetData>"
    stored = _zip({"xl/worksheets/sheet1.xml": cells + b"</x:worksheet>"}, zipfile.ZIP_STORED)  # ratio 1 to 1
    assert "more than 2,000,000 cells" in str(archive_problems(stored))


def test_a_document_type_is_found_across_the_reading_chunks() -> None:
    # the declaration starts a few bytes before the first megabyte ends: the scan carries it over
    filler = XML + b"<!--" + b"x" * ((1 << 20) - len(XML) - 4 - 5) + b"-->"
    part = filler + b"<!DOCTYPE worksheet><worksheet/>"  # no <!ENTITY after it to be found instead
    assert part.index(b"<!DOCTYPE") < (1 << 20) < part.index(b"<!DOCTYPE") + 9
    refused = archive_problems(_zip({"xl/worksheets/sheet1.xml": part}, zipfile.ZIP_STORED))
    assert refused == (
        "part 'xl/worksheets/sheet1.xml' declares a document type (<!DOCTYPE>); a workbook never needs one"
    )


def test_xml_in_another_encoding_is_refused_and_binary_parts_are_not_read_as_xml() -> None:
    latin = b'<?xml version="1.0" encoding="ISO-8859-1"?><worksheet/>'
    assert archive_problems(_zip({"xl/worksheets/sheet1.xml": latin})) == (
        "part 'xl/worksheets/sheet1.xml' is XML in ISO-8859-1; it must be UTF-8"
    )
    png = b"\x89PNG\r\n\x1a\n" + b"<!DOCTYPE" * 10
    assert archive_problems(_zip({"xl/media/image1.png": png, "xl/workbook.xml": XML + b"<workbook/>"})) is None


def test_a_broken_archive_is_named_as_not_a_workbook() -> None:
    data = write_project_workbook(small_project())
    assert archive_problems(data[: len(data) // 2]) == "not an .xlsx workbook (BadZipFile)"
