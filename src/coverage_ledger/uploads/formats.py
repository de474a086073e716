"""Reading roster files: CSV (UTF-8 with or without BOM, `,` or `;`, LF or CRLF) and XLSX (its
first sheet, converted to CSV in a child process so that the server's memory does not grow with
the workbook). Rows come out as lists of strings numbered as a person sees them in Excel."""

import codecs
import csv
import io
import itertools
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coverage_ledger.errors import ErrorItem

log = logging.getLogger(__name__)
XLSX_MAGIC = b"PK\x03\x04"
_SNIFF_BYTES = 64 * 1024
csv.field_size_limit(1 << 20)  # one cell of a roster is never a megabyte; junk is refused before


MESSAGE_CHARACTERS = 2_000
"""The longest file-level message kept."""


class FileRejected(Exception):
    """The file as a whole cannot be read as a roster. Not a `LedgerError`: the file is read by
    the upload job after the 202, so this becomes the upload's outcome (`failed` with its code and
    an error row 0), never an HTTP response, and no handler of row errors may take it for one."""

    def __init__(self, code: str, message: str) -> None:
        # the message is stored (PostgreSQL text holds no NUL) and shown: whatever a file put
        # into it is escaped and cut
        message = message.replace("\x00", "\\x00")
        message = message if len(message) <= MESSAGE_CHARACTERS else message[:MESSAGE_CHARACTERS] + "…"
        super().__init__(message)
        self.code = code
        self.message = message

    def as_item(self) -> ErrorItem:
        """The complaint as an error row (row 0: the file)."""
        return ErrorItem(self.code, self.message, row=0)


OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE2 compound file: an Excel 97-2003 workbook (.xls)."""


def detect_format(path: Path) -> str:
    """`xlsx` for a zip container, else `csv` (checked further when read)."""
    with path.open("rb") as file:
        return "xlsx" if file.read(4) == XLSX_MAGIC else "csv"


@dataclass(frozen=True, slots=True)
class SheetRead:
    """What converting a workbook's first sheet tells beside its rows."""

    name: str
    hidden_rows: int = 0
    """Rows with something in them that the sheet hides (a filter, or rows hidden by hand): read
    like the others, and named in the outcome so the clerk sees what was sent."""
    hidden_rows_first: tuple[int, ...] = ()
    """Their sheet row numbers, the first thousand."""

    def outcome(self) -> dict[str, Any]:
        """The upload outcome's part on it (nothing when no row was hidden)."""
        if not self.hidden_rows:
            return {}
        return {
            "rows_hidden_in_sheet": self.hidden_rows,
            "rows_hidden_in_sheet_first": list(self.hidden_rows_first),
        }


@dataclass
class Table:
    """A roster file opened for reading: its header and its data rows."""

    header: list[str]
    """Column names, stripped and lower-cased."""
    rows: Iterator[tuple[int, list[str]]]
    """(Excel row number, cells); blank rows are skipped but keep their number."""
    source: io.TextIOWrapper
    sheet: SheetRead | None = None
    """The workbook sheet the rows come from (None: a CSV file)."""

    def close(self) -> None:
        """Close the file."""
        self.source.close()

    def wrong_header(self, problem: ValueError) -> FileRejected:
        """The file-level refusal of a header `check_header` found wrong, saying which sheet was read
        (a workbook's roster on a later sheet meets the first sheet's header)."""
        message = str(problem)
        if self.sheet is None:
            return FileRejected("wrong_header", message)
        read = f"a workbook's roster is read from its first sheet, here {self.sheet.name!r}"
        if message.startswith("wrong header:"):
            message += f" ({read}: move the roster's sheet to the front)"
        else:
            # rows above the header may be this sheet's own (found by a probe: blank rows above
            # the header were told only to move the sheet)
            message += (
                f" ({read}: if the roster is on it, its header must be row 1; else move the roster's "
                "sheet to the front)"
            )
        return FileRejected("wrong_header", message)


_SEPARATOR_HINT = re.compile(r"sep=([,;\t|])", re.IGNORECASE)
"""`sep=;`: the first line some tools write so that Excel splits the columns right."""


