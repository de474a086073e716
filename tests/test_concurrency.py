"""Concurrent appenders: commit-ordered tx_seq, stable past answers, and no two winners."""

import asyncio
import itertools
import random
import uuid
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.database.engine import create_engine_for, libpq_url, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.ledger import asof
from coverage_ledger.ledger.repository import APPEND_LOCK_KEY, seal_append
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from tests.live_app import live_app
from tests.rosters import Uploader
from tests.support import Keys, asgi_post_scope, enrolled, nik, registered

WRITERS = 4
TXS_PER_WRITER = 15


async def _writer(client: AsyncClient, keys: Keys, writer: int, people: list[str]) -> list[int]:
    seqs = []
    for i in range(TXS_PER_WRITER):
        person = nik()
        people.append(person)
        start = 1 + (i % 27)
        events = [
            registered(person),
            enrolled(
                person,
                event_id=f"w{writer}-{i}",
                valid_from=f"2024-01-{start:02d}",
                valid_to="2024-02-24",
                registered_on="2024-01-01",
            ),
        ]
        response = await client.post(
            "/v1/events", json={"events": events}, headers=Keys.header(keys.committee)
        )
        assert response.status_code == 200, response.text
        seqs.append(response.json()["tx_seq"])
    return seqs


async def _reader(
    client: AsyncClient,
    keys: Keys,
    url: str,
    people: list[str],
    stop: asyncio.Event,
    answers: list[tuple[str, int, dict[str, Any]]],
) -> int:
    """Polls the log and the API; returns how many polls it made."""
    seen_max = 0
    seen: set[int] = set()
    polls = 0
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        while not stop.is_set() or polls == 0:
            rows = await (await conn.execute("SELECT tx_seq FROM ledger_tx")).fetchall()
            numbers = {r[0] for r in rows}
            late = [n for n in numbers - seen if n <= seen_max]
            assert not late, f"tx {late} appeared after the reader saw tx {seen_max}"
            seen = numbers
            seen_max = max(numbers, default=0)
            if people:
                person = random.choice(people)
                response = await client.get(
                    f"/v1/persons/{person}/coverage",
                    params={"valid_at": "2024-01-15", "known_at": f"tx:{seen_max}"},
                    headers=Keys.header(keys.admin),
                )
                if response.status_code == 200:
                    answers.append((person, seen_max, response.json()))
            polls += 1
            await asyncio.sleep(0)
    return polls


async def test_concurrent_appenders_are_commit_ordered_and_past_answers_never_change(
    fresh_database: str,
) -> None:
    async with live_app(fresh_database) as (_, client, keys):
        people: list[str] = []
        answers: list[tuple[str, int, dict[str, Any]]] = []
        stop = asyncio.Event()
        reader = asyncio.create_task(_reader(client, keys, fresh_database, people, stop, answers))
        results = await asyncio.gather(*(_writer(client, keys, w, people) for w in range(WRITERS)))
        stop.set()
        polls = await reader
        assert polls > 1
        all_seqs = sorted(s for seqs in results for s in seqs)
        assert len(set(all_seqs)) == WRITERS * TXS_PER_WRITER
        for seqs in results:
            assert seqs == sorted(seqs), "a writer's own txs are numbered in its order"
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            rows = conn.execute("SELECT tx_seq, recorded_at FROM ledger_tx ORDER BY tx_seq").fetchall()
        assert [r[0] for r in rows] == list(range(1, len(rows) + 1)), "tx_seq has no gaps"
        assert all(a[1] < b[1] for a, b in itertools.pairwise(rows)), "recorded_at strictly increases"
        assert answers, "the reader saw answers to replay"
        for person, tx_seq, body in answers:
            again = await client.get(
                f"/v1/persons/{person}/coverage",
                params={"valid_at": "2024-01-15", "known_at": f"tx:{tx_seq}"},
                headers=Keys.header(keys.admin),
            )
            assert again.json() == body


async def test_two_writers_enrolling_overlapping_terms_cannot_both_win(fresh_database: str) -> None:
    async with live_app(fresh_database) as (_, client, keys):
        people = [nik() for _ in range(8)]
        response = await client.post(
            "/v1/events", json={"events": [registered(p) for p in people]}, headers=Keys.header(keys.admin)
        )
        assert response.status_code == 200
        for person in people:
            first = enrolled(person, event_id=f"a-{person}", valid_from="2024-01-25", valid_to="2024-02-24")
            second = enrolled(
                person, event_id=f"b-{person}", role="LINMAS", valid_from="2024-02-01", valid_to="2024-03-01"
            )
            replies = await asyncio.gather(
                client.post("/v1/events", json={"events": [first]}, headers=Keys.header(keys.committee)),
                client.post("/v1/events", json={"events": [second]}, headers=Keys.header(keys.committee)),
            )
            assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            counts = conn.execute(
                "SELECT nik, count(*) FROM event_knowledge "
                "WHERE type = 'officer.enrolled' AND tx_to IS NULL GROUP BY nik"
            ).fetchall()
        assert sorted(counts) == sorted((p, 1) for p in people)


