"""Concurrent appenders: commit-ordered tx_seq, stable past answers, and no two winners."""

import asyncio
import itertools
import random
import uuid
from collections.abc import MutableMapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.auth.service import secret_hash
from coverage_ledger.database.engine import create_engine_for, libpq_url, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.ledger import asof
from coverage_ledger.ledger.repository import APPEND_LOCK_KEY, seal_append
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from tests.live_app import live_app
from tests.rosters import Uploader
from tests.support import Keys, asgi_post_scope, corrected, enrolled, nik, registered

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


async def test_two_writers_registering_one_person_or_pulling_a_registration_cannot_both_win(
    fresh_database: str,
) -> None:
    """Two registrations of one NIK at once, or a retraction of a registration racing an
    enrolment of the person: one of the two wins, and the ledger keeps exactly one registration."""
    async with live_app(fresh_database) as (_, client, keys):

        async def post(secret: str, *events: dict[str, Any]) -> int:
            response = await client.post(
                "/v1/events", json={"events": list(events)}, headers=Keys.header(secret)
            )
            return response.status_code

        people = [nik() for _ in range(6)]
        for person in people[:3]:
            replies = await asyncio.gather(
                post(keys.office, registered(person, event_id=f"a-{person}")),
                post(keys.office, registered(person, event_id=f"b-{person}", region="16.71.02")),
            )
            assert sorted(replies) == [200, 409], replies
        for person in people[3:]:
            assert await post(keys.office, registered(person)) == 200
            term = enrolled(
                person,
                event_id=f"e-{person}",
                valid_from="2024-01-25",
                valid_to="2024-02-24",
                registered_on="2024-01-15",
            )
            replies = await asyncio.gather(
                post(keys.committee, term),
                post(
                    keys.office,
                    {
                        "event_id": f"x-{person}",
                        "type": "event.corrected",
                        "supersedes": [f"reg-{person}"],
                        "reason": "x",
                    },
                ),
            )
            assert 200 in replies, replies
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            registrations: dict[str, int] = dict(
                conn.execute(
                    "SELECT nik, count(*) FROM event_knowledge WHERE type = 'person.registered' "
                    "AND tx_to IS NULL AND nik = ANY(%s) GROUP BY nik",
                    (people,),
                ).fetchall()
            )
            enrolled_niks = {
                row[0]
                for row in conn.execute(
                    "SELECT nik FROM event_knowledge "
                    "WHERE type = 'officer.enrolled' AND tx_to IS NULL AND nik = ANY(%s)",
                    (people,),
                )
            }
        assert all(registrations.get(p) == 1 for p in people[:3]), registrations
        for person in people[3:]:  # an enrolment in force always has its registration
            assert person not in enrolled_niks or registrations.get(person) == 1, (person, registrations)


async def test_one_batch_sent_several_times_at_once_is_written_once_and_the_rest_are_duplicates(
    fresh_database: str,
) -> None:
    """A client retrying while its first request still runs: one copy is written, the others are
    told they are duplicates of it; the same ids with other content at once: one wins, the
    others get a 409 naming the id. Never a 500."""
    async with live_app(fresh_database) as (_, client, keys):

        async def send(events: list[dict[str, Any]]) -> list[Any]:
            replies = await asyncio.gather(
                *(
                    client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))
                    for _ in range(4)
                )
            )
            return [(r.status_code, r.json()) for r in replies]

        for _ in range(5):
            person = nik()
            batch = [
                registered(person),
                enrolled(person, event_id=f"race-{person}", valid_from="2024-01-25", valid_to="2024-02-24"),
            ]
            replies = await send(batch)
            assert [code for code, _ in replies] == [200] * 4, replies
            assert sorted(body["accepted"] for _, body in replies) == [0, 0, 0, 2], replies
            assert len({body["tx_seq"] for _, body in replies}) == 1, replies

            # the same events in the other order at once (written in event_id order, they wait on
            # each other rather than deadlock): one is written, the other is its duplicate
            batch = [registered(nik()) for _ in range(30)]
            replies = [
                (r.status_code, r.json())
                for r in await asyncio.gather(
                    *(
                        client.post("/v1/events", json={"events": order}, headers=Keys.header(keys.admin))
                        for order in (batch, batch[::-1], batch[::2] + batch[1::2])
                    )
                )
            ]
            assert [code for code, _ in replies] == [200, 200, 200], replies
            assert sorted(body["accepted"] for _, body in replies) == [0, 0, 30], replies

            other = nik()
            variants = [
                registered(other, event_id=f"clash-{other}", region=r) for r in ("16.71.01", "16.71.02")
            ]
            replies = [
                (r.status_code, r.json())
                for r in await asyncio.gather(
                    *(
                        client.post(
                            "/v1/events", json={"events": [variants[i % 2]]}, headers=Keys.header(keys.admin)
                        )
                        for i in range(4)
                    )
                )
            ]
            codes = sorted(code for code, _ in replies)
            assert 500 not in codes and codes.count(409) >= 1 and codes[0] == 200, replies
            for code, body in replies:
                if code == 409:
                    assert body["errors"][0]["code"] == "event_id_reused", body
        with psycopg.connect(libpq_url(fresh_database)) as conn:
            assert conn.execute(
                "SELECT count(*) FROM ledger_event WHERE event_id LIKE 'race-%'"
            ).fetchone() == (5,)


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


