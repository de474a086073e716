"""The lean coverage lookup answers exactly what the FastAPI route answers (status, headers that
matter, the body byte for byte) for answers, misses, refusals and malformed requests alike; it
really is the lean path that answered; and a database that cannot be reached gives a 503 problem."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg
import psycopg_pool
import pytest
import sqlalchemy.exc
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger import app as app_module
from coverage_ledger.auth.service import create_key, revoke_key
from coverage_ledger.domain.access import Role
from coverage_ledger.http.access_log import AccessLog
from coverage_ledger.http.dependencies import request_session
from tests.support import Keys, corrected, enrolled, nik, registered

PERSON = "1671014501900001"
COMPARED_HEADERS = ("content-type", "content-length", "retry-after", "location")


class CountedReads:
    """The app's read connection, counting the reads the lean path opened."""

    def __init__(self, opener: Callable[[], AbstractAsyncContextManager[Any]]) -> None:
        self.opener = opener
        self.opened = 0

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Any]:
        self.opened += 1
        async with self.opener() as db:
            yield db


@pytest.fixture
def reads(app: FastAPI) -> CountedReads:
    counted = CountedReads(app.state.read_connection)
    app.state.read_connection = counted
    return counted


async def _both(
    app: FastAPI, client: AsyncClient, reads: CountedReads, url: str, headers: dict[str, str]
) -> tuple[Any, Any, int]:
    """(lean answer, route answer, reads the lean path opened) of one request."""
    answers = []
    instant = datetime.now(UTC)
    app.state.clock = lambda: instant  # both read "now" (the default known_at) at the same instant
    opened = 0
    for lean in (True, False):
        app.state.lean_reads = lean
        before = reads.opened
        response = await client.get(url, headers=headers)
        if lean:
            opened = reads.opened - before
        else:
            assert reads.opened == before, "the route does not use the read pool"
        kept = {name: response.headers.get(name) for name in COMPARED_HEADERS}
        answers.append((response.status_code, kept, response.content))
    app.state.lean_reads = True
    return answers[0], answers[1], opened


def _kpps(event_id: str, valid_from: str) -> dict[str, Any]:
    return enrolled(
        PERSON, event_id=event_id, valid_from=valid_from, valid_to="2024-02-24", registered_on="2024-01-15"
    )


@pytest.fixture
async def history(client: AsyncClient, keys: Keys) -> dict[str, Any]:
    """A KPPS term appended, then corrected to start later: the tx and time of each."""
    first = await client.post(
        "/v1/events",
        json={"events": [registered(PERSON), _kpps("kpps-1", "2024-01-25")]},
        headers=Keys.header(keys.admin),
    )
    assert first.status_code == 200, first.text
    second = await client.post(
        "/v1/events",
        json={"events": [corrected("fix-1", ["kpps-1"], replacement=_kpps("kpps-2", "2024-02-01"))]},
        headers=Keys.header(keys.admin),
    )
    assert second.status_code == 200, second.text
    return {
        "first": first.json()["tx_seq"],
        "second": second.json()["tx_seq"],
        "first_at": quote(first.json()["recorded_at"]),
    }


