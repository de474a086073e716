"""`python -m coverage_ledger.uploads.xlsx_to_csv IN.xlsx OUT.csv`: the first sheet as CSV.

Runs in a child process: python-calamine reads a sheet whole (about 850 bytes per row), and that
memory is returned when the child exits. Numbers keep the form a spreadsheet gave them, so that a
NIK typed as a number is recognised (`3.27101250190000E+15`) instead of having digits guessed.
A file-level problem is printed to stderr as JSON `{code, message}` with exit status 2.
"""

import csv
import json
import re
import resource
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import python_calamine

from coverage_ledger.uploads.formats import FileRejected

MAX_UNPACK_RATIO = 100
"""A workbook may unpack to at most this many times its size (real rosters: 5–20 times); more is
refused as a likely zip bomb before anything is decompressed."""
MIN_UNPACK_ALLOWANCE = 64 << 20
"""Small workbooks may always unpack to this many bytes."""
CHILD_MEMORY_BYTES = 4 << 30
"""Address space the converting child may use: a workbook that lies about its sizes dies here,
not in the server."""
_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]+[0-9]+)"')
_CHUNK = 1 << 20


def _first_sheet_part(archive: zipfile.ZipFile) -> str:
    workbook = archive.read("xl/workbook.xml")
    first = re.search(rb'<(?:\w+:)?sheet\s[^>]*?r:id="([^"]+)"', workbook)
    rels = archive.read("xl/_rels/workbook.xml.rels")
    if first is not None:
        for rel in re.finditer(rb"<Relationship\s[^>]*>", rels):
            tag = rel.group(0)
            if b'Id="' + first.group(1) + b'"' in tag:
                target = re.search(rb'Target="([^"]+)"', tag)
                if target is not None:
                    name = target.group(1).decode()
                    return name.lstrip("/") if name.startswith("/") else f"xl/{name}"
    return "xl/worksheets/sheet1.xml"


def refuse_formulas(path: Path) -> None:
    """A formula cell makes the roster depend on a spreadsheet program: refused, naming the cell."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise FileRejected(
            "unreadable_xlsx", "the file starts like a workbook but is not a valid XLSX"
        ) from exc
    with archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        allowed = max(MIN_UNPACK_ALLOWANCE, MAX_UNPACK_RATIO * path.stat().st_size)
        if unpacked > allowed:
            raise FileRejected(
                "xlsx_unpacks_too_large",
                f"the workbook unpacks to {unpacked:,} bytes, more than {MAX_UNPACK_RATIO} times its "
                "size: refused as a possible zip bomb",
            )
        try:
            part = _first_sheet_part(archive)
            stream = archive.open(part)
        except KeyError as exc:
            raise FileRejected("unreadable_xlsx", "the workbook has no readable first sheet") from exc
        tail = b""
        with stream:
            while chunk := stream.read(_CHUNK):
                window = tail + chunk
                found = _FORMULA.search(window)
                if found is not None:
                    cells = _CELL_REF.findall(window[: found.start()])
                    where = f"cell {cells[-1].decode()}" if cells else "a cell"
                    raise FileRejected(
                        "formula_cell",
                        f"{where} of the first sheet holds a formula; save the sheet with values only",
                    )
                tail = window[-256:]


def cell_text(value: Any) -> str:
    """A cell as roster text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 1e15:
            return f"{value:.14E}".replace("E+0", "E+")  # as a spreadsheet shows a long number
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


def convert(source: Path, target: Path) -> int:
    """Write the first sheet of `source` as CSV to `target`; the number of rows written."""
    refuse_formulas(source)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(source))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except python_calamine.CalamineError as exc:
        raise FileRejected("unreadable_xlsx", f"the workbook could not be read: {exc}") from exc
    count = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for row in rows:
            writer.writerow([cell_text(value) for value in row])
            count += 1
    if count == 0:
        raise FileRejected("empty_file", "the first sheet is empty: expected a header row and data rows")
    return count


def main(argv: list[str]) -> int:
    """Command-line entry."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    try:
        rows = convert(Path(argv[1]), Path(argv[2]))
    except FileRejected as exc:
        print(json.dumps({"code": exc.code, "message": exc.message}), file=sys.stderr)
        return 2
    except (MemoryError, zipfile.BadZipFile, OSError) as exc:  # a workbook lying about its contents
        problem = {
            "code": "unreadable_xlsx",
            "message": f"the workbook could not be read: {type(exc).__name__}",
        }
        print(json.dumps(problem), file=sys.stderr)
        return 2
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "peak_rss_mb": round(peak_kib / 1024, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
