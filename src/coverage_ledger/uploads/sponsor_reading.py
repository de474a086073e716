"""Reading a sponsor roster in chunks (run in a worker thread): each row checked on its own, the
good ones kept as rows for the append, the bad ones as row errors."""

from collections.abc import Container, Iterator
from dataclasses import dataclass, field
from datetime import date

from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads.row_layout import checked_row
from coverage_ledger.uploads.sponsor_rows import SponsorRow, check_sponsor_row


@dataclass
class Chunk:
    """Rows of the file checked on their own: the good ones, the errors, how many were read."""

    rows: list[SponsorRow] = field(default_factory=list)
    errors: list[ErrorItem] = field(default_factory=list)
    seen: int = 0
    exhausted: bool = False


def read_chunk(
    rows: Iterator[tuple[int, list[str]]],
    positions: dict[str, int],
    *,
    limit: int,
    districts: Container[str],
    regions: Container[str],
    key_region_prefix: str | None,
    skip: Container[int],
    today: date,
) -> Chunk:
    """Check up to `limit` rows on their own (run in a worker thread); rows in `skip` are passed."""
    chunk = Chunk()

    def check(row: int, values: dict[str, str]) -> SponsorRow | list[ErrorItem]:
        return check_sponsor_row(
            row,
            values,
            districts=districts,
            regions=regions,
            key_region_prefix=key_region_prefix,
            today=today,
        )

    while len(chunk.rows) + len(chunk.errors) < limit:
        item = next(rows, None)
        if item is None:
            chunk.exhausted = True
            break
        row, cells = item
        chunk.seen += 1
        if row in skip:
            continue
        checked = checked_row(row, cells, positions, check)
        if isinstance(checked, list):
            chunk.errors.extend(checked)
        else:
            chunk.rows.append(checked)
    return chunk
