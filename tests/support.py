"""Builders shared by the tests: NIKs, events, keys."""

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from httpx import AsyncClient
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from coverage_ledger.auth.service import create_key
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM, Role
from coverage_ledger.errors import LedgerError
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events

DISTRICT = "167101"  # 16.71.01 Ilir Barat Dua, Kota Palembang, Sumatera Selatan
_serial = itertools.count(1)


@asynccontextmanager
async def rolled_back_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back at the end; its commits are savepoints
    (the `session` fixture's, and each hypothesis example's own)."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
        try:
            yield session
        finally:
            await session.close()
            await transaction.rollback()


def nik(
    *, born: date = date(1990, 1, 5), female: bool = True, district: str = DISTRICT, serial: int | None = None
) -> str:
    """A valid NIK; a new serial each call unless given (they run 1..9999 and start again)."""
    day = born.day + (40 if female else 0)
    # not `% 10000 or 1`: that turned 10,000 into 1 and the next call into 1 again, a repeated NIK
    # for whichever test was running when the session's count passed 10,000
    number = serial if serial is not None else (next(_serial) - 1) % 9999 + 1
    return f"{district}{day:02d}{born.month:02d}{born.year % 100:02d}{number:04d}"


def registered(
    person: str, *, event_id: str | None = None, region: str = "16.71.01", name: str = "Siti Aminah"
) -> dict[str, Any]:
    """A `person.registered` event."""
    return {
        "event_id": event_id or f"reg-{person}",
        "type": "person.registered",
        "nik": person,
        "name": name,
        "region_code": region,
    }


def enrolled(
    person: str,
    *,
    event_id: str,
    valid_from: str,
    valid_to: str,
    role: str = "KPPS",
    committee: str = "KPU-16.71",
    region: str = "16.71.01",
    registered_on: str | None = None,
    programs: list[str] | None = None,
) -> dict[str, Any]:
    """An `officer.enrolled` event (valid_to exclusive)."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": "officer.enrolled",
        "nik": person,
        "role": role,
        "committee": committee,
        "region_code": region,
        "valid_from": valid_from,
        "valid_to": valid_to,
    }
    if registered_on:
        event["registered_on"] = registered_on
    if programs:
        event["programs"] = programs
    return event


def corrected(
    event_id: str,
    supersedes: list[str],
    *,
    replacement: dict[str, Any] | None = None,
    reason: str = "roster corrected",
) -> dict[str, Any]:
    """An `event.corrected` event."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": "event.corrected",
        "supersedes": supersedes,
        "reason": reason,
    }
    if replacement is not None:
        event["replacement"] = replacement
    return event


SELF = {"kind": "self"}


def enrolled_bpu(
    person: str,
    *,
    event_id: str,
    valid_from: str,
    sector: str = "other",
    income: int = 1_000_000,
    payer: dict[str, Any] | None = None,
    region: str = "16.71.01",
) -> dict[str, Any]:
    """An `informal.enrolled` event (in 16.71.01 unless told), registered on valid_from."""
    return {
        "event_id": event_id,
        "type": "informal.enrolled",
        "nik": person,
        "programs": ["JKK", "JKM"],
        "declared_income": income,
        "region_code": region,
        "valid_from": valid_from,
        "registered_on": valid_from,
        "sector": sector,
        "payer": payer or SELF,
    }


