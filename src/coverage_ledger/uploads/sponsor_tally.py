"""What a sponsor roster's passes have come to so far: counts, refused rows, the tx written."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from coverage_ledger.errors import ErrorItem
from coverage_ledger.ledger.unnumbered import UnnumberedTx
from coverage_ledger.uploads.job_progress import ROWS_SHOWN


@dataclass
class NotedRows:
    """Rows of one kind: how many, and the first `ROWS_SHOWN` of their numbers to show."""

    count: int = 0
    first: list[int] = field(default_factory=list)

    def note(self, rows: Sequence[int]) -> None:
        """Count these rows, keeping the first few numbers."""
        self.count += len(rows)
        self.first.extend(rows[: ROWS_SHOWN - len(self.first)])


@dataclass
class SponsorTally:
    """What a sponsor roster has come to so far."""

    rows_total: int = 0
    rejected: set[int] = field(default_factory=set)
    """Row numbers with an error: skipped by the writing pass."""
    accepted: int = 0
    registered: int = 0
    enrolled: int = 0
    amount_total: int = 0
    duplicate: int = 0
    """Rows restating a payment this sponsor already recorded (written again: nothing)."""
    txs: list[int] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)
    """NIKs (as numbers: a million of them fit in tens of megabytes) of earlier chunks."""
    unnumbered: UnnumberedTx | None = None
    """The writing pass's tx while its chunks are written without the lock; None once it is
    numbered (or from the start, when the pass runs under the lock)."""
    locked_since: float | None = None
    """When the writing pass took the append lock (monotonic seconds)."""
    chunks_unlooked: int = 0
    """Chunks written unnumbered since the last look at whether the ledger moved under them."""
    month_first: ErrorItem | None = None
    """The first date only month/day/year reads: the file's other slash dates are then in doubt."""
    deferred: int = 0
    """Rows of the checking pass whose NIK an earlier chunk holds: their events depend on that
    chunk's, which the checking pass does not write, so they are checked when written."""
    differing_membership: NotedRows = field(default_factory=NotedRows)
    """Accepted rows of workers already members whose region, programs, income or sector differ
    from the membership in force (the payment is recorded against that membership)."""
    differing_registration: NotedRows = field(default_factory=NotedRows)
    """Accepted rows of workers registered before whose name, birth date or phone differ from
    that registration (kept as it is: a regional office corrects it)."""
