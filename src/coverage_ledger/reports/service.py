"""Auditor reports as of (valid_at, known_at): their rows, their bytes and their manifest. The
rows come from projections stamped with known-time intervals, in a fixed order, and the bytes
carry nothing of the moment they were made, so the same parameters give the same bytes years
later, whatever was appended since."""

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import __version__
from coverage_ledger.claims.service import OVERDUE_BATCH, overdue_reviews
from coverage_ledger.domain.access import SYSTEM, Principal, Role
from coverage_ledger.domain.potential import SEGMENTS
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.errors import ErrorItem, Forbidden, InvalidInput, NotFound
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.regions.service import region_coverage
from coverage_ledger.regions.visibility import visible_region
from coverage_ledger.reports import repository
from coverage_ledger.reports.content import Row, csv_chunks, json_chunks, xlsx_chunks

REPORT_NAMES = ("coverage-roster", "payouts", "coverage-ratios", "uploads", "overdue-claims")
FORMATS = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
READERS = frozenset({Role.ADMIN, Role.AUDITOR, Role.REGIONAL_OFFICE})
"""Roles that pull reports (committees and sponsors see their uploads, not the region's books)."""

CLAIM_COLUMNS = (
    "claim_id",
    "nik",
    "region_code",
    "benefit",
    "incident_date",
    "status",
    "payable_amount",
    "paid_amount",
    "due_date",
)
COLUMNS = {
    "coverage-roster": (
        "nik",
        "segment",
        "programs",
        "covered_from",
        "covered_until",
        "region_code",
        "role",
        "committee",
        "payer",
    ),
    "payouts": (*CLAIM_COLUMNS, "settled_on"),
    "overdue-claims": (*CLAIM_COLUMNS, "days_late", "penalty_amount"),
    "coverage-ratios": ("region_code", "name", "level", "segment", "covered", "potential", "ratio"),
    "uploads": (
        "upload_id",
        "kind",
        "committee",
        "filename",
        "file_sha256",
        "mode",
        "policy",
        "rows_total",
        "rows_accepted",
        "rows_rejected",
        "rows_duplicate",
        "tx_seq",
    ),
}
"""The columns of each report, in order (`covered_until` is exclusive)."""


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What a caller asked for, with the point it resolved to."""

    name: str
    as_of: AsOf
    region: str | None
    """The region the report covers (None: national)."""
    format: str

    def parameters(self) -> dict[str, Any]:
        """The parameters as the manifest and the access log record them."""
        return {
            "report": self.name,
            "valid_at": self.as_of.valid_at.isoformat(),
            "known_at": format_instant(self.as_of.known_at) if self.as_of.known_at else None,
            "tx_seq": self.as_of.tx_seq,
            "region": self.region,
            "format": self.format,
        }


async def authorise(
    session: AsyncSession, *, principal: Principal, name: str, region: str | None, as_of: AsOf
) -> str | None:
    """The region a report covers for this caller."""
    # 403 for a role that pulls none, 404 for a region outside the key's or unknown on `as_of` (the same
    # answer).
    if principal.role not in READERS:
        raise Forbidden(f"role {principal.role} does not pull reports")
    if name not in (*REPORT_NAMES, "coverage-diff"):
        raise NotFound(f"no report {name!r}; reports: {', '.join((*REPORT_NAMES, 'coverage-diff'))}")
    if region is not None:
        await visible_region(
            session, principal=principal, code=region, tx_seq=as_of.tx_seq, day=as_of.valid_at
        )
    scope = region or principal.region_prefix
    if name == "coverage-ratios" and scope is None:
        raise InvalidInput(
            "coverage-ratios needs a region (a province, regency or district)",
            [ErrorItem("region_required", "give region=<code>", field="region")],
        )
    return scope


RowSource = Callable[[AsyncSession], AsyncIterator[Row]]


@dataclass(frozen=True, slots=True)
class SqlReport:
    """A report whose query gives its columns as they are: PostgreSQL writes its CSV (COPY)."""

    national: str
    """The query of the national report."""
    regional: str | None = None
    """The query of a regional report, when it has a region index to read (else the national one,
    whose region filter takes a NULL region as the nation)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Parameters of its own."""

    def query(self, region: str | None) -> str:
        """The query for a report of the region (None: national)."""
        return self.national if region is None or self.regional is None else self.regional


SQL_REPORTS = {
    "coverage-roster": SqlReport(
        repository.coverage_roster(regional=False), repository.coverage_roster(regional=True)
    ),
    "payouts": SqlReport(repository.CLAIMS, extra={"overdue": False}),
    "uploads": SqlReport(repository.UPLOADS),
}


def _params(request: ReportRequest) -> dict[str, Any]:
    return {"tx": request.as_of.tx_seq, "day": request.as_of.valid_at, "region": request.region}


def rows_of(*, request: ReportRequest) -> RowSource:
    """The report's rows, to be read in the session given (one that stays open while streaming)."""
    name, as_of, region = request.name, request.as_of, request.region
    params = _params(request)

    async def by_sql(session: AsyncSession) -> AsyncIterator[Row]:
        report = SQL_REPORTS[name]
        async for row in repository.stream(session, report.query(region), params | report.extra):
            yield row

    async def overdue(session: AsyncSession) -> AsyncIterator[Row]:
        # the candidates are few; whether each is overdue, and its lateness (every stretch the
        # money stood unpaid), is the claim read's own, so the report and GET /v1/claims/{id} agree
        rows = [
            row async for row in repository.stream(session, repository.CLAIMS, params | {"overdue": True})
        ]
        for start in range(0, len(rows), OVERDUE_BATCH):
            batch = rows[start : start + OVERDUE_BATCH]
            late = await overdue_reviews(session, claim_ids=[row[0] for row in batch], as_of=as_of)
            for row in batch:
                lateness = late[row[0]].lateness if row[0] in late else None
                if lateness is not None:
                    yield (*row[:8], lateness.due_on, lateness.days_late, lateness.penalty)

    async def ratios(session: AsyncSession) -> AsyncIterator[Row]:
        assert region is not None
        for segment in SEGMENTS:
            # the caller's scope was checked by `authorise`
            result = await region_coverage(
                session, principal=SYSTEM, code=region, as_of=as_of, segment=segment
            )
            for figure, level in ((result.region, "region"), *((c, "child") for c in result.children)):
                yield (
                    figure.region_code,
                    figure.name,
                    level,
                    segment,
                    figure.covered,
                    figure.potential,
                    figure.ratio,
                )

    if name in SQL_REPORTS:
        return by_sql
    return overdue if name == "overdue-claims" else ratios


