"""A sponsor roster's writing pass: chunks written all or nothing, rows refused while written, other
writers appending meanwhile, rules and keys changed under it."""

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.engine import create_engine_for, libpq_url, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.errors import InvalidInput
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger import unnumbered
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from coverage_ledger.uploads import sponsor_chunks, sponsor_job
from tests.rosters import Uploader, officer_row, roster_csv, sponsor_csv, sponsor_row
from tests.support import GRACE_SHORTENED, Keys, corrected, coverage_of, enrolled_bpu, nik, registered


def _chunked_roster() -> tuple[bytes, str, str]:
    """Seven rows in three chunks of three; the worker of row 2 pays February again on row 7,
    in another chunk, and one of row 5 pays on row 6, in the same chunk."""
    twice, again = (nik(born=date(1985, 3, 12), female=False) for _ in range(2))
    rows = [sponsor_row(twice), *(sponsor_row() for _ in range(2)), sponsor_row(again)]
    rows += [
        sponsor_row(again, months=("2025-04", "2025-04"), amount="16800"),
        sponsor_row(twice, months=("2025-02", "2025-02"), amount="16800"),
    ]
    return sponsor_csv(rows), twice, again


async def test_a_large_sponsor_roster_is_written_in_chunks_all_or_nothing(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 3)
    content, twice, again = _chunked_roster()
    head = await uploader.head()
    dry = await uploader.run(content, key=uploader.keys.sponsor, kind="sponsor_roster", dry_run="true")
    # row 7's worker is in an earlier chunk: its payment is checked when written
    assert dry["outcome"]["would_commit"] is True and dry["outcome"]["checked_when_written"] == 1, (
        dry,
        await uploader.errors(dry["upload_id"], key=uploader.keys.sponsor),
    )
    # row 7 is neither accepted nor rejected until written; the invoice counts the checked rows
    assert (dry["rows_total"], dry["rows_accepted"], dry["rows_rejected"]) == (6, 5, 0), dry
    assert dry["outcome"]["paid"] == 5, dry
    failed = await uploader.run(content, key=uploader.keys.sponsor, kind="sponsor_roster")
    assert failed["status"] == "failed", failed
    errors = await uploader.errors(failed["upload_id"], key=uploader.keys.sponsor)
    assert [e["row"] for e in errors] == ["7"]
    assert await uploader.head() == head  # the chunks written before the refusal went too
    kept = await uploader.run(
        content, key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert kept["status"] == "succeeded", kept
    assert (kept["rows_accepted"], kept["rows_rejected"]) == (5, 1)
    # its first writing pass numbered rows 2-4 before row 7 was refused: rolled back, staged again
    await _projections_match_the_log(fresh_database)
    # rows 2-4 and 5-6 in one tx (row 7, refused, is skipped: no worker spans two chunks)
    assert kept["tx_seq"] == head + 1 and "txs" not in kept["outcome"], kept
    covered = await coverage_of(uploader.client, uploader.keys, again, "2025-04-15")
    assert covered["status"] == "covered"
    assert (await coverage_of(uploader.client, uploader.keys, twice, "2025-03-31"))["status"] == "covered"


async def test_checking_a_batch_without_writing_it_takes_no_lock(session: AsyncSession) -> None:
    person = nik()
    request = AppendRequest.model_validate({"events": [registered(person)]})
    head = await ledger_repository.resolve_known_at(session)
    result = await append_events(
        session,
        principal=SYSTEM,
        events=request.events,
        source="test",
        now=datetime.now(UTC),
        validate_only=True,
    )
    assert (result.tx_seq, result.accepted) == (head, 1)
    locks = await session.execute(
        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
    )
    assert locks.scalar_one() == 0
    assert await ledger_repository.resolve_known_at(session) == head
    written = await session.execute(
        text("SELECT count(*) FROM ledger_event WHERE nik = :nik"), {"nik": person}
    )
    assert written.scalar_one() == 0
    # the same checks as a real append: a bad batch is refused all the same
    with pytest.raises(InvalidInput):
        await append_events(
            session,
            principal=SYSTEM,
            events=AppendRequest.model_validate(
                {"events": [registered(person) | {"region_code": "16.99.99"}]}
            ).events,
            source="test",
            now=datetime.now(UTC),
            validate_only=True,
        )


async def test_a_row_checked_when_written_that_fails_its_own_shape_still_fails_all_or_nothing(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row 5's worker is in the first chunk, so row 5 is checked only when written; it lists a
    program twice, which the event's own shape refuses. Under all_or_nothing nothing is written."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 3)
    worker = nik(born=date(1985, 3, 12), female=False)
    bad = sponsor_row(worker, months=("2025-04", "2025-04"), amount="16800")
    bad[5] = "JKK,JKM,JKM"
    content = sponsor_csv([sponsor_row(worker), sponsor_row(), sponsor_row(), bad])
    head = await uploader.head()
    failed = await uploader.run(content, key=uploader.keys.sponsor, kind="sponsor_roster")
    assert failed["status"] == "failed", failed
    assert [e["row"] for e in await uploader.errors(failed["upload_id"], key=uploader.keys.sponsor)] == ["5"]
    assert await uploader.head() == head
    kept = await uploader.run(
        content, key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert kept["status"] == "succeeded" and (kept["rows_accepted"], kept["rows_rejected"]) == (3, 1), kept


async def test_rows_refused_while_written_pass_after_pass_end_under_the_lock(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four rows checked only when written (their worker is in the first chunk) each pay January
    again: each writing pass takes one out. After two passes the rest run under the lock, where
    the file's rows are the only ones that can refuse each other, until none is refused: the
    good rows are written, instead of the upload given up as rows_keep_failing."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 1)
    worker = nik(born=date(1985, 3, 12), female=False)
    january = sponsor_row(worker, months=("2025-01", "2025-01"), amount="16800")
    april = sponsor_row(worker, months=("2025-04", "2025-04"), amount="16800")
    content = sponsor_csv([sponsor_row(worker), january, january, january, january, april])
    status = await uploader.run(
        content, key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert status["status"] == "succeeded", status
    assert (status["rows_accepted"], status["rows_rejected"]) == (2, 4), status
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert sorted({(e["row"], e["code"]) for e in errors}) == [
        (str(row), "month_already_paid") for row in range(3, 7)
    ]
    assert status["phase_seconds"]["commit_locked"] >= 0
    answer = await coverage_of(uploader.client, uploader.keys, worker, "2025-04-15")
    assert answer["status"] == "covered", answer


async def test_a_failed_roster_does_not_count_its_unchecked_rows_as_accepted(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 3)
    worker = nik(born=date(1985, 3, 12), female=False)
    again = sponsor_row(worker, months=("2025-04", "2025-04"), amount="16800")
    wrong_amount = sponsor_row(amount="1")
    content = sponsor_csv([sponsor_row(worker), sponsor_row(), wrong_amount, again])
    head = await uploader.head()
    failed = await uploader.run(content, key=uploader.keys.sponsor, kind="sponsor_roster")
    assert failed["status"] == "failed", failed
    errors = await uploader.errors(failed["upload_id"], key=uploader.keys.sponsor)
    assert [e["row"] for e in errors] == ["4"], errors
    # rows 2 and 3 passed, row 4 failed, row 5 (the first chunk's worker) was never checked
    assert (failed["rows_accepted"], failed["rows_rejected"]) == (2, 1), failed
    assert failed["outcome"]["checked_when_written"] == 1, failed
    assert await uploader.head() == head


async def test_a_worker_of_an_earlier_chunk_numbers_the_chunks_before_and_goes_in_a_tx_of_its_own(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """Row 7 pays April for the worker of row 2 (chunk 1): chunk 1 must be in force to check it,
    so rows 2-4 are numbered when chunk 2 comes, and chunk 2 is a tx of its own."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 3)
    twice = nik(born=date(1985, 3, 12), female=False)
    rows = [sponsor_row(twice), sponsor_row(), sponsor_row(), sponsor_row()]
    rows += [sponsor_row(), sponsor_row(twice, months=("2025-04", "2025-04"), amount="16800")]
    head = await uploader.head()
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    assert status["outcome"]["txs"] == [head + 1, head + 2] and status["tx_seq"] == head + 2
    assert status["outcome"]["registered"] == 5 and status["outcome"]["paid"] == 6
    assert (await coverage_of(uploader.client, uploader.keys, twice, "2025-04-15"))["status"] == "covered"
    # the spans computed before the lock are those a rebuild from the log finds
    await _projections_match_the_log(fresh_database)


async def test_other_writers_append_while_a_sponsor_roster_is_being_written(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """Between the writing pass's chunks the append lock is free: an officer enrolled over the API
    then commits at once, and the roster's tx is numbered after it."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    calls = _appending_while_written(uploader, monkeypatch, {1: [registered(nik())]}, after_writing=True)
    head = await uploader.head()
    status = await uploader.run(
        sponsor_csv([sponsor_row() for _ in range(5)]), key=uploader.keys.sponsor, kind="sponsor_roster"
    )
    assert len(calls) == 3
    assert status["status"] == "succeeded" and status["tx_seq"] == head + 2, status
    assert status["outcome"]["paid"] == 5
    await _projections_match_the_log(fresh_database)


async def test_a_worker_registered_meanwhile_sends_the_roster_round_again(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """A worker of chunk 1 is registered over the API while chunk 2 is written: the chunks were
    checked against a ledger without that registration, so the pass is undone and written again
    (still without the lock), and the worker keeps the one registration."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    worker = nik(born=date(1985, 3, 12), female=False)
    uploader.app.state.append_wait_seconds = 1
    # the second call: the worker registers; the third, in the pass written again: someone else
    # does, and need not wait (the rollback let go of the lock the numbering took)
    calls = _appending_while_written(uploader, monkeypatch, {2: [registered(worker)], 3: [registered(nik())]})
    head = await uploader.head()
    rows = [sponsor_row(worker), *(sponsor_row() for _ in range(3))]
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    # the registrations are txs head+1 and head+2; the second pass (chunks 1 and 2 again) is one tx
    assert len(calls) == 4 and status["tx_seq"] == head + 3 and "txs" not in status["outcome"], status
    assert status["outcome"]["registered"] == 3 and status["outcome"]["paid"] == 4
    history = await uploader.client.get(
        f"/v1/persons/{worker}/history", headers=Keys.header(uploader.keys.admin)
    )
    assert history.status_code == 200, history.text
    types = [event["type"] for event in history.json()["events"]]
    assert types.count("person.registered") == 1, types
    assert (await coverage_of(uploader.client, uploader.keys, worker, "2025-02-15"))["status"] == "covered"
    await _projections_match_the_log(fresh_database)


def _appending_while_written(
    uploader: Uploader,
    monkeypatch: pytest.MonkeyPatch,
    batches: dict[int, list[dict[str, Any]]],
    *,
    after_writing: bool = False,
) -> list[int]:
    """Make the sponsor job's n-th `write_chunk` call append `batches[n]` over the API (an admin
    key), before the chunk is written (or after); each must answer 200 within 20 s, so an append
    that had to wait for a lock the roster holds fails the test. The calls made, as a list."""
    real_write_chunk = unnumbered.write_chunk
    calls: list[int] = []

    async def append(call: int) -> None:
        if call in batches:
            response = await asyncio.wait_for(
                uploader.client.post(
                    "/v1/events", json={"events": batches[call]}, headers=Keys.header(uploader.keys.admin)
                ),
                timeout=20,
            )
            assert response.status_code == 200, response.text

    async def write_chunk_and_append(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if not after_writing:
            await append(len(calls))
        result = await real_write_chunk(*args, **kwargs)
        if after_writing:
            await append(len(calls))
        return result

    monkeypatch.setattr(sponsor_chunks, "write_chunk", write_chunk_and_append)
    return calls


async def _projections_match_the_log(database: str) -> None:
    engine = create_engine_for(database, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            assert await rebuild_check(session) == []
    finally:
        await engine.dispose()


async def test_a_rule_changed_while_a_sponsor_roster_is_written_sends_it_round_again(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """The grace period is shortened while the roster is written: its chunks were checked (and
    their spans computed) under the old grace, so the pass is written again."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    calls = _appending_while_written(uploader, monkeypatch, {2: [GRACE_SHORTENED]})
    head = await uploader.head()
    status = await uploader.run(
        sponsor_csv([sponsor_row() for _ in range(4)]), key=uploader.keys.sponsor, kind="sponsor_roster"
    )
    assert status["status"] == "succeeded", status
    # the rule is tx head+1; the second pass is one tx
    assert len(calls) == 4 and status["tx_seq"] == head + 2 and "txs" not in status["outcome"], status
    await _projections_match_the_log(fresh_database)


async def test_a_roster_numbered_after_midnight_twice_is_written_again_under_the_lock(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """The chunks were checked for the day they were written (an enrolment without registered_on
    counts from its recording day, and a payment must fall within its cover); numbered on the
    next day, they are written again. When that happens twice, the third pass runs under the
    lock, a chunk per tx."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    # (recorded on, checked for), twice
    days = iter([date(2025, 1, 11), date(2025, 1, 10), date(2025, 1, 12), date(2025, 1, 11)])
    monkeypatch.setattr(unnumbered, "jakarta_date", lambda moment: next(days))
    head = await uploader.head()
    status = await uploader.run(
        sponsor_csv([sponsor_row() for _ in range(3)]), key=uploader.keys.sponsor, kind="sponsor_roster"
    )
    assert status["status"] == "succeeded", status
    assert next(days, None) is None
    assert status["outcome"]["txs"] == [head + 1, head + 2], status
    await _projections_match_the_log(fresh_database)


async def test_a_pass_stops_as_soon_as_a_look_finds_the_ledger_moved_under_it(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """A worker of chunk 1 registers while chunk 2 is written: the look after chunk 2 finds it,
    so chunk 3 is not written in vain before the pass starts again."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    monkeypatch.setattr(sponsor_job, "LOOK_EVERY_CHUNKS", 1)
    worker = nik(born=date(1985, 3, 12), female=False)
    calls = _appending_while_written(uploader, monkeypatch, {2: [registered(worker)]})
    head = await uploader.head()
    rows = [sponsor_row(worker), *(sponsor_row() for _ in range(5))]
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    # the first pass wrote chunks 1 and 2 only; the second all three, as one tx
    assert len(calls) == 5 and status["tx_seq"] == head + 2 and "txs" not in status["outcome"], status
    assert status["outcome"]["registered"] == 5 and status["outcome"]["paid"] == 6
    await _projections_match_the_log(fresh_database)


async def test_a_worker_registered_before_their_own_chunk_was_checked_sends_nothing_round_again(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """The worker of chunk 2 registers over the API after chunk 1 is written: chunk 2 is checked
    after that and sees it, so the pass stands (each person is watched from their own chunk's
    check, not from the first chunk's)."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    worker = nik(born=date(1985, 3, 12), female=False)
    # after chunk 1 is checked and written; chunk 2 not yet
    calls = _appending_while_written(uploader, monkeypatch, {1: [registered(worker)]}, after_writing=True)
    head = await uploader.head()
    rows = [sponsor_row(), sponsor_row(), sponsor_row(), sponsor_row(worker)]
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    assert len(calls) == 2 and status["tx_seq"] == head + 2 and "txs" not in status["outcome"], status
    assert status["outcome"]["registered"] == 3 and status["outcome"]["paid"] == 4
    await _projections_match_the_log(fresh_database)


async def test_a_worker_registered_before_their_chunk_is_written_sends_the_pass_under_the_lock(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """Found by a probe: a worker of chunk 2, registered over the API after the checking pass but
    before chunk 2 was written, had the roster's registration refused (already_registered), and
    the whole upload failed on a row that was right. The pass now goes again under the lock."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 2)
    worker = nik(born=date(1985, 3, 12), female=False)
    _appending_while_written(uploader, monkeypatch, {2: [registered(worker)]})
    rows = [*(sponsor_row() for _ in range(3)), sponsor_row(worker)]
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    assert (status["rows_accepted"], status["rows_rejected"]) == (4, 0), status
    assert status["outcome"]["registered"] == 3 and status["outcome"]["paid"] == 4
    assert await uploader.errors(status["upload_id"], key=uploader.keys.sponsor) == []
    await _projections_match_the_log(fresh_database)


@pytest.mark.parametrize("kind", ["officer_roster", "sponsor_roster"])
async def test_an_upload_whose_key_is_revoked_before_it_commits_writes_nothing(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str, kind: str
) -> None:
    """Found by a probe: an upload queued or running when its key was revoked still committed, its
    tx naming the revoked key. The key is checked again under the append lock."""
    key, name = (
        (uploader.keys.committee, "test-committee")
        if kind == "officer_roster"
        else (uploader.keys.sponsor, "test-sponsor")
    )
    take_lock = ledger_repository.take_append_lock

    async def revoking(session: AsyncSession) -> int:
        with psycopg.connect(libpq_url(fresh_database), autocommit=True) as conn:
            conn.execute("UPDATE api_key SET revoked_at = now() WHERE name = %s", (name,))
        return await take_lock(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", revoking)
    content = roster_csv([officer_row()]) if kind == "officer_roster" else sponsor_csv([sponsor_row()])
    head = await uploader.head()
    response = await uploader.post(content, key=key, kind=kind)
    assert response.status_code == 202, response.text
    await uploader.app.state.upload_runner.wait_idle()
    status = await uploader.status(response.json()["upload_id"], key=uploader.keys.admin)
    assert status["status"] == "failed" and status["problem"]["code"] == "key_revoked", status
    assert await uploader.head() == head


async def test_a_key_revoked_before_a_later_chunk_of_its_own_tx_fails_the_upload_writing_nothing(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch, fresh_database: str
) -> None:
    """The chunk path of the check above: chunk 1 is numbered when chunk 2 names its worker, and
    the key is revoked before chunk 2, a tx of its own, takes the lock. The upload fails
    `key_revoked` and chunk 1's numbered tx is undone with the rest."""
    monkeypatch.setattr(sponsor_job, "CHUNK_ROWS", 3)
    twice = nik(born=date(1985, 3, 12), female=False)
    rows = [sponsor_row(twice), sponsor_row(), sponsor_row()]
    rows += [sponsor_row(), sponsor_row(twice, months=("2025-04", "2025-04"), amount="16800")]
    take_lock = ledger_repository.take_append_lock
    locks: list[int] = []

    async def revoking_at_chunk_two(session: AsyncSession) -> int:
        locks.append(1)
        if len(locks) == 1:  # chunk 2's own tx (chunk 1 is numbered under `number_tx`'s own lock)
            with psycopg.connect(libpq_url(fresh_database), autocommit=True) as conn:
                conn.execute("UPDATE api_key SET revoked_at = now() WHERE name = 'test-sponsor'")
        return await take_lock(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", revoking_at_chunk_two)
    head = await uploader.head()
    response = await uploader.post(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert response.status_code == 202, response.text
    await uploader.app.state.upload_runner.wait_idle()
    status = await uploader.status(response.json()["upload_id"], key=uploader.keys.admin)
    assert status["status"] == "failed" and status["problem"]["code"] == "key_revoked", status
    assert "test-sponsor" in status["problem"]["message"]
    # chunk 2's tx took the lock (a batch judged by the rules takes it once more, to see that no
    # rule changed while it was checked)
    assert 1 <= len(locks) <= 2
    assert await uploader.head() == head
    await _projections_match_the_log(fresh_database)


async def test_a_membership_retracted_while_its_row_is_checked_is_enrolled_afresh(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a race probe: a worker's membership retracted between the checking pass's read of
    the chunk's workers and its check of their events refused the row `no_membership` (planned as
    a payment for that membership); sent alone, the same row enrols the worker afresh."""
    member = nik(born=date(1985, 3, 12), female=False)
    membership = enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2025-01-01")
    admin = Keys.header(uploader.keys.admin)
    setup = await uploader.client.post(
        "/v1/events", json={"events": [registered(member), membership]}, headers=admin
    )
    assert setup.status_code == 200, setup.text
    real_append = append_events
    retracted: list[int] = []

    async def retract_before_the_check(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("validate_only") and not retracted:
            gone = await uploader.client.post(
                "/v1/events", json={"events": [corrected("no-bpu", [f"bpu-{member}"])]}, headers=admin
            )
            assert gone.status_code == 200, gone.text
            retracted.append(gone.json()["tx_seq"])
        return await real_append(*args, **kwargs)

    monkeypatch.setattr(sponsor_chunks, "append_events", retract_before_the_check)
    content = sponsor_csv([sponsor_row(member), sponsor_row()])
    status = await uploader.run(
        content, key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert retracted, "the membership was retracted during the checking pass"
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert (status["status"], status["rows_accepted"], errors) == ("succeeded", 2, []), (status, errors)
    assert status["outcome"]["enrolled"] == 2, status
    assert (await coverage_of(uploader.client, uploader.keys, member, "2025-02-15"))["status"] == "covered"
