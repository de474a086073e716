"""`verify`: recompute every event digest and every link of the hash chain, check the columns reads
rely on (an event's NIK, the correction carrying it) and the person vault against what is
digested; name the first break."""

from contextlib import aclosing
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.canonical import GENESIS_PREV_HASH, event_digest, tx_hash
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.ledger import chain_repository, repository
from coverage_ledger.ledger.preparation import personal_digest


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """Outcome of a verification run."""

    ok: bool
    txs_checked: int
    head_tx_seq: int
    """The ledger's newest tx."""
    head_hash: str | None
    """Its hash, once every tx up to it checked out (None at a break in the chain)."""
    broken_tx_seq: int | None = None
    reason: str | None = None
    from_hash_tx_seq: int | None = None
    """The tx whose hash is the `from_hash` asked about, if the verified chain holds it."""


def _column_problem(events: list[chain_repository.ChainEvent]) -> str | None:
    """The first event whose `nik` or `carried_by` column disagrees with what is digested: the
    payload's NIK, and the correction in the same tx that names the event as its replacement."""
    carriers = {
        replacement: event.event_id
        for event in events
        if (replacement := event.payload.get("replacement_event_id")) is not None
    }
    for event in events:
        nik = event.payload.get("nik") if event.type != "event.corrected" else None
        if event.nik != nik:
            return f"event {event.event_id}: its nik column does not match its payload"
        if event.carried_by != carriers.get(event.event_id):
            return f"event {event.event_id}: its carried_by column does not match the correction carrying it"
    return None


async def verify_ledger(session: AsyncSession, *, from_hash: str | None = None) -> VerifyReport:
    """Walk the chain from tx 1; stop at the first tx whose content or link does not check out.
    With `from_hash` (a head an auditor archived), the verified chain must also pass through it:
    then the history up to it is unchanged and everything since extends it."""
    previous_hash = GENESIS_PREV_HASH
    previous_at = None
    found: int | None = None
    checked = 0
    head_seq, head_hash = 0, None
    # aclosing: stopping at the first break must close the server-side cursors now, not at GC
    async with aclosing(chain_repository.iterate_chain(session)) as chain:
        async for link in chain:
            problem = None
            if link.tx_seq != checked + 1:
                problem = f"tx_seq {link.tx_seq} follows {checked}: a tx is missing"
            elif link.prev_hash != previous_hash:
                problem = "prev_hash does not match the previous tx's hash"
            elif previous_at is not None and link.recorded_at <= previous_at:
                problem = "recorded_at does not increase"
            elif len(link.events) != link.event_count:
                problem = f"header counts {link.event_count} events, the log holds {len(link.events)}"
            else:
                digests = []
                for event in link.events:
                    if not isinstance(event.payload, dict):  # a payload replaced behind the guard
                        problem = (
                            f"event {event.event_id}: its payload is not a JSON object the ledger writes"
                        )
                        break
                    # unchecked: a stored value outside the ledger's subset (a float written behind
                    # the guard) is a break to name, not an error to raise, and it cannot hash to
                    # the digest of what was written
                    digest = event_digest(event.event_id, event.type, event.payload, checked=False)
                    if digest != event.digest:
                        problem = f"event {event.event_id} does not match its digest"
                        break
                    digests.append(digest)
                problem = problem or _column_problem(link.events)
                if problem is None:
                    expected = tx_hash(
                        tx_seq=link.tx_seq,
                        recorded_at=format_instant(link.recorded_at),
                        prev_hash=link.prev_hash,
                        actor=link.actor,
                        source=link.source,
                        backfill=link.backfill,
                        event_digests=digests,
                    )
                    if expected != link.hash:
                        problem = "the tx header does not hash to the stored hash"
            if problem is not None:
                head = await repository.read_head(session)
                newest = head.tx_seq if head is not None else link.tx_seq
                return VerifyReport(False, checked, newest, None, link.tx_seq, problem, found)
            checked += 1
            if link.hash == from_hash:
                found = link.tx_seq
            previous_hash, previous_at = link.hash, link.recorded_at
            head_seq, head_hash = link.tx_seq, link.hash
    async with aclosing(chain_repository.vault_entries_in_log_order(session)) as vault:
        async for entry in vault:
            if personal_digest(entry.salt, entry.fields, checked=False) != entry.personal_digest:
                problem = (
                    f"event {entry.event_id}: the person vault's fields do not match its personal_digest"
                )
                return VerifyReport(False, checked, head_seq, head_hash, entry.tx_seq, problem, found)
    orphans = await chain_repository.orphan_event_count(session)
    if orphans:
        return VerifyReport(
            False, checked, head_seq, head_hash, head_seq + 1, f"{orphans} events belong to no tx"
        )
    if from_hash is not None and found is None:
        return VerifyReport(
            False,
            checked,
            head_seq,
            head_hash,
            None,
            f"no tx of the verified chain has hash {from_hash}: the history up to it was changed, "
            "or it is not a head of this ledger",
        )
    return VerifyReport(True, checked, head_seq, head_hash, from_hash_tx_seq=found)