@pytest.fixture
async def spent_keys(session: AsyncSession) -> dict[str, str]:
    """A revoked and an expired office key."""
    _, revoked = await create_key(session, role=Role.REGIONAL_OFFICE, name="lean-revoked", region_prefix="16")
    await revoke_key(session, name="lean-revoked")
    _, expired = await create_key(
        session,
        role=Role.REGIONAL_OFFICE,
        name="lean-expired",
        region_prefix="16",
        expires_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    await session.commit()
    return {"revoked": revoked, "expired": expired}


C = f"/v1/persons/{PERSON}/coverage"
CASES = [
    # (who, url, status, reads the lean path opens)
    ("office", f"{C}?valid_at=2024-01-28", 200, 1),
    ("office", f"{C}?valid_at=2024-01-28&known_at=tx:{{first}}", 200, 1),
    ("office", f"{C}?valid_at=2024-01-28&known_at={{first_at}}", 200, 1),
    ("office", f"{C}?valid_at=2024-01-28&known_at=2024-01-01", 404, 1),
    ("office", f"{C}?valid_at=&known_at=", 200, 1),
    ("office", f"{C}?valid_at=2024-01-28&valid_at=2024-02-02", 422, 0),  # which one? refused
    ("office", C, 200, 1),
    ("office", "/v1/persons/3201014501900001/coverage?valid_at=2024-02-02", 404, 1),
    ("other_office", f"{C}?valid_at=2024-02-02", 404, 1),
    ("auditor", f"{C}?valid_at=2024-02-02&known_at=tx:{{second}}", 200, 1),
    ("office", f"{C}?valid_at=2024-02-30", 422, 1),
    ("office", f"{C}?known_at=yesterday", 422, 1),
    ("office", "/v1/persons/167101450190000/coverage", 422, 0),
    ("office", "/v1/persons/16710145019000011/coverage", 422, 0),
    ("office", f"{C}/", 404, 0),  # no redirect: its Location would come from the Host header
    ("none", C, 401, 0),
    ("none", f"{C}?valid_at=nonsense", 401, 0),
    ("unknown", C, 401, 1),
    ("revoked", C, 401, 1),
    ("expired", C, 401, 1),
    ("basic", C, 401, 0),
    ("x-api-key", f"{C}?valid_at=2024-02-02", 200, 1),
    ("bearer-and-bad-x-api-key", f"{C}?valid_at=2024-02-02", 200, 1),
]


def _headers(keys: Keys, spent: dict[str, str], who: str) -> dict[str, str]:
    match who:
        case "none":
            return {}
        case "unknown":
            return Keys.header("clk_not-a-key")
        case "revoked" | "expired":
            return Keys.header(spent[who])
        case "basic":
            return {"Authorization": f"Basic {keys.office}"}
        case "x-api-key":
            return {"X-API-Key": keys.office}
        case "bearer-and-bad-x-api-key":
            return Keys.header(keys.office) | {"X-API-Key": "clk_not-a-key"}
        case _:
            return Keys.header(getattr(keys, who))


@pytest.mark.parametrize(("who", "url", "status", "opened"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_the_lean_lookup_answers_as_the_route_does(
    app: FastAPI,
    client: AsyncClient,
    keys: Keys,
    spent_keys: dict[str, str],
    reads: CountedReads,
    history: dict[str, Any],
    who: str,
    url: str,
    status: int,
    opened: int,
) -> None:
    url = url.format_map(history)
    lean, route, lean_reads_opened = await _both(app, client, reads, url, _headers(keys, spent_keys, who))
    assert lean == route
    assert lean[0] == status, lean
    assert lean_reads_opened == opened, "answered by the lean path exactly when it should be"


async def test_the_lean_lookup_reads_the_corrected_term_now_and_the_first_one_before(
    client: AsyncClient, keys: Keys, reads: CountedReads, history: dict[str, Any]
) -> None:
    url = f"/v1/persons/{PERSON}/coverage?valid_at=2024-01-28"
    now = (await client.get(url, headers=Keys.header(keys.office))).json()
    before = (
        await client.get(f"{url}&known_at=tx:{history['first']}", headers=Keys.header(keys.office))
    ).json()
    assert reads.opened == 2
    assert now["status"] == "not_started" and now["as_of"]["tx_seq"] == history["second"]
    assert before["status"] == "covered" and before["evidence"] == ["kpps-1"]


async def test_switched_off_the_route_answers_and_other_methods_reach_it(
    app: FastAPI, client: AsyncClient, keys: Keys, reads: CountedReads
) -> None:
    person = nik()
    await client.post("/v1/events", json={"events": [registered(person)]}, headers=Keys.header(keys.admin))
    app.state.lean_reads = False
    off = await client.get(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    assert off.status_code == 200 and off.json()["status"] == "not_enrolled"
    app.state.lean_reads = True
    post = await client.post(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    head = await client.head(f"/v1/persons/{person}/coverage", headers=Keys.header(keys.office))
    assert post.status_code == 405
    assert (head.status_code, head.content) == (200, b"")  # HEAD is the GET, without its body
    assert reads.opened == 1, "the HEAD was answered by the lean path, as its GET is"


def _failing(exc: Exception) -> Callable[[], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def opener() -> AsyncIterator[Any]:
        raise exc
        yield  # pragma: no cover -- makes this a generator

    return opener


UNREACHABLE = [
    psycopg.OperationalError("connection refused"),
    psycopg_pool.PoolTimeout("couldn't get a connection after 10.00 sec"),
]


@pytest.mark.parametrize("exc", UNREACHABLE, ids=lambda e: type(e).__name__)
async def test_a_database_out_of_reach_gives_503_with_retry_after_and_an_access_line(
    app: FastAPI, client: AsyncClient, keys: Keys, exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.read_connection = _failing(exc)
    with caplog.at_level(logging.INFO, logger="coverage_ledger.access"):
        down = await client.get(f"/v1/persons/{PERSON}/coverage", headers=Keys.header(keys.office))
        keyless = await client.get(f"/v1/persons/{PERSON}/coverage")
    assert down.status_code == 503, down.text
    assert down.headers["content-type"] == "application/problem+json"
    assert down.headers["retry-after"] == "5"
    assert down.json()["type"] == "/problems/database-unavailable"
    assert keyless.status_code == 401, "no key is refused without asking the database"
    lines = [r.getMessage() for r in caplog.records if r.name == "coverage_ledger.access"]
    assert [line.split()[2] for line in lines] == ["503", "401"]


async def test_healthz_says_when_the_database_is_out_of_reach(app: FastAPI, client: AsyncClient) -> None:
    """Found by a fault probe: with the embedded database dead, every request was a 503 and
    /healthz said ok, so no health check could see it."""
    assert (await client.get("/healthz")).json()["status"] == "ok"
    sessions = app.state.sessionmaker
    orig = psycopg.OperationalError("connection refused")
    app.state.sessionmaker = _failing(sqlalchemy.exc.OperationalError("connect", {}, orig))
    try:
        down = await client.get("/healthz")
    finally:
        app.state.sessionmaker = sessions
    assert down.status_code == 503 and down.headers["retry-after"] == "5", down.text
    assert down.json()["type"] == "/problems/database-unavailable"
    assert "resent" not in down.json()["detail"], "a read is not told about re-sending appends"


async def test_healthz_does_not_wait_for_a_database_that_stopped_answering(
    app: FastAPI, client: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: with the postmaster stopped (SIGSTOP), /healthz hung until it resumed
    (20 to 60 s), where a health check wants an answer in 3 s."""
    monkeypatch.setattr(app_module, "HEALTH_WAIT_SECONDS", 0.2)
    resumed = asyncio.Event()

    @asynccontextmanager
    async def frozen() -> AsyncIterator[Any]:
        await resumed.wait()
        yield None

    sessions = app.state.sessionmaker
    app.state.sessionmaker = frozen
    try:
        down = await client.get("/healthz")
    finally:
        app.state.sessionmaker = sessions
        resumed.set()  # the query left waiting ends (on a None session: its error is dropped)
        await asyncio.sleep(0)
    assert down.status_code == 503 and down.headers["retry-after"] == "5", down.text
    assert down.json()["type"] == "/problems/database-unavailable"
    assert "did not answer within 0.2 s" in down.json()["detail"]


async def test_the_route_also_answers_503_when_its_session_cannot_connect(
    app: FastAPI, client: AsyncClient, keys: Keys
) -> None:
    async def unreachable() -> AsyncIterator[AsyncSession]:
        orig = psycopg.OperationalError("connection refused")
        raise sqlalchemy.exc.OperationalError("connect", {}, orig)
        yield  # pragma: no cover -- makes this a generator

    app.dependency_overrides[request_session] = unreachable
    app.state.lean_reads = False
    response = await client.get(f"/v1/persons/{PERSON}/coverage", headers=Keys.header(keys.office))
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.json()["type"] == "/problems/database-unavailable"


async def test_an_unplanned_error_on_the_lean_path_is_a_500_problem_with_its_access_line(
    app: FastAPI, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.read_connection = _failing(RuntimeError("a bug"))
    # Starlette re-raises after answering the 500 (for the server to log); the test client must not
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    with caplog.at_level(logging.INFO):
        async with AsyncClient(transport=transport, base_url="http://test") as raw_client:
            response = await raw_client.get(
                f"/v1/persons/{PERSON}/coverage", headers=Keys.header(keys.office)
            )
    assert response.status_code == 500
    assert response.json()["type"] == "/problems/internal-error"
    access = [r.getMessage() for r in caplog.records if r.name == "coverage_ledger.access"]
    assert len(access) == 1 and access[0].split()[2] == "500"
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("coverage_ledger")]
    assert ours and not any(PERSON in line for line in ours), ours


async def test_a_body_cut_off_after_its_200_says_so_in_its_access_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found by a fault probe: a report whose database connection was lost mid-stream went out as
    a truncated 200, and the access line called it a plain 200."""

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"nik,segment\n", "more_body": True})
        raise psycopg.OperationalError("terminating connection due to administrator command")

    async def whole(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"nik,segment\n"})

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/v1/reports/uploads", "query_string": b"", "state": {}}
    with caplog.at_level(logging.INFO, logger="coverage_ledger.access"):
        with pytest.raises(psycopg.OperationalError):
            await AccessLog(streaming)(scope, receive, send)
        await AccessLog(whole)(scope, receive, send)
    lines = [r.getMessage() for r in caplog.records if r.name == "coverage_ledger.access"]
    assert [line.split(" by ")[0] for line in lines] == [
        "GET /v1/reports/uploads 200 cut off",
        "GET /v1/reports/uploads 200",
    ]