@dataclass(slots=True)
class Tally:
    """Rows and sha256 of a report as it streams by."""

    rows: int = 0
    digest: Any = None

    def __post_init__(self) -> None:
        self.digest = hashlib.sha256()


async def counted(*, rows: AsyncIterator[Row], tally: Tally) -> AsyncIterator[Row]:
    """The rows, each counted once its consumer has taken it and asked for the next."""
    # A row the XLSX writer reads only to find the sheet full is not counted (a reports probe found the
    # manifest of a cut workbook one row over what it held).
    async for row in rows:
        yield row
        tally.rows += 1


async def report_chunks(
    session: AsyncSession, *, request: ReportRequest, tally: Tally
) -> AsyncIterator[bytes]:
    """The report's bytes in its format, hashed and its rows counted into `tally` on the way."""
    columns = COLUMNS[request.name]
    if request.format == "csv" and request.name in SQL_REPORTS:
        report = SQL_REPORTS[request.name]
        copied = repository.CopyCount()
        chunks = repository.copy_csv(
            session, report.query(request.region), _params(request) | report.extra, copied, columns=columns
        )
    else:
        rows = counted(rows=rows_of(request=request)(session), tally=tally)
        if request.format == "csv":
            chunks = csv_chunks(columns, rows)
        elif request.format == "xlsx":
            chunks = xlsx_chunks(request.name, columns, rows)
        else:
            header = {"report": request.name, "as_of": request.as_of.as_dict(), "region": request.region}
            chunks = json_chunks(header, columns, rows)
    async for chunk in chunks:
        tally.digest.update(chunk)
        yield chunk
    if request.format == "csv" and request.name in SQL_REPORTS:
        tally.rows = copied.rows


async def manifest(session: AsyncSession, *, request: ReportRequest) -> dict[str, Any]:
    """The report's `as_of`, row count, sha256, the ledger head at its tx, and the software version."""
    tally = Tally()
    async for _ in report_chunks(session, request=request, tally=tally):
        pass
    return {
        "report": request.name,
        "format": request.format,
        "region": request.region,
        "as_of": request.as_of.as_dict(),
        "rows": tally.rows,
        "sha256": tally.digest.hexdigest(),
        "ledger_head": await ledger_head(session, tx_seq=request.as_of.tx_seq),
        "software_version": __version__,
    }


async def ledger_head(session: AsyncSession, *, tx_seq: int) -> dict[str, Any]:
    """The tx a report was read at, with its hash: `verify` proves the chain up to it unchanged."""
    head = await repository.head_at(session, tx_seq)
    return {
        "tx_seq": tx_seq,
        "hash": head[0] if head else None,
        "recorded_at": format_instant(head[1]) if head else None,
    }


def file_name(*, request: ReportRequest) -> str:
    """`coverage-roster_16_2024-03-31_tx27.csv`."""
    region = request.region or "national"
    day = request.as_of.valid_at.isoformat()
    return f"{request.name}_{region}_{day}_tx{request.as_of.tx_seq}.{request.format}"
