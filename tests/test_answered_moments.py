"""An answer given for a moment past the head never changes: a backfill may not be stamped within a
moment a read has already answered for (found by a probe: an auditor's coverage roster as known at
2025-06-01, pulled while the demo's head was at 2024-12-20, changed when an admin then backfilled a
tx recorded on 2025-03-01)."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient
from sqlalchemy import text

from coverage_ledger.database.engine import create_engine_for, libpq_url, session_factory
from coverage_ledger.demo.loader import load_demo
from coverage_ledger.domain.timeframes import KnownAtInstant
from coverage_ledger.errors import Conflict
from coverage_ledger.ledger import asof, asof_repository
from tests.live_app import live_app
from tests.support import Keys, corrected, enrolled, nik, registered


async def _backfill(client: AsyncClient, keys: Keys, recorded_at: str, *events: dict[str, Any]) -> Any:
    return await client.post(
        "/v1/events",
        json={"recorded_at": recorded_at, "events": list(events)},
        headers=Keys.header(keys.admin),
    )


async def _coverage(client: AsyncClient, keys: Keys, person: str, known_at: str) -> Any:
    return await client.get(
        f"/v1/persons/{person}/coverage",
        params={"valid_at": "2024-02-01", "known_at": known_at},
        headers=Keys.header(keys.admin),
    )


def _kpps(person: str) -> dict[str, Any]:
    return enrolled(
        person,
        event_id=f"kpps-{person}",
        valid_from="2024-01-25",
        valid_to="2024-02-24",
        registered_on="2024-01-15",
    )


async def test_a_backfill_within_a_moment_already_answered_for_is_refused(fresh_database: str) -> None:
    """(On a database of its own: a rollback-isolated test's one transaction would hold the
    append lock of its first backfill, and its read of a moment past the head would wait for it.)"""
    async with live_app(fresh_database) as (_, client, keys):
        await _backfill_after_an_answer(client, keys)


async def _backfill_after_an_answer(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    first = await _backfill(client, keys, "2024-01-20T09:00:00+07:00", registered(person), _kpps(person))
    assert first.status_code == 200, first.text
    asked = "2024-06-01T00:00:00+07:00"  # past, and after the head
    answer = await _coverage(client, keys, person, asked)
    assert answer.status_code == 200 and answer.json()["status"] == "covered", answer.text

    retraction = corrected(f"fix-{person}", [f"kpps-{person}"])
    refused = await _backfill(client, keys, "2024-03-01T09:00:00+07:00", retraction)
    assert refused.status_code == 409, refused.text
    assert [(e["code"], e["field"]) for e in refused.json()["errors"]] == [
        ("backfill_within_answered_moment", "recorded_at")
    ], refused.text
    assert "2024-05-31T17:00:00" in refused.text  # the moment answered for, in UTC
    # before the head too: that plainer reason is the one given (a contract probe was told of
    # the answered moment)
    before_head = await _backfill(client, keys, "2024-01-01T09:00:00+07:00", retraction)
    assert [(e["code"], e["field"]) for e in before_head.json()["errors"]] == [
        ("backfill_not_after_head", "recorded_at")
    ], before_head.text
    # exactly at the moment asked is within it too (a timestamp known_at takes txs recorded at it)
    at_the_moment = await _backfill(client, keys, asked, retraction)
    assert at_the_moment.status_code == 409, at_the_moment.text
    later = await _backfill(client, keys, "2024-06-01T00:00:00.000001+07:00", retraction)
    assert later.status_code == 200, later.text
    again = await _coverage(client, keys, person, asked)
    assert again.content == answer.content


async def test_a_date_answers_for_the_whole_day_and_a_moment_before_the_head_for_nothing(
    fresh_database: str,
) -> None:
    async with live_app(fresh_database) as (_, client, keys):
        await _backfill_after_a_day(client, keys)


async def _backfill_after_a_day(client: AsyncClient, keys: Keys) -> None:
    person = nik()
    assert (await _backfill(client, keys, "2024-01-20T09:00:00+07:00", registered(person))).status_code == 200
    before_the_head = await _coverage(client, keys, person, "2024-01-01")
    assert before_the_head.status_code == 404  # not registered yet: answered from an earlier tx
    on_a_day = await _coverage(client, keys, person, "2024-07-01")
    assert on_a_day.json()["status"] == "not_enrolled", on_a_day.text
    enrolment = _kpps(person)
    refused = await _backfill(client, keys, "2024-07-01T23:59:00+07:00", enrolment)
    assert refused.status_code == 409, refused.text
    assert "2024-07-01T16:59:59.999999" in refused.text  # the end of 1 July in Jakarta, in UTC
    assert (await _backfill(client, keys, "2024-07-02T00:00:00+07:00", enrolment)).status_code == 200


async def test_a_backfill_racing_a_read_of_its_moment_never_changes_the_answer(fresh_database: str) -> None:
    """Two writers of a sort: the read marks the moment, the backfill checks it under the append
    lock. Whichever goes first, the answer given for the moment is the answer for good."""
    async with live_app(fresh_database) as (_, client, keys):
        for round_ in range(8):
            person = nik()
            day = date(2024, 1, 1) + timedelta(days=10 * round_)

            def at(days: int, day: date = day) -> str:
                return f"{(day + timedelta(days=days)).isoformat()}T12:00:00+07:00"

            enrolment = enrolled(
                person,
                event_id=f"kpps-{person}",
                valid_from="2023-01-01",
                valid_to="2023-02-01",
                registered_on="2022-12-01",
            )
            setup = await _backfill(client, keys, at(1), registered(person), enrolment)
            assert setup.status_code == 200, setup.text
            read = client.get(
                f"/v1/persons/{person}/coverage",
                params={"valid_at": "2023-01-15", "known_at": at(3)},
                headers=Keys.header(keys.admin),
            )
            backfill = _backfill(client, keys, at(2), corrected(f"fix-{person}", [f"kpps-{person}"]))
            answer, written = await asyncio.gather(read, backfill)
            assert answer.status_code == 200 and written.status_code in {200, 409}, (
                answer.text,
                written.text,
            )
            status = answer.json()["status"]
            # a retraction written within the moment is in the answer; one refused is not
            assert status == ("not_enrolled" if written.status_code == 200 else "covered"), (
                status,
                written.text,
            )
            again = await client.get(
                f"/v1/persons/{person}/coverage",
                params={"valid_at": "2023-01-15", "known_at": at(3)},
                headers=Keys.header(keys.admin),
            )
            assert again.content == answer.content
            if written.status_code == 409:  # the next round's backfills come after this moment
                assert (await _backfill(client, keys, at(4), registered(nik()))).status_code == 200


async def test_a_refusal_answers_for_its_moment_too(fresh_database: str) -> None:
    """A 404 for a person not registered as known at a moment, and a report of that moment, are
    answers as much as a 200: a backfill registering the person within it is refused after them."""
    async with live_app(fresh_database) as (_, client, keys):
        person = nik()
        unknown = await _coverage(client, keys, person, "2024-03-01T00:00:00+07:00")
        assert unknown.status_code == 404, unknown.text
        refused = await _backfill(client, keys, "2024-02-01T00:00:00+07:00", registered(person))
        assert refused.status_code == 409, refused.text
        report = await client.get(
            "/v1/reports/coverage-roster",
            params={"valid_at": "2024-02-01", "known_at": "2024-05-01", "format": "csv"},
            headers=Keys.header(keys.auditor),
        )
        assert report.status_code == 200, report.text
        late = await _backfill(client, keys, "2024-04-01T00:00:00+07:00", registered(person), _kpps(person))
        assert late.status_code == 409 and "2024-05-01T16:59:59.999999" in late.text, late.text
        again = await _coverage(client, keys, person, "2024-03-01T00:00:00+07:00")
        assert again.status_code == 404 and again.content == unknown.content


async def test_a_read_waits_for_a_backfill_checking_its_moment_no_longer_than_the_pending_wait(
    fresh_database: str,
) -> None:
    """A backfill holds the answered moment from its check to its COMMIT (a demo load holds it for
    the whole history): a read of a moment it may fall within answers 503, not never."""
    async with live_app(fresh_database) as (_, client, keys):
        async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database)) as backfill:
            await backfill.execute("SELECT answered_until FROM answered_moment FOR UPDATE")
            started = time.monotonic()
            waiting = await _coverage(client, keys, nik(), "2024-03-01T00:00:00+07:00")
            waited = time.monotonic() - started
            await backfill.rollback()
        assert waiting.status_code == 503, waiting.text
        assert waiting.json()["type"] == "/problems/still-committing" and "backfill" in waiting.text
        assert asof.PENDING_WAIT_SECONDS <= waited < asof.PENDING_WAIT_SECONDS + 5, waited


async def test_the_demo_refuses_a_ledger_answered_for_after_its_history(fresh_database: str) -> None:
    async with live_app(fresh_database) as (_, client, keys):
        assert (await _coverage(client, keys, nik(), "2025-01-01")).status_code == 404
    engine = create_engine_for(fresh_database, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            with pytest.raises(Conflict) as refused:
                await load_demo(session, scale=1000)
    finally:
        await engine.dispose()
    assert refused.value.errors[0].code == "backfill_within_answered_moment"


async def test_a_slow_read_holds_up_no_other_read_and_its_mark_outlives_it(fresh_database: str) -> None:
    """Found by a probe: a report manifest hashing 355,000 rows kept the marked row locked for its
    whole transaction, and single reads of a later moment got 503 after 3 s meanwhile."""
    engine = create_engine_for(fresh_database, pool_size=2)
    maker = session_factory(engine)
    try:
        async with maker() as slow, maker() as quick:
            await asof.resolve(
                slow, valid_at=date(2024, 2, 1), known_at=KnownAtInstant(datetime(2024, 6, 1, tzinfo=UTC))
            )
            await slow.execute(text("SELECT 1"))  # the slow read goes on, its transaction open
            started = time.monotonic()
            await asof.resolve(
                quick, valid_at=date(2024, 2, 1), known_at=KnownAtInstant(datetime(2024, 7, 1, tzinfo=UTC))
            )
            assert time.monotonic() - started < 1.0
            await quick.commit()
            await slow.rollback()  # the slow read ends in a refusal: its mark stays
        async with maker() as check:
            assert await asof_repository.answered_until(check) == datetime(2024, 7, 1, tzinfo=UTC)
    finally:
        await engine.dispose()