async def test_the_response_is_sent_only_after_commit(fresh_database: str) -> None:
    """At the moment the response starts, another connection already sees the tx."""
    async with live_app(fresh_database) as (app, _, keys):
        person = nik()
        body = (
            b'{"events": ['
            + f'{{"event_id": "rc-1", "type": "person.registered", "nik": "{person}", '
            f'"name": "Ani", "region_code": "16.71"}}'.encode()
            + b"]}"
        )
        seen_at_start: list[int] = []
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database)) as conn:
                    row = await (
                        await conn.execute("SELECT count(*) FROM ledger_event WHERE event_id = 'rc-1'")
                    ).fetchone()
                    assert row is not None
                    seen_at_start.append(row[0])
                    seen_at_start.append(message["status"])

        scope = asgi_post_scope(
            "/v1/events", {"content-type": "application/json", "authorization": f"Bearer {keys.admin}"}
        ) | {"app": app}
        await app(scope, receive, send)
        assert seen_at_start == [1, 200]


async def test_a_tx_that_changed_what_an_append_read_makes_it_recheck(fresh_database: str) -> None:
    """ledger_commit answers 'stale' when a tx committed after the snapshot touched a watched
    person, and 'ok' when the snapshot is the head; the service then re-reads under the lock."""
    async with live_app(fresh_database) as (_, client, keys):
        person = nik()
        first = await client.post(
            "/v1/events",
            json={
                "events": [
                    registered(person),
                    enrolled(person, event_id="s-1", valid_from="2024-01-25", valid_to="2024-02-24"),
                ]
            },
            headers=Keys.header(keys.admin),
        )
        head = first.json()["tx_seq"]
    engine = create_engine_for(fresh_database, pool_size=1)
    try:
        for snapshot, expected in ((head - 1, "stale"), (head, "ok")):
            async with session_factory(engine)() as session, session.begin():
                outcome = await seal_append(
                    session,
                    tx_id=uuid.uuid4(),
                    actor="key:test",
                    source="test",
                    backfill_at=None,
                    digests=[],
                    snapshot=snapshot,
                    watch_events=[],
                    watch_niks=[person],
                    watch_regions=[],
                    leaving=[],
                    entering=[],
                    links=[],
                )
                assert outcome.status == expected
                await session.rollback()
    finally:
        await engine.dispose()


async def test_many_writers_on_the_same_persons_lose_nothing_acknowledged(fresh_database: str) -> None:
    """Six writers at once on five persons: enrolments of random terms, corrections of them and
    BPU-free registrations. Every answer is 200 or 409, never 5xx; every acknowledged event is in
    the log; no person ends with two officer terms sharing a day."""
    async with live_app(fresh_database) as (_, client, keys):
        people = [nik() for _ in range(5)]
        reply = await client.post(
            "/v1/events", json={"events": [registered(p) for p in people]}, headers=Keys.header(keys.admin)
        )
        assert reply.status_code == 200
        acknowledged: list[str] = []

        async def writer(number: int) -> list[int]:
            rng = random.Random(number)
            codes = []
            for step in range(12):
                person = rng.choice(people)
                start = 1 + rng.randrange(40)
                event = enrolled(
                    person,
                    event_id=f"w{number}-{step}",
                    valid_from=f"2024-01-{min(start, 28):02d}",
                    valid_to="2024-03-01",
                    role=rng.choice(["KPPS", "PPS", "LINMAS"]),
                )
                if rng.random() < 0.3 and acknowledged:
                    event = {
                        "event_id": f"c{number}-{step}",
                        "type": "event.corrected",
                        "supersedes": [rng.choice(acknowledged)],
                        "reason": "concurrent correction",
                    }
                response = await client.post(
                    "/v1/events", json={"events": [event]}, headers=Keys.header(keys.admin)
                )
                codes.append(response.status_code)
                if response.status_code == 200:
                    acknowledged.append(event["event_id"])
            return codes

        results = await asyncio.gather(*(writer(n) for n in range(6)))
        assert {code for codes in results for code in codes} <= {200, 409, 422}, results
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            stored = {row[0] for row in conn.execute("SELECT event_id FROM ledger_event")}
            terms = conn.execute(
                "SELECT e.nik, e.payload FROM event_knowledge k JOIN ledger_event e USING (event_id) "
                "WHERE k.type = 'officer.enrolled' AND k.tx_to IS NULL"
            ).fetchall()
        assert set(acknowledged) <= stored
        by_person: dict[str, list[tuple[str, str, set[str]]]] = {}
        for person, payload in terms:
            by_person.setdefault(person, []).append(
                (payload["valid_from"], payload["valid_to"], set(payload["programs"]))
            )
        for person, spans in by_person.items():
            for (a_from, a_to, a_programs), (b_from, b_to, b_programs) in itertools.combinations(spans, 2):
                assert not (a_from < b_to and b_from < a_to and a_programs & b_programs), (person, spans)
        verify = await client.get("/v1/ledger/verify", headers=Keys.header(keys.admin))
        assert verify.json()["ok"]


