"""A report's bytes, byte for byte the same for the same rows: CSV, JSON or XLSX, streamed in
chunks so a report of a million rows never sits in memory (XLSX is built in a temporary file,
its only way to stay flat, then streamed)."""

import csv
import io
import json
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

import anyio
import xlsxwriter

XLSX_CREATED = datetime(2000, 1, 1)  # noqa: DTZ001  (xlsxwriter writes it as given, a naive UTC time)
"""The fixed creation date written into every XLSX report, so the same rows give the same bytes
(xlsxwriter's archive timestamps are fixed already)."""
XLSX_MAX_ROWS = 1_048_575
"""Rows of an Excel sheet after the header."""
CHUNK_BYTES = 256 * 1024

Row = Sequence[Any]


def cell_text(value: Any) -> str:
    """How a value is written in CSV: ISO dates, lists joined by `; ` (their items may hold
    spaces, never a semicolon), nothing for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "; ".join(cell_text(v) for v in value)
    return str(value)


def json_value(value: Any) -> Any:
    """How a value is written in JSON."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a CSV cell as a formula (OWASP's list)."""


def csv_cell(value: Any) -> str:
    """A CSV cell: text a spreadsheet would run as a formula (a committee named `=HYPERLINK(…)`)
    is kept as text by a leading `'`; numbers, negative ones too, are written as they are."""
    text = cell_text(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_STARTS) else text


async def csv_chunks(columns: Sequence[str], rows: AsyncIterator[Row]) -> AsyncIterator[bytes]:
    """UTF-8 CSV with a header line, LF line ends."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    async for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


async def json_chunks(
    header: dict[str, Any], columns: Sequence[str], rows: AsyncIterator[Row]
) -> AsyncIterator[bytes]:
    """`{…header, "columns": […], "rows": [[…], …]}`, compact, keys in the order given."""
    opening = json.dumps(header | {"columns": list(columns)}, ensure_ascii=False, separators=(",", ":"))
    parts = [opening[:-1] + ',"rows":[']
    size, first = 0, True
    async for row in rows:
        text = json.dumps([json_value(v) for v in row], ensure_ascii=False, separators=(",", ":"))
        parts.append(text if first else "," + text)
        first = False
        size += len(text)
        if size >= CHUNK_BYTES:
            yield "".join(parts).encode()
            parts, size = [], 0
    parts.append("]}")
    yield "".join(parts).encode()


async def xlsx_chunks(sheet: str, columns: Sequence[str], rows: AsyncIterator[Row]) -> AsyncIterator[bytes]:
    """One sheet with a header row; at most Excel's row limit (a longer report is cut with a note
    in its last row, and CSV is the format for it)."""
    handle, path = tempfile.mkstemp(prefix="report-", suffix=".xlsx")
    os.close(handle)
    try:
        # text stays text: no formula (a name starting with `=` would run) and no link made of it
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        workbook.set_properties({"created": XLSX_CREATED, "title": sheet})
        worksheet = workbook.add_worksheet(sheet[:31])
        worksheet.write_row(0, 0, list(columns))
        number = 0
        async for row in rows:
            number += 1
            if number > XLSX_MAX_ROWS:
                worksheet.write_row(number, 0, ["(cut at Excel's row limit: ask for format=csv)"])
                break
            worksheet.write_row(number, 0, [_xlsx_value(v) for v in row])
        workbook.close()
        async with await anyio.open_file(path, "rb") as built:
            while chunk := await built.read(CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return cell_text(value)
