"""A roster row's layout: the header read into column positions (with the messages a wrong
header gets), each row's cells by column name, and the row-level errors of cells that stand in
the wrong place (past the header, under a blank header cell, a name cut at an unquoted comma)."""

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads.dates import parse_day

_CELL_SEPARATOR = "\x1e"
SPREADSHEET_ERRORS = frozenset(
    {
        "#NULL!",
        "#DIV/0!",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#N/A",
        "#GETTING_DATA",
        "#SPILL!",
        "#CALC!",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)
"""What Excel shows in a cell whose formula failed; pasted as values, or saved as CSV, it stays."""
UNNAMED = "\x00unnamed column "
"""Key of an unnamed header column in the positions (no header name holds a NUL)."""


SHOWN_CHARACTERS = 40


# Row errors repeat no cell's value, in any column: a row shifted by a name's unquoted comma holds
# the birth date and phone under other columns, and kept errors outlive an erasure.


NAME_SPLIT = (
    "name_split",
    "the cells after the name stand one column to the right of their header: a cell around the "
    "name is cut in two (in a CSV, by a comma or semicolon not inside quotes; in a sheet, a value "
    "typed over two cells); join it into one cell (in a CSV, put it in double quotes)",
)


def _blame_a_cut_name(
    row: int,
    cells: Sequence[str],
    positions: Mapping[str, int],
    errors: list[ErrorItem],
    passes: Callable[[dict[str, str]], bool],
) -> list[ErrorItem]:
    """One `name_split` error when the row `passes` with its name's cell and the next joined (a
    name cut at an unquoted comma moves every later cell one column right: several errors a clerk
    cannot see in the sheet, where each cell stands right, and no value may be repeated to show
    the shift), else `errors`."""
    at = positions.get("name")
    width = len(positions)
    # the cut leaves the row one cell longer (or as long, its empty last cell not written); the
    # cell after the name must hold the name's other half
    if (
        at is None
        or at + 1 >= len(cells)
        or not width <= len(cells) <= width + 1
        or not cells[at + 1].strip()
    ):
        return errors
    joined = [*cells[:at], f"{cells[at]},{cells[at + 1]}", *cells[at + 2 :]]
    values = row_values(row, joined + [""] * (width - len(joined)), positions)
    if isinstance(values, dict) and passes(values):
        return [ErrorItem(*NAME_SPLIT, row=row, column="name")]
    return errors


Checked = TypeVar("Checked")


def checked_row(
    row: int,
    cells: Sequence[str],
    positions: Mapping[str, int],
    check: Callable[[int, dict[str, str]], Checked | list[ErrorItem]],
) -> Checked | list[ErrorItem]:
    """The row read by its layout and `check`ed (an officer's or a sponsor's row), or its errors;
    several errors, or a wrong cell count, that a name cut at an unquoted comma explains are said
    as that one error."""
    values = row_values(row, cells, positions)

    def passes(rejoined: dict[str, str]) -> bool:
        return not isinstance(check(0, rejoined), list)

    if isinstance(values, ErrorItem):
        if values.code == "wrong_column_count":
            return _blame_a_cut_name(row, cells, positions, [values], passes)
        return [values]
    checked = check(row, values)
    if isinstance(checked, list) and len(checked) > 1:
        return _blame_a_cut_name(row, cells, positions, checked, passes)
    return checked


def shown(text: str) -> str:
    """A cell quoted in a message: a cell of a megabyte is shown by its first characters."""
    return repr(text) if len(text) <= SHOWN_CHARACTERS else repr(text[:SHOWN_CHARACTERS]) + "…"


_SCIENTIFIC = re.compile(r"[0-9](?:[.,][0-9]+)?E\+?[0-9]+", re.IGNORECASE)


def _looks_like_data(cell: str) -> bool:
    """A NIK-like run of digits (or one a spreadsheet wrote as 1.67101E+15), a phone's run of
    digits, or a date: a header cell never is one."""
    bare = cell.strip()
    digits = bare.replace(" ", "").replace("-", "").removeprefix("+")
    return (
        (digits.isascii() and digits.isdigit() and len(digits) >= 9)
        or _SCIENTIFIC.fullmatch(bare) is not None
        or parse_day(bare) is not None
    )


def _split_by_another_delimiter(cell: str, required: Sequence[str]) -> str | None:
    """The delimiter that splits one header cell into the roster's columns (a file read with `;`
    whose header is written with `,`), if any."""
    for delimiter in (",", ";", "|"):
        names = {name.strip().lower() for name in cell.split(delimiter)}
        if len(names) > 1 and sum(name in names for name in required) >= 2:
            return delimiter
    return None


class Columns(dict[str, int]):
    """Column positions by name, as `check_header` read them, with the unnamed ones' positions
    listed once (the row loop runs a million times: it does not look for them in every row)."""

    unnamed: tuple[int, ...] = ()


def check_header(header: Sequence[str], required: Sequence[str], optional: Sequence[str]) -> Columns:
    """Column positions by name; a wrong header is a file-level problem (ValueError)."""
    if not any(header):
        raise ValueError(
            "the first row is empty: the header (" + ",".join(required) + ") must be the file's first row"
        )
    titled = [name for name in header if name]
    if len(titled) == 1 and "\t" in titled[0]:
        raise ValueError("the columns are separated by tabs: save the file as CSV, with , or ;")
    if any(_looks_like_data(name) for name in titled):
        # not repeated: a data row holds a person's NIK, name and birth date
        raise ValueError(
            "the first row holds data, not the header: add the header row ("
            + ",".join(required)
            + ") above it"
        )
    if len(titled) == 1 and (other := _split_by_another_delimiter(titled[0], required)):
        raise ValueError(
            f"the header's columns are separated by {other!r}, but the file was read with another "
            f"delimiter (its `sep=` first line, or the first line's own): make them agree, with , or ;"
        )
    if len(titled) == 1 and titled[0] not in (*required, *optional):
        # a sheet's title ("Daftar Anggota KPPS …") above the header
        raise ValueError(
            f"the first row holds only {shown(titled[0])}, a title: the header ("
            + ",".join(required)
            + ") must be the file's first row; delete the rows above it"
        )
    positions = Columns()
    named = max(index for index, name in enumerate(header) if name) + 1
    for index, name in enumerate(header[:named]):  # trailing unnamed columns: the rows' extra cells
        if not name:  # an unnamed column (spreadsheets export formatted but empty ones): read, unused
            positions[f"{UNNAMED}{index + 1}"] = index
            continue
        if name in positions:
            raise ValueError(f"column {shown(name)} appears twice in the header")
        positions[name] = index
    missing = [c for c in required if c not in positions]
    unknown = [c for c in positions if not c.startswith(UNNAMED) and c not in (*required, *optional)]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s): {', '.join(missing)}")
        if unknown and len(unknown) < sum(not c.startswith(UNNAMED) for c in positions):
            parts.append(f"unknown column(s): {', '.join(shown(c) for c in unknown)}")
        elif unknown:
            # no cell names a column: perhaps a data row in the header's place that looks like no
            # data (a NIK with a hidden character), whose name and phone are not to be repeated
            parts.append("no cell of the first row names a column")
        expected = ",".join(required) + " (optional: " + ", ".join(optional) + ")"
        raise ValueError(f"wrong header: {'; '.join(parts)}; expected {expected}")
    positions.unnamed = tuple(index for name, index in positions.items() if name.startswith(UNNAMED))
    return positions


