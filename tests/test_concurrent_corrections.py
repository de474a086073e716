"""Writers racing over one person's registration, birth date or event, one batch sent several times at
once, and writes waiting at the append lock while their key is revoked or expires."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from coverage_ledger.auth.service import secret_hash
from coverage_ledger.database.engine import libpq_url
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.ledger.repository import APPEND_LOCK_KEY
from tests.live_app import live_app
from tests.rosters import Uploader
from tests.support import Keys, corrected, enrolled, nik, registered


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
