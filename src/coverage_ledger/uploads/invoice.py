"""What a committed officer roster costs: officer months × the officer rate in force on each
officer's first day of cover (or the rate once per officer, for a `per_term` rate), per region
of enrolment.

A replacement's invoice is the change it makes to what the committee owes: its new rows in full,
its changed rows less what their old terms cost, and a credit (negative months and rupiah) for
the terms it retracts; only for terms an earlier upload wrote, so invoiced (one appended or
replaced through `POST /v1/events` was not billed here, so it is not credited either). A credit
takes back what the old term was billed: it is priced by the rule table as known at the tx of
the upload that wrote the term (a rate corrected since does not re-price it), on its first day
of cover, so a retracted officer nets to nothing whatever the rates did meanwhile. A region's
line may so be a credit."""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.officer import months_touched
from coverage_ledger.domain.rule_table import RuleTable
from coverage_ledger.ledger.person_events import officer_term
from coverage_ledger.ledger.rule_table_cache import rule_table_at
from coverage_ledger.uploads import repository, roster_repository
from coverage_ledger.uploads.replacement import RosterCorrections

InvoiceLine = tuple[str, int, int, int, str]
"""(region_code, officers, officer months, rupiah, rule ids)."""


@dataclass
class _Line:
    officers: int = 0
    months: int = 0
    amount: int = 0
    rule_ids: set[str] = field(default_factory=set)

    def add(self, rules: RuleTable, cover_from: date, officers: int, months: int) -> None:
        """Officers whose cover starts on `cover_from`, touching `months` months (both negative
        for a credit), at the rate in force on that day."""
        self.officers += officers
        self.months += months
        rate = rules.officer_rate_on(cover_from)
        if rate is not None:
            self.amount += rate.amount(officers=officers, months=months)
            self.rule_ids.add(rate.rule_id)
        elif officers:
            # a term before any officer rate (a 2019 roster) costs nothing here: the line says
            # so, or its months would read as priced by the rule it names for the others
            self.rule_ids.add("none")


async def roster_invoice(
    session: AsyncSession, *, recording_day: date, rules: RuleTable, corrections: RosterCorrections
) -> list[InvoiceLine]:
    """The invoice lines of the staged roster's accepted rows and the corrections it writes."""
    lines: dict[str, _Line] = {}
    for region, cover_from, officers, months in await roster_repository.accepted_cover_starts(
        session, recording_day=recording_day
    ):
        lines.setdefault(region, _Line()).add(rules, cover_from, officers, months)
    # each old term a correction supersedes (a changed row's, counted above as new, or a
    # retracted one) is taken off, its officer and its months, if an upload invoiced it
    superseded = [target for target, _ in corrections.leaving]
    billed_by: dict[int, RuleTable] = {}
    for event_id, payload, recorded_at, tx_seq in await repository.uploaded_terms(session, superseded):
        if tx_seq not in billed_by:
            billed_by[tx_seq] = await rule_table_at(session, tx_seq=tx_seq)
        term = officer_term(event_id, payload, recorded_at)
        months = months_touched(term.covers_from, term.valid_to)
        # a term that never covered was never billed (`accepted_cover_starts`)
        officers = 1 if term.covers_from < term.valid_to else 0
        line = lines.setdefault(term.region_code, _Line())
        line.add(billed_by[tx_seq], term.covers_from, -officers, -months)
    return [
        (region, line.officers, line.months, line.amount, ",".join(sorted(line.rule_ids)) or "none")
        for region, line in sorted(lines.items())
    ]