async def test_an_append_that_waits_too_long_for_the_append_lock_is_a_503_and_writes_nothing(
    uploader: Uploader, fresh_database: str
) -> None:
    """Another tx (a large roster) holds the append lock: after LEDGER_APPEND_WAIT_SECONDS the
    request gives up with a 503 it may retry, and the same batch lands once the lock is free."""
    uploader.app.state.append_wait_seconds = 0.5
    batch = {"events": [registered(nik())]}
    head = await uploader.head()
    async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database)) as holder:
        await holder.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
        busy = await uploader.client.post("/v1/events", json=batch, headers=Keys.header(uploader.keys.admin))
        assert busy.status_code == 503, busy.text
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["type"].endswith("ledger-busy") and busy.headers["Retry-After"] == "10"
        await holder.rollback()
    assert await uploader.head() == head
    landed = await uploader.client.post("/v1/events", json=batch, headers=Keys.header(uploader.keys.admin))
    assert landed.status_code == 200 and landed.json()["accepted"] == 1, landed.text


async def test_a_moment_just_past_waits_for_the_tx_being_committed_within_it(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tx is stamped under the append lock and visible at its COMMIT. A read of a moment after
    the stamp, asked before that COMMIT, waits for it: answered without it, the same moment would
    later take it in. Kept waiting too long, the read answers 503 still-committing instead."""
    async with live_app(fresh_database) as (_, client, keys):
        person = nik()
        await client.post(
            "/v1/events", json={"events": [registered(person)]}, headers=Keys.header(keys.admin)
        )
        engine = create_engine_for(fresh_database, pool_size=1)
        maker = session_factory(engine)

        async def read_at(moment: datetime) -> Any:
            return await client.get(
                f"/v1/persons/{person}/coverage",
                params={"valid_at": "2024-02-01", "known_at": format_instant(moment)},
                headers=Keys.header(keys.admin),
            )

        async def stamp_uncommitted(session: AsyncSession) -> datetime:
            request = AppendRequest.model_validate({"events": [registered(nik())]})
            result = await append_events(
                session, principal=SYSTEM, events=request.events, source="test", now=datetime.now(UTC)
            )
            await asyncio.sleep(0.01)  # the moment after the stamp is past
            return result.recorded_at + timedelta(microseconds=1)

        try:
            async with maker() as session:
                async with session.begin():
                    moment = await stamp_uncommitted(session)
                    head = await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))
                    read = asyncio.create_task(read_at(moment))
                    await asyncio.sleep(0.3)
                    assert not read.done()  # held up by the tx being committed
                answer = await read
            assert answer.status_code == 200, answer.text
            assert answer.json()["as_of"]["tx_seq"] == head.json()["tx_seq"] + 1
            assert (await read_at(moment)).json() == answer.json()  # and for good

            monkeypatch.setattr(asof, "PENDING_WAIT_SECONDS", 0.2)
            async with maker() as session, session.begin():
                waited = await read_at(await stamp_uncommitted(session))
                await session.rollback()
            assert waited.status_code == 503, waited.text
            assert waited.json()["type"].endswith("/still-committing") and waited.headers["retry-after"]
            # a moment before the head, or tx:N, is never held up
            async with maker() as session, session.begin():
                await stamp_uncommitted(session)
                earlier = await read_at(datetime.fromisoformat(answer.json()["as_of"]["known_at"]))
                await session.rollback()
            assert earlier.status_code == 200 and earlier.json() == answer.json()
        finally:
            await engine.dispose()