def paid(
    person: str,
    *,
    event_id: str,
    months: tuple[str, str],
    amount: int,
    paid_on: str,
    payer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `contribution.paid` event for JKK and JKM."""
    return {
        "event_id": event_id,
        "type": "contribution.paid",
        "nik": person,
        "programs": ["JKK", "JKM"],
        "months_from": months[0],
        "months_to": months[1],
        "amount": amount,
        "payer": payer or SELF,
        "paid_on": paid_on,
    }


@dataclass
class Keys:
    """Secrets of one key per role."""

    admin: str
    auditor: str
    office: str
    other_office: str
    committee: str
    sponsor: str

    @staticmethod
    def header(secret: str) -> dict[str, str]:
        """The Authorization header for a secret."""
        return {"Authorization": f"Bearer {secret}"}


async def make_keys(session: AsyncSession) -> Keys:
    """Create the keys of `Keys` in the session."""
    specs: dict[str, tuple[Role, str | None, str | None]] = {
        "admin": (Role.ADMIN, None, None),
        "auditor": (Role.AUDITOR, None, None),
        "office": (Role.REGIONAL_OFFICE, "16", None),
        "other_office": (Role.REGIONAL_OFFICE, "32", None),
        "committee": (Role.COMMITTEE, "16.71", "KPU-16.71"),
        "sponsor": (Role.SPONSOR, "16", "Pemprov Sumsel"),
    }
    secrets = {}
    for name, (role, region, organisation) in specs.items():
        _, secrets[name] = await create_key(
            session, name=f"test-{name}", role=role, region_prefix=region, organisation=organisation
        )
    return Keys(**secrets)


async def coverage_of(
    client: AsyncClient, keys: Keys, person: str, valid_at: str, known_at: str | None = None
) -> dict[str, Any]:
    """GET a person's coverage with the regional office key; asserts 200."""
    params = {"valid_at": valid_at} | ({"known_at": known_at} if known_at else {})
    response = await client.get(
        f"/v1/persons/{person}/coverage", params=params, headers=Keys.header(keys.office)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def append_in_savepoint(session: AsyncSession, events: list[dict[str, Any]]) -> int | None:
    """Append through the service inside a savepoint; None when the ledger refused (nothing written)."""
    request = AppendRequest.model_validate({"events": events})
    savepoint = await session.begin_nested()
    try:
        result = await append_events(
            session, principal=SYSTEM, events=request.events, source="property-test", now=datetime.now(UTC)
        )
    except LedgerError:
        await savepoint.rollback()
        return None
    await savepoint.commit()
    return result.tx_seq


async def append_committed(database_url: str, events: list[dict[str, Any]]) -> int:
    """Append a batch as the system in a transaction of its own, committed: another writer's tx,
    landing while the code under test is between two steps; its tx_seq."""
    engine = create_engine_for(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            request = AppendRequest.model_validate({"events": events})
            result = await append_events(
                session, principal=SYSTEM, events=request.events, source="test", now=datetime.now(UTC)
            )
            await session.commit()
    finally:
        await engine.dispose()
    return result.tx_seq


async def committed_key(
    database_url: str, *, name: str, role: Role, region: str | None = None, organisation: str | None = None
) -> str:
    """A key created and committed on its own (for tests whose app runs against a real database);
    its secret."""
    engine = create_engine_for(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session, session.begin():
            _, secret = await create_key(
                session, name=name, role=role, region_prefix=region, organisation=organisation
            )
    finally:
        await engine.dispose()
    return secret


def asgi_post_scope(path: str, headers: dict[str, str]) -> dict[str, Any]:
    """The ASGI scope of a POST, for tests that drive the app's receive and send by hand (a body
    arriving in parts, a client going away, the moment a response starts)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
        "state": {},
    }


GRACE_SHORTENED: dict[str, Any] = {
    "event_id": "grace-shortened",
    "type": "event.corrected",
    "supersedes": ["rules:bpu-2025:bpu-grace"],
    "reason": "test",
    "replacement": {
        "event_id": "grace-one-month",
        "type": "rule.defined",
        "rule_id": "bpu-grace",
        "kind": "grace",
        "parameters": {"months": 1},
        "regulation": "test",
        "source": "test",
    },
}
"""The shipped BPU grace rule (three months) corrected to one month."""


def database_examples(count: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Hypothesis settings of a property test against the database: `count` examples, no
    deadline (an example runs statements, at the pace of a shared machine), and the test's
    function-scoped fixtures (its session, its client) shared by its examples on purpose, each
    example undoing or isolating its own writes."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


async def post_as_office(client: AsyncClient, keys: Keys, *events: dict[str, Any]) -> Any:
    """Append as the regional office, which records BPU members whoever pays."""
    return await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(keys.office))


async def ledger_size(session: AsyncSession) -> tuple[int, int, int]:
    """How many txs, events and vault rows the ledger holds (to show nothing was written)."""
    row = (
        await session.execute(
            text(
                "SELECT (SELECT count(*) FROM ledger_tx), (SELECT count(*) FROM ledger_event), "
                "(SELECT count(*) FROM person_vault)"
            )
        )
    ).one()
    return row[0], row[1], row[2]


async def head_tx(client: AsyncClient, keys: Keys) -> int:
    """The ledger head's tx_seq, read over the API."""
    return int((await client.get("/v1/ledger/head", headers=Keys.header(keys.admin))).json()["tx_seq"])


BARE_REGISTRATION = {"event_id": "a", "type": "person.registered", "name": "x", "region_code": "16"}
"""A registration missing its NIK: ugly requests add or spoil the fields they test."""
BARE_PAYMENT = {
    "event_id": "a",
    "type": "contribution.paid",
    "nik": "1671014501900001",
    "months_from": "2025-01",
    "months_to": "2025-01",
    "amount": 1,
    "payer": {"kind": "self"},
    "paid_on": "2025-01-01",
}
"""A one-rupiah payment of January 2025, as ugly requests spoil it."""
BARE_ENROLMENT = {
    "event_id": "e",
    "type": "officer.enrolled",
    "nik": "1671014501900001",
    "role": "KPPS",
    "committee": "KPU-16.71",
    "region_code": "16.71.01",
    "valid_from": "2024-01-25",
    "valid_to": "2024-02-24",
}
"""A KPPS enrolment of 25 Jan - 23 Feb 2024, as ugly requests spoil it."""


async def admin_append(client: AsyncClient, keys: Keys, events: list[dict[str, Any]]) -> int:
    """Append events as the admin key; they must be taken. The tx_seq."""
    response = await client.post("/v1/events", json={"events": events}, headers=Keys.header(keys.admin))
    assert response.status_code == 200, response.text
    tx: int = response.json()["tx_seq"]
    return tx
