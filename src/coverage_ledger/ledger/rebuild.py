"""`rebuild --check`: replay the log from scratch and compare with the live projections."""

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.claims.rebuild import claim_differences
from coverage_ledger.coverage import spans_repository
from coverage_ledger.coverage.spans import current_spans
from coverage_ledger.domain.supersession import EventLinks, changes_after_append
from coverage_ledger.ledger import rebuild_repository
from coverage_ledger.ledger.repository import read_head

Interval = tuple[str, int, int | None, str | None]


def replay_force(
    txs: Iterable[tuple[int, list[tuple[str, str | None, tuple[str, ...], str | None]]]],
) -> set[Interval]:
    """Force intervals of events involved in corrections, replayed tx by tx from the log alone.

    Each tx is (tx_seq, [(event_id, carried_by, supersedes, replacement_event_id)]).
    """
    links: dict[str, EventLinks] = {}
    force: dict[str, bool] = {}
    open_since: dict[str, int] = {}
    intervals: set[Interval] = set()
    for tx_seq, events in txs:
        for event_id, carried_by, supersedes, replacement in events:
            node = links.setdefault(event_id, EventLinks(event_id))
            node.carried_by, node.supersedes, node.replacement = carried_by, supersedes, replacement
            for target in supersedes:
                links.setdefault(target, EventLinks(target)).corrected_by.append(event_id)
        for change in changes_after_append(links, [e[0] for e in events], force):
            if change.in_force:
                force[change.event_id] = True
                open_since[change.event_id] = tx_seq
            else:
                force[change.event_id] = False
                intervals.add(
                    (change.event_id, open_since.pop(change.event_id), tx_seq, change.superseded_by)
                )
        for event_id, *_ in events:
            # a correction superseded in its own tx is born out of force, and stays so until
            # something changes it; without this it would read as in force later
            force.setdefault(event_id, False)
    intervals.update((event_id, since, None, None) for event_id, since in open_since.items())
    return intervals


async def rebuild_check(session: AsyncSession) -> list[str]:
    """Differences between a rebuild from the log and the live projections (empty = equal)."""
    differences: list[str] = []
    expected = replay_force(sorted((await rebuild_repository.correction_events_by_tx(session)).items()))
    live = await rebuild_repository.live_force_intervals(session)
    differences += [f"event_knowledge lacks {row}" for row in sorted(expected - live, key=str)]
    differences += [f"event_knowledge has extra {row}" for row in sorted(live - expected, key=str)]
    plain = await rebuild_repository.plain_knowledge_differences(session)
    differences += [f"{r.what} {r.event_id} from tx {r.tx_from}" for r in plain]
    links = await rebuild_repository.correction_link_differences(session)
    differences += [f"{r.what} {r.target} <- {r.correction}" for r in links]
    regions = await rebuild_repository.region_differences(session)
    differences += [f"{r.what} {r.code} ({r.event_id}) from tx {r.tx_from}" for r in regions]
    differences += await _span_differences(session)
    differences += await claim_differences(session)
    terms = await rebuild_repository.enrolment_term_differences(session)
    differences += [f"{r.what} {r.event_id} from tx {r.tx_from}" for r in terms]
    for rows in (
        await rebuild_repository.coverage_delta_differences(session),
        await rebuild_repository.coverage_checkpoint_differences(session),
    ):
        differences += [f"{r.what} {r.parent_code}/{r.child_code} {r.day} at tx {r.tx_seq}" for r in rows]
    return differences


async def _span_differences(session: AsyncSession, batch: int = 5_000) -> list[str]:
    """Current coverage spans recomputed from the events in force against the stored ones."""
    differences: list[str] = []
    head = await read_head(session)
    niks = await rebuild_repository.persons_with_coverage(session)
    for start in range(0, len(niks), batch):
        if len(differences) >= 1000:
            break
        chunk = niks[start : start + batch]
        expected = await current_spans(session, niks=chunk, tx_seq=head.tx_seq if head else 0)
        stored = await spans_repository.open_spans(session, niks=chunk)
        for nik in chunk:
            want = {span.as_row() for span in expected.get(nik, [])}
            have = set(stored.get(nik, []))
            differences += [f"coverage_span lacks {nik} {row}" for row in sorted(want - have)]
            differences += [f"coverage_span has extra {nik} {row}" for row in sorted(have - want)]
    return differences[:1000]