def _placed(index: int, positions: Mapping[str, int]) -> str:
    """Where an unnamed column lies, told by its named neighbour (a sheet's letters are not the
    CSV's when the data starts further right)."""
    before = [(i, n) for n, i in positions.items() if i < index and not n.startswith(UNNAMED)]
    if before:
        return f"after {max(before)[1]}"
    return "before " + min((i, n) for n, i in positions.items() if not n.startswith(UNNAMED))[1]


def row_values(row: int, cells: Sequence[str], positions: Mapping[str, int]) -> dict[str, str] | ErrorItem:
    """The row's cells by column name, stripped; extra cells are fine when empty (spreadsheets
    export formatted but empty columns), missing ones are not."""
    width = len(positions)
    # substring scans of the joined row (this runs for every row of a million-row roster) find
    # a NUL or a cell starting with `=`; only then is the cell looked for (a separator inside a
    # cell may raise a false alarm, which the search then clears)
    odd = None
    joined = _CELL_SEPARATOR.join(cells)
    if "\x00" in joined or joined.startswith("=") or _CELL_SEPARATOR + "=" in joined:
        odd = next(
            (
                (name, cells[index])
                for name, index in positions.items()
                if not name.startswith(UNNAMED)  # what is not read cannot be wrong
                and index < len(cells)
                and ("\x00" in cells[index] or cells[index].startswith("="))
            ),
            None,
        )
    if odd is not None:
        column, cell = odd
        if "\x00" in cell:  # PostgreSQL text cannot hold it
            return ErrorItem(
                "invalid_character",
                "a cell holds a NUL character: binary data, not text",
                row=row,
                column=column,
            )
        # the formula is not repeated: `="0812…"` keeps a phone as text
        return ErrorItem(
            "formula_cell",
            "the cell holds a formula, not its value; save the sheet with values only",
            row=row,
            column=column,
        )
    if "#" in joined:
        failed = next(
            (
                (name, cells[index].strip())
                for name, index in positions.items()
                if not name.startswith(UNNAMED)
                and index < len(cells)
                and cells[index].strip().upper() in SPREADSHEET_ERRORS
            ),
            None,
        )
        if failed is not None:
            return ErrorItem(
                "error_cell",
                f"the cell shows {failed[1]}, a spreadsheet error where a value should be (a formula "
                "that failed, kept as its value): put the value in",
                row=row,
                column=failed[0],
            )
    unnamed = (
        positions.unnamed
        if isinstance(positions, Columns)
        else tuple(i for n, i in positions.items() if n.startswith(UNNAMED))
    )
    for index in unnamed:
        if index < len(cells) and cells[index].strip():
            # a value under a blank header cell (a note, "BATAL", the second half of a merged
            # header) is not read: the row must not be taken as if it were not there
            return ErrorItem(
                "value_without_header",
                # the value is not repeated: what an unnamed column holds may be personal data
                # (a phone, an address), and kept errors outlive an erasure
                f"the column {_placed(index, positions)} has no name in the header but holds a "
                "value: name the column, or move or delete what it holds",
                row=row,
            )
    if len(cells) != width and (len(cells) < width or any(cell.strip() for cell in cells[width:])):
        # the stray value is not repeated (a name cut at an unquoted comma pushes the birth date
        # and phone past the header); its place is, after the header's last column (a sheet's
        # letters are not the CSV's when the data starts further right)
        extra = next((i for i in range(width, len(cells)) if cells[i].strip()), None)
        last = max((i, n) for n, i in positions.items() if not n.startswith(UNNAMED))[1]
        beyond = (
            f": a value stands {extra - width + 1} cell(s) after the header's last column "
            f"({last}); delete it or name its column (in a CSV, a comma or semicolon inside a cell "
            "that is not in quotes splits the cell in two)"
            if extra is not None
            else ""
        )
        if len(cells) == 1 and (other := next((d for d in ",;" if cells[0].count(d) >= width - 1), None)):
            beyond = f": its cells are separated by {other!r}, not by the header's delimiter"
        return ErrorItem(
            "wrong_column_count", f"the row has {len(cells)} cells, the header {width}{beyond}", row=row
        )
    return {name: cells[index].strip() for name, index in positions.items()}