async def test_an_enrolment_racing_a_birth_date_correction_cannot_both_win(fresh_database: str) -> None:
    """A KPPS term of a person whose registration gives no birth date, sent at once with a
    correction of the registration to a birth date that makes the officer 13 when the term starts:
    each alone is taken, but the two together break the officer-age rule, so one must lose."""
    async with live_app(fresh_database) as (_, client, keys):

        async def post(secret: str, *events: dict[str, Any]) -> tuple[int, str | None]:
            response = await client.post(
                "/v1/events", json={"events": list(events)}, headers=Keys.header(secret)
            )
            errors = response.json().get("errors") or [{}]
            return response.status_code, errors[0].get("code")

        for serial in range(3):
            person = nik(born=date(2010, 3, 4))
            assert (await post(keys.office, registered(person)))[0] == 200
            dated = {**registered(person, event_id=f"dated-{person}"), "birth_date": "2010-03-04"}
            replies = await asyncio.gather(
                post(
                    keys.committee,
                    enrolled(person, event_id=f"e-{person}", valid_from="2024-01-25", valid_to="2024-02-24"),
                ),
                post(keys.office, corrected(f"fix-{person}", [f"reg-{person}"], replacement=dated)),
            )
            assert sorted(replies) in (
                [(200, None), (409, "officer_too_young")],  # the enrolment won
                [(200, None), (422, "officer_too_young")],  # the correction won
            ), (serial, replies)


async def test_two_corrections_of_one_event_cannot_both_win(fresh_database: str) -> None:
    """Two clerks correcting the same term at once, one retracting it and one moving its dates:
    both were taken, the retraction changing nothing (found by a concurrency probe). One wins;
    the other is told which correction did."""
    async with live_app(fresh_database) as (_, client, keys):

        async def post(secret: str, *events: dict[str, Any]) -> tuple[int, list[str]]:
            response = await client.post(
                "/v1/events", json={"events": list(events)}, headers=Keys.header(secret)
            )
            body = response.json()
            return response.status_code, [e["code"] for e in body.get("errors", [])]

        for round_ in range(4):
            person = nik()
            term = enrolled(person, event_id=f"t-{person}", valid_from="2024-01-25", valid_to="2024-02-24")
            assert (await post(keys.office, registered(person), term))[0] == 200
            moved = enrolled(person, event_id=f"m-{person}", valid_from="2024-03-01", valid_to="2024-03-20")
            replies = await asyncio.gather(
                post(keys.committee, corrected(f"drop-{person}", [f"t-{person}"])),
                post(keys.committee, corrected(f"move-{person}", [f"t-{person}"], replacement=moved)),
            )
            assert sorted(replies) == [(200, []), (409, ["already_superseded"])], (round_, replies)


async def test_a_write_waiting_for_the_append_lock_is_refused_once_its_key_is_revoked(
    uploader: Uploader, fresh_database: str
) -> None:
    """Found by a probe: a request that waited for the append lock behind a large upload was
    written (its tx naming the key) seconds after `keys revoke` had revoked its key. The key is
    checked again under the lock now, as an upload's is."""
    batch = {"events": [registered(nik())]}
    head = await uploader.head()
    async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database)) as holder:
        await holder.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
        waiting = asyncio.create_task(
            uploader.client.post("/v1/events", json=batch, headers=Keys.header(uploader.keys.office))
        )
        for _ in range(100):  # until the request waits for the lock
            row = await (
                await holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
            ).fetchone()
            if row is not None and row[0] > 0:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the request never waited for the append lock")
        async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database), autocommit=True) as other:
            await other.execute(
                "UPDATE api_key SET revoked_at = now() WHERE secret_sha256 = %s",
                (secret_hash(secret=uploader.keys.office),),
            )
        await holder.rollback()
        refused = await waiting
    assert refused.status_code == 401, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert await uploader.head() == head


async def test_a_backfill_whose_key_expires_while_it_waits_for_the_append_lock_is_refused(
    uploader: Uploader, fresh_database: str
) -> None:
    """Found by a review: a backfill's key was judged by the backfill's past `recorded_at`, so an
    admin key that expired while its backfill waited for the lock still wrote it."""
    secret = "clk_expiring-backfill-key-for-this-test"
    async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database), autocommit=True) as setup:
        await setup.execute(
            "INSERT INTO api_key (name, secret_sha256, role, created_at, expires_at) VALUES "
            "('expiring-admin', %s, 'admin', clock_timestamp(), clock_timestamp() + interval '2 seconds')",
            (secret_hash(secret=secret),),
        )
    head = await uploader.head()
    backfill = {
        "events": [registered(nik())],
        "recorded_at": format_instant(datetime.now(UTC) - timedelta(milliseconds=200)),
    }
    async with await psycopg.AsyncConnection.connect(libpq_url(fresh_database)) as holder:
        await holder.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK_KEY,))
        waiting = asyncio.create_task(
            uploader.client.post("/v1/events", json=backfill, headers=Keys.header(secret))
        )
        await asyncio.sleep(3)  # the key expires meanwhile
        await holder.rollback()
        refused = await waiting
    assert refused.status_code == 401, refused.text
    assert "expired" in refused.json()["detail"]
    assert await uploader.head() == head
