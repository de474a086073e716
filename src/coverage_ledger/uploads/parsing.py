"""Reading a roster in chunks (run in a worker thread): each row checked on its own, the good
ones rendered as COPY text for the staging table, the bad ones as row errors."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads.officer_events import staging_line
from coverage_ledger.uploads.officer_rows import OfficerRow, RosterContext, check_officer_row
from coverage_ledger.uploads.row_layout import checked_row


@dataclass
class Chunk:
    """What one chunk of rows produced."""

    copy_data: bytes = b""
    errors: list[ErrorItem] = field(default_factory=list)
    rows_seen: int = 0
    rows_staged: int = 0
    rejected_rows: int = 0
    exhausted: bool = False


def read_chunk(
    rows: Iterator[tuple[int, list[str]]], positions: dict[str, int], context: RosterContext, size: int
) -> Chunk:
    """Check up to `size` rows; a row with the wrong number of cells is a row error."""
    chunk = Chunk()
    lines: list[str] = []

    def check(row: int, values: dict[str, str]) -> OfficerRow | list[ErrorItem]:
        return check_officer_row(row, values, context)

    for _ in range(size):
        item = next(rows, None)
        if item is None:
            chunk.exhausted = True
            break
        row, cells = item
        chunk.rows_seen += 1
        outcome = checked_row(row, cells, positions, check)
        if isinstance(outcome, list):
            chunk.errors.extend(outcome)
            chunk.rejected_rows += 1
        else:
            lines.append(staging_line(outcome, context))
            chunk.rows_staged += 1
    chunk.copy_data = "".join(lines).encode("utf-8")
    return chunk