def _delimiter(header_line: str) -> str:
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without its BOM: Latin text then has a zero byte in every other place."""
    even, odd = head[0::2], head[1::2]
    if len(odd) < 8:
        return False
    return (odd.count(0) > 0.8 * len(odd) and even.count(0) < 0.2 * len(even)) or (
        even.count(0) > 0.8 * len(even) and odd.count(0) < 0.2 * len(odd)
    )


def _first_line_not_utf8(path: Path) -> int | None:
    """The number of the first line that is not UTF-8 (the text reader decodes ahead of the rows
    it hands out, so the row it stopped at is not the one at fault)."""
    # Latin-1 decodes any byte, so the lines split at CR (a Mac's CSV), LF or CRLF alike
    with path.open("r", encoding="latin-1", newline=None) as text:
        for number, line in enumerate(text, start=1):
            try:
                line.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
"""The stream a password-protected Office file keeps its workbook in, as named in its directory."""


def _encrypted(path: Path) -> bool:
    """Whether an OLE2 compound file is a password-protected workbook, not an old .xls."""
    tail = b""
    with path.open("rb") as raw:
        while chunk := raw.read(1 << 20):
            if _ENCRYPTED_PACKAGE in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED_PACKAGE) :]
    return False


_MARKUP_STARTS = (b"<html", b"<!doctype", b"<table", b"<?xml")
"""How a web page or an XML spreadsheet begins, which some systems save with an .xls name."""


def _not_utf8(path: Path, exc: UnicodeDecodeError, *, fallback_line: int) -> FileRejected:
    line = _first_line_not_utf8(path) or fallback_line
    where = "the header row is" if line == 1 else f"the file is from line {line} on"
    return FileRejected("not_utf8", f"{where} not UTF-8 text ({exc.reason}); save it as CSV UTF-8")


def _data_rows(reader: Iterator[list[str]], path: Path) -> Iterator[tuple[int, list[str]]]:
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(cell.strip() for cell in cells):
                continue
            yield row_number, cells
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc, fallback_line=row_number + 1) from exc
    except csv.Error as exc:
        # one stray quote mark leaves every later cell boundary in doubt: the file, not the row
        raise FileRejected(
            "unreadable_csv",
            f'row {row_number + 1}: {exc}; a quote mark inside a cell must be doubled ("") or the '
            "whole cell put in quotes",
        ) from exc


def open_csv(path: Path, *, sheet: SheetRead | None = None) -> Table:
    """A CSV roster (`sheet`: the workbook sheet it was converted from); file-level problems raise
    `FileRejected`."""
    with path.open("rb") as probe:
        head = probe.read(_SNIFF_BYTES)
    if not head.lstrip(codecs.BOM_UTF8).strip():
        raise FileRejected("empty_file", "the file is empty: expected a header row and data rows")
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # (its BOM begins as UTF-16's)
        raise FileRejected("utf32_text", "the file is UTF-32 text, not UTF-8; save it as CSV UTF-8")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(head):
        raise FileRejected(
            "utf16_text",
            'the file is UTF-16 text (Excel\'s "Unicode text"), not UTF-8; save it as CSV UTF-8',
        )
    if head.startswith(OLE2_MAGIC):
        if _encrypted(path):
            raise FileRejected(
                "encrypted_workbook",
                "the workbook is protected with a password, so it cannot be read: open it, remove the "
                "password (File > Info > Protect Workbook > Encrypt with Password) and save it again",
            )
        raise FileRejected(
            "old_excel_file",
            "the file is an old Excel workbook (.xls, Excel 97-2003); save it as .xlsx or as CSV UTF-8",
        )
    if head.lstrip(codecs.BOM_UTF8).lstrip()[:16].lower().startswith(_MARKUP_STARTS):
        raise FileRejected(
            "markup_file",
            "the file is a web page or XML (as some systems export an 'Excel' file), not CSV or XLSX: "
            "open it in Excel and save it as Excel Workbook (.xlsx) or CSV UTF-8",
        )
    if b"\x00" in head:
        raise FileRejected("binary_file", "the file holds binary data, not CSV text; save it as CSV UTF-8")
    text = io.TextIOWrapper(path.open("rb"), encoding="utf-8-sig", errors="strict", newline="")
    try:
        header_line = text.readline()
        # Excel's hint line names the delimiter; Excel does not show it, so the header is row 1
        hint = _SEPARATOR_HINT.fullmatch(header_line.rstrip("\r\n"))
        if hint is not None:
            header_line = text.readline()
    except UnicodeDecodeError as exc:
        text.close()
        # the reader decodes a block ahead: the byte at fault may lie in a row below the header
        raise _not_utf8(path, exc, fallback_line=1) from exc
    delimiter = hint.group(1) if hint is not None else _delimiter(header_line)
    reader = csv.reader(itertools.chain([header_line], text), delimiter=delimiter, strict=True)
    try:
        header = next(reader, [])
    except csv.Error as exc:  # e.g. a header line of megabytes: past the CSV field limit
        text.close()
        raise FileRejected("unreadable_csv", f"the header row cannot be read as CSV: {exc}") from exc
    return Table([cell.strip().lower() for cell in header], _data_rows(reader, path), text, sheet)


def open_xlsx(path: Path, converted: Path) -> Table:
    """An XLSX roster: its first sheet converted to CSV beside it, then read as CSV."""
    result = subprocess.run(  # noqa: S603 (our own module, paths we created)
        [sys.executable, "-m", "coverage_ledger.uploads.xlsx_to_csv", str(path), str(converted)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        try:
            problem = json.loads(result.stderr.strip().splitlines()[-1])
        except (ValueError, IndexError):
            problem = {"code": "unreadable_xlsx", "message": "the workbook could not be read"}
        raise FileRejected(problem["code"], problem["message"])
    log.info("XLSX converted by a child process: %s", result.stdout.strip())
    said = json.loads(result.stdout)
    sheet = SheetRead(said["sheet"], said["hidden_rows"], tuple(said["hidden_rows_first"]))
    return open_csv(converted, sheet=sheet)
