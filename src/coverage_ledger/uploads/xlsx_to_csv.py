"""`python -m coverage_ledger.uploads.xlsx_to_csv IN.xlsx OUT.csv`: the first sheet as CSV.

Runs in a child process: python-calamine reads a sheet whole (about 850 bytes per row), and that
memory is returned when the child exits. Numbers keep the form a spreadsheet gave them, so that a
NIK typed as a number is recognised (`3.27101250190000E+15`) instead of having digits guessed.
A file-level problem is printed to stderr as JSON `{code, message}` with exit status 2.
"""

import csv
import html
import io
import json
import math
import re
import resource
import sys
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import python_calamine
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

from coverage_ledger.private_files import create_private
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
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_FORMULA_TEXT = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*)?>([^<]*)<")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]+[0-9]+)"')
_CHUNK = 1 << 20
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="(?:[A-Z]+[0-9]+:)?([A-Z]+[0-9]+)"')
_FILLED_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?r="([A-Z]+[0-9]+)"[^>]*(?<!/)>')
"""A cell with content (a self-closed `<c …/>` only carries formatting)."""
_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?\bt="e"[^>]*>\s*<(?:\w+:)?v>([^<]*)<')
"""A cell holding a spreadsheet error as its value (`#N/A` pasted as values: no formula), which
the reader would give as an empty cell."""
_HIDDEN_ROW = re.compile(rb'<(?:\w+:)?row\s[^>]*?\bhidden="(?:1|true)"[^>]*>')
_ROW_NUMBER = re.compile(rb'\br="([0-9]+)"')
HIDDEN_ROWS_SHOWN = 1_000
"""Hidden row numbers the conversion reports (the count is whole), as an outcome lists rows."""
MAX_SHEET_CELLS = 16 * 1_048_576
"""The most cells (columns × rows, from A1 to the farthest filled cell) a sheet may span: sixteen
columns of a full sheet. The reader holds the whole rectangle, about 32 bytes a cell, so one space
typed in a far corner would cost gigabytes (or crash it, at XFD1048576)."""


def _span(reference: bytes) -> tuple[int, int]:
    """(columns, rows) from A1 to a cell reference."""
    row, column = xl_cell_to_rowcol(reference.decode())
    return column + 1, row + 1


class _Extent:
    """The farthest filled cell of a sheet, measured only when its declared dimension is too large
    to read (formatting alone can widen the dimension without costing the reader anything)."""

    def __init__(self) -> None:
        self.measuring: bool | None = None
        self.columns = 0
        self.rows = 0
        self.farthest = b""

    def see(self, window: bytes, end: int) -> None:
        """Take in the cells of `window[:end]`."""
        if self.measuring is None:
            declared = _DIMENSION.search(window, 0, end)
            self.measuring = declared is not None and math.prod(_span(declared.group(1))) > MAX_SHEET_CELLS
        if not self.measuring:
            return
        for cell in _FILLED_CELL.finditer(window, 0, end):
            columns, rows = _span(cell.group(1))
            if columns > self.columns or rows > self.rows:
                self.columns, self.rows = max(columns, self.columns), max(rows, self.rows)
                self.farthest = cell.group(1)
        if self.columns * self.rows > MAX_SHEET_CELLS:
            raise FileRejected(
                "sheet_too_large",
                f"the first sheet has something in cell {self.farthest.decode()}, so it spans "
                f"{self.columns:,} columns by {self.rows:,} rows, more than the {MAX_SHEET_CELLS:,} cells "
                "read: a value outside the roster, even a space, makes it so; delete the rows below and "
                "the columns right of the roster, then save again",
            )


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


MAX_FORMULA_CELLS = 100_000
"""Formula cells reported row by row; a sheet with more is refused whole (a sheet of formulas)."""


def _last_cell_end(window: bytes) -> int:
    """Where the window's last complete cell ends (0: none does), looked for near its end first."""
    for start in (max(0, len(window) - 4096), 0):
        end = 0
        for match in _CELL_END.finditer(window, start):
            end = match.end()
        if end:
            return end
    return 0


