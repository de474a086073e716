"""`coverage-diff`: the persons whose cover on a day differs between two moments of knowledge,
with the events (and the uploads that carried them) that changed it: late rosters, corrections,
retroactive payments."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import __version__
from coverage_ledger.coverage.service import unscoped_answers
from coverage_ledger.domain.access import region_within
from coverage_ledger.domain.informal import InformalEnrolment
from coverage_ledger.ledger import person_events
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.reports import repository
from coverage_ledger.reports.content import Row, csv_chunks, json_chunks
from coverage_ledger.reports.service import RowSource, Tally, counted, ledger_head

COLUMNS = (
    "nik",
    "status_then",
    "status_now",
    "region_then",
    "region_now",
    "changed_by",
    "sources",
)
"""`changed_by`: `tx:event_id:type:entered|left` for each event about the person that entered or
left force between the two moments; `sources`: the txs' sources (`upload:<id>`, `api`, …). On a
side where the person counted in a region outside the one asked, the status is `outside_region`
and the region empty, and that region's events (its enrolments, and the payments and
reactivations of its memberships) are left out of `changed_by` and `sources`: the report tells
that they came or went, not where."""
OUTSIDE = "outside_region"
BATCH = 2_000


@dataclass(frozen=True, slots=True)
class DiffRequest:
    """Two moments of knowledge about one day."""

    then: AsOf
    now: AsOf
    region: str | None

    def header(self) -> dict[str, object]:
        """The JSON report's header."""
        return {
            "report": "coverage-diff",
            "known_then": self.then.as_dict(),
            "known_now": self.now.as_dict(),
            "region": self.region,
        }

    def file_name(self, format: str) -> str:
        """`coverage-diff_16_2024-02-14_tx12-tx27.csv`."""
        day, txs = self.now.valid_at.isoformat(), f"tx{self.then.tx_seq}-tx{self.now.tx_seq}"
        return f"coverage-diff_{self.region or 'national'}_{day}_{txs}.{format}"


def _within(code: str | None, region: str | None) -> bool:
    """Whether a covered person's region lies in the asked one (not covered: nothing to hide)."""
    return code is None or region_within(code, region)


@dataclass(frozen=True, slots=True)
class _Held:
    """A person's BPU memberships up to the later moment: when each was in force, and what
    replaced each."""

    memberships: dict[str, InformalEnrolment]
    spans: dict[str, list[tuple[int, int | None]]]
    replaced_by: dict[str, str]

    def at(self, tx_seq: int) -> list[InformalEnrolment]:
        """The memberships in force at the tx."""
        return [
            self.memberships[event_id]
            for event_id, spans in self.spans.items()
            if person_events.in_force_at(spans, tx_seq)
        ]


async def _memberships(session: AsyncSession, niks: list[str], up_to_tx: int) -> dict[str, _Held]:
    """Each person's BPU memberships recorded up to the later moment."""
    held: dict[str, _Held] = {}
    ended_by: dict[str, str | None] = {}
    carried_by: dict[str, str | None] = {}
    for row in await repository.membership_spans(session, niks, up_to_tx=up_to_tx):
        person = held.setdefault(row.nik, _Held({}, {}, {}))
        person.memberships[row.event_id] = person_events.informal_enrolment(
            row.event_id, row.payload, row.recorded_at
        )
        person.spans.setdefault(row.event_id, []).append((row.tx_from, row.tx_to))
        ended_by[row.event_id] = row.superseded_by  # rows come in tx order: the last one stays
        carried_by[row.event_id] = row.carried_by
    replaced_by = person_events.replacements(carried_by=carried_by, ended_by=ended_by)
    for person in held.values():
        person.replaced_by.update({m: replaced_by[m] for m in person.memberships if m in replaced_by})
    return held


def _outside(event: Any, held: _Held | None, high: int, region: str | None) -> bool:
    """Whether the event is another region's: an enrolment outside `region`, or a payment or
    reactivation of a membership outside it: the one it belonged to when it entered force (else
    any the person held), as that membership stands at the later moment, as the append checks and
    the history place it; one that belongs to none is outside unless a membership lies inside.
    Nothing is outside a national report."""
    if region is None:
        return False
    if event.region_code is not None:
        return not _within(event.region_code, region)
    if event.bpu_payload is None:
        return False
    if held is None:
        return True
    owner = person_events.recorded_membership(
        event.type, event.bpu_payload, then=held.at(event.tx_from), held=list(held.memberships.values())
    )
    if owner is None:
        return not any(_within(m.region_code, region) for m in held.memberships.values())
    in_force = {m.event_id for m in held.at(high)}
    current = person_events.current_form(owner.event_id, held.replaced_by, in_force)
    return not _within(held.memberships.get(current, owner).region_code, region)


