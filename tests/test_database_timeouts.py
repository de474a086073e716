"""A database server that takes connections but does not answer is an error within the connect
timeout (a 503 to a request), not a request left waiting; the URL's own libpq parameters win."""

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from httpx import ASGITransport, AsyncClient

from coverage_ledger.app import create_app
from coverage_ledger.database import engine as engine_module
from coverage_ledger.database.engine import (
    NETWORK_DEFAULTS,
    SESSION_OPTIONS,
    create_engine_for,
    network_arguments,
    service_options,
    session_factory,
)

PERSON = "3201010101900001"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """The port of a server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


def test_the_service_sets_its_network_parameters_unless_the_url_gives_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    monkeypatch.delenv("PGSERVICE", raising=False)
    assert network_arguments("postgresql://ledger@db/ledger") == NETWORK_DEFAULTS
    assert NETWORK_DEFAULTS["connect_timeout"] == "10"
    given = network_arguments("postgresql://ledger@db/ledger?connect_timeout=3&keepalives_idle=5")
    assert "connect_timeout" not in given and "keepalives_idle" not in given
    assert given["tcp_user_timeout"] == NETWORK_DEFAULTS["tcp_user_timeout"]
    # found by a review: libpq's own environment and service files were overridden
    assert network_arguments("postgresql:///ledger?service=ledger") == {}
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "4")
    assert "connect_timeout" not in network_arguments("postgresql://ledger@db/ledger")
    monkeypatch.setenv("PGSERVICE", "ledger")
    assert network_arguments("postgresql://ledger@db/ledger") == {}


def test_starting_against_a_silent_server_fails_within_the_urls_connect_timeout(silent_server: int) -> None:
    url = f"postgresql://ledger@127.0.0.1:{silent_server}/ledger?connect_timeout=1"
    started = time.monotonic()
    with pytest.raises(psycopg.OperationalError):
        service_options(url)
    assert time.monotonic() - started < 5


async def test_a_request_to_a_silent_server_is_a_503_within_the_connect_timeout(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, the request waited as long as the server stayed silent (the kernel gives up on a
    connection after some fifteen minutes)."""
    monkeypatch.setitem(NETWORK_DEFAULTS, "connect_timeout", "1")
    # the question asked once at start (which the test above covers) is left out here
    monkeypatch.setattr(engine_module, "service_options", lambda url: SESSION_OPTIONS)
    engine = create_engine_for(f"postgresql://ledger@127.0.0.1:{silent_server}/ledger", pool_size=1)
    app = create_app(database_url="postgresql+psycopg://unused/unused", lean_reads=False)
    app.state.sessionmaker = session_factory(engine)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
            started = time.monotonic()
            # bounded here too, so that a regression fails the test instead of hanging the suite
            response = await asyncio.wait_for(
                client.get(f"/v1/persons/{PERSON}/coverage", headers={"Authorization": "Bearer some-key"}),
                timeout=30,
            )
            waited = time.monotonic() - started
    finally:
        await engine.dispose()
    assert response.status_code == 503 and response.headers["retry-after"] == "5", response.text
    assert response.json()["type"] == "/problems/database-unavailable"
    assert waited < 5