def formula_cells(path: Path) -> tuple[dict[tuple[int, int], str], set[int]]:
    """The first sheet's cells holding a formula, by (row, column) 0-based, each as `=` and its
    formula text (`=…` for a shared one): written into the CSV as such, each becomes the row error
    `formula_cell` as in a CSV roster. A cell not placed by its reference, or a sheet of formulas,
    refuses the file, naming the cell; so does a sheet too large to read (in the same pass, which
    also gives the hidden rows' 0-based numbers). Cells holding an error value (`#N/A`) are given
    with it, written as a CSV export of the sheet would show them: the row error `error_cell`."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise FileRejected(
            "unreadable_xlsx", "the file starts like a workbook but is not a valid XLSX"
        ) from exc
    found: dict[tuple[int, int], str] = {}
    hidden: set[int] = set()
    with archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        allowed = max(MIN_UNPACK_ALLOWANCE, MAX_UNPACK_RATIO * path.stat().st_size)
        if unpacked > allowed:
            raise FileRejected(
                "xlsx_unpacks_too_large",
                f"the workbook unpacks to {unpacked:,} bytes, more than {MAX_UNPACK_RATIO} times its "
                "size: refused as a possible zip bomb",
            )
        if "mimetype" in archive.namelist() and archive.read("mimetype").startswith(
            b"application/vnd.oasis.opendocument"
        ):
            raise FileRejected(
                "opendocument_file",
                "the file is an OpenDocument spreadsheet (.ods, as LibreOffice saves by default), not "
                "XLSX: save it as Excel 2007-365 (.xlsx) or as CSV UTF-8",
            )
        try:
            part = _first_sheet_part(archive)
            stream = archive.open(part)
        except KeyError as exc:
            raise FileRejected("unreadable_xlsx", "the workbook has no readable first sheet") from exc
        tail = b""
        extent = _Extent()
        with stream:
            while chunk := stream.read(_CHUNK):
                window = tail + chunk
                # a formula cut by the chunk's end is looked at again with the next chunk
                complete = _last_cell_end(window)
                extent.see(window, complete)
                for row in _HIDDEN_ROW.finditer(window, 0, complete):
                    if (number := _ROW_NUMBER.search(row.group(0))) is not None:
                        hidden.add(int(number.group(1)) - 1)
                for formula in _FORMULA.finditer(window, 0, complete):
                    # the cell's opening tag is just before its formula
                    cells = _CELL_REF.findall(window, max(0, formula.start() - 512), formula.start())
                    if not cells or len(found) >= MAX_FORMULA_CELLS:
                        where = f"cell {cells[-1].decode()}" if cells else "a cell"
                        raise FileRejected(
                            "formula_cell",
                            f"{where} of the first sheet holds a formula; save the sheet with values only",
                        )
                    text = _FORMULA_TEXT.match(window, formula.start())
                    written = text.group(1) if text else b""
                    shown = html.unescape(written.decode("utf-8", "replace")) if written else "…"
                    found[xl_cell_to_rowcol(cells[-1].decode())] = f"={shown}"
                for error in _ERROR_CELL.finditer(window, 0, complete):
                    reference = _CELL_REF.match(error.group(0))
                    if reference is None:
                        continue  # not placed by its reference: read as empty, as the reader does
                    if len(found) >= MAX_FORMULA_CELLS:
                        raise FileRejected(
                            "error_cell",
                            f"cell {reference.group(1).decode()} of the first sheet, and too many others, "
                            "show a spreadsheet error (#N/A, #REF!, …) instead of a value",
                        )
                    value = html.unescape(error.group(1).decode("utf-8", "replace")) or "#N/A"
                    found[xl_cell_to_rowcol(reference.group(1).decode())] = value
                tail = window[complete:] if complete else window
                if len(tail) > _CHUNK:  # no cell ends in a whole chunk: not a sheet a person made
                    tail = tail[-256:]
    return found, hidden


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


def _first_sheet(workbook: python_calamine.CalamineWorkbook) -> str:
    """The name of the first sheet, which holds the roster; a hidden one, or a chart, refuses the
    file (the clerk would upload what they cannot see, or nothing)."""
    if not workbook.sheets_metadata:
        raise FileRejected("unreadable_xlsx", "the workbook has no sheet")
    first = workbook.sheets_metadata[0]
    if first.visible != python_calamine.SheetVisibleEnum.Visible:
        raise FileRejected(
            "hidden_first_sheet",
            f"the workbook's first sheet, {first.name!r}, is hidden, and a roster is read from the first "
            "sheet: delete that sheet, or unhide it and move the roster's sheet to the front",
        )
    if first.typ != python_calamine.SheetTypeEnum.WorkSheet:
        raise FileRejected(
            "first_sheet_not_a_table",
            f"the workbook's first sheet, {first.name!r}, is a chart, not a table: move the roster's "
            "sheet to the front",
        )
    return first.name


@dataclass
class Converted:
    """What `convert` wrote."""

    rows: int
    sheet: str
    hidden_rows: list[int]
    """1-based sheet row numbers of the rows written with something in them that the sheet hides."""


def convert(source: Path, target: Path) -> Converted:
    """Write the first sheet of `source` as CSV to `target`. A formula cell is written as its
    formula, which the row checks refuse as in a CSV roster."""
    formulas, hidden = formula_cells(source)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(source))
        name = _first_sheet(workbook)
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
        first_row, first_column = sheet.start if sheet.start else (0, 0)
    except python_calamine.CalamineError as exc:
        raise FileRejected("unreadable_xlsx", f"the workbook could not be read: {exc}") from exc
    by_row: dict[int, list[tuple[int, str]]] = {}
    for (row_index, column), formula in formulas.items():
        by_row.setdefault(row_index, []).append((column, formula))
    placed: set[tuple[int, int]] = set()
    hidden_written: list[int] = []
    count = 0
    with io.TextIOWrapper(create_private(target), encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        for index, row in enumerate(rows):  # rows count from the sheet's first; columns from its start
            cells = [cell_text(value) for value in row]
            if any("\x00" in cell for cell in cells):
                # no CSV can carry it (the CSV checks would call the whole file binary): say where
                column = next(i for i, cell in enumerate(cells) if "\x00" in cell) + first_column
                raise FileRejected(
                    "nul_in_cell",
                    f"cell {xl_rowcol_to_cell(index + first_row, column)} of the first sheet holds a NUL "
                    "character; delete it and upload again",
                )
            for column, formula in by_row.get(index, ()):
                if 0 <= column - first_column < len(cells):
                    cells[column - first_column] = formula
                    placed.add((index, column))
            if index + first_row in hidden and any(cell.strip() for cell in cells):
                hidden_written.append(index + first_row + 1)
            writer.writerow(cells)
            count += 1
    lost = sorted(cell for cell in set(formulas) - placed if formulas[cell].startswith("="))
    if lost:  # a formula with no value: its cell is not in the sheet's range the reader gives
        raise FileRejected(
            "formula_cell",
            f"cell {xl_rowcol_to_cell(*lost[0])} of the first sheet holds a formula with no value; save "
            "the sheet with values only",
        )
    if count == 0:
        raise FileRejected(
            "empty_file", f"the first sheet, {name!r}, is empty: expected a header row and data rows"
        )
    return Converted(count, name, hidden_written)


def main(argv: list[str]) -> int:
    """Command-line entry."""
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    try:
        converted = convert(Path(argv[1]), Path(argv[2]))
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
    said = {
        "rows": converted.rows,
        "sheet": converted.sheet,
        "hidden_rows": len(converted.hidden_rows),
        "hidden_rows_first": converted.hidden_rows[:HIDDEN_ROWS_SHOWN],
        "peak_rss_mb": round(peak_kib / 1024, 1),
    }
    print(json.dumps(said))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