def diff_rows(request: DiffRequest) -> RowSource:
    """The rows, to be read in the session given."""

    async def rows(session: AsyncSession) -> AsyncIterator[Row]:
        changed = await repository.changed_persons(
            session,
            day=request.then.valid_at,
            then_tx=request.then.tx_seq,
            now_tx=request.now.tx_seq,
            region=request.region,
        )
        low, high = sorted((request.then.tx_seq, request.now.tx_seq))
        for start in range(0, len(changed), BATCH):
            batch = changed[start : start + BATCH]
            niks = [nik for nik, _, _ in batch]
            before = await unscoped_answers(session, niks=niks, as_of=request.then)
            after = await unscoped_answers(session, niks=niks, as_of=request.now)
            changes = await repository.events_between(session, niks, after_tx=low, up_to_tx=high)
            # only a regional report places payments and reactivations, by the persons' memberships
            paying = {e.nik for e in changes if e.bpu_payload is not None} if request.region else set()
            memberships = await _memberships(session, sorted(paying), high) if paying else {}
            events: dict[str, list[tuple[str, str]]] = {}
            for e in changes:
                if _outside(e, memberships.get(e.nik), high, request.region):
                    continue  # another region's event: neither its id nor its upload is told
                if e.type.startswith("claim."):
                    continue  # a claim changes no one's cover
                # an event may both enter and leave force between the two moments: both are told
                if low < e.tx_from <= high:
                    events.setdefault(e.nik, []).append(
                        (f"{e.tx_from}:{e.event_id}:{e.type}:entered", e.entered_source)
                    )
                if e.tx_to is not None and low < e.tx_to <= high:
                    events.setdefault(e.nik, []).append(
                        (f"{e.tx_to}:{e.event_id}:{e.type}:left", e.left_source)
                    )
            for nik, region_then, region_now in batch:
                then_answer, now_answer = before.get(nik), after.get(nik)
                changes = events.get(nik, [])
                status_then = then_answer[0].status.value if then_answer else "unknown"
                status_now = now_answer[0].status.value if now_answer else "unknown"
                if not _within(region_then, request.region):
                    status_then, region_then = OUTSIDE, None
                if not _within(region_now, request.region):
                    status_now, region_now = OUTSIDE, None
                yield (
                    nik,
                    status_then,
                    status_now,
                    region_then,
                    region_now,
                    [c for c, _ in sorted(changes, key=lambda change: int(change[0].split(":", 1)[0]))],
                    sorted({s for _, s in changes}),
                )

    return rows


async def diff_chunks(
    session: AsyncSession, *, request: DiffRequest, format: str, tally: Tally
) -> AsyncIterator[bytes]:
    """The diff's bytes in its format (json or csv), hashed and its rows counted into `tally`."""
    rows = counted(rows=diff_rows(request)(session), tally=tally)
    source = csv_chunks(COLUMNS, rows) if format == "csv" else json_chunks(request.header(), COLUMNS, rows)
    async for chunk in source:
        tally.digest.update(chunk)
        yield chunk


async def diff_manifest(session: AsyncSession, *, request: DiffRequest, format: str) -> dict[str, Any]:
    """The diff's two moments, row count, sha256, the ledger head at `known_now`'s tx (the chain
    up to it covers `known_then`'s) and the software version."""
    tally = Tally()
    async for _ in diff_chunks(session, request=request, format=format, tally=tally):
        pass
    return {
        "report": "coverage-diff",
        "format": format,
        "region": request.region,
        "known_then": request.then.as_dict(),
        "known_now": request.now.as_dict(),
        "rows": tally.rows,
        "sha256": tally.digest.hexdigest(),
        "ledger_head": await ledger_head(session, tx_seq=request.now.tx_seq),
        "software_version": __version__,
    }
