"""Test database: a real PostgreSQL (embedded, or DATABASE_URL), built by the Alembic migrations.

One template database is migrated and given its genesis once per run. Most tests run inside a
transaction on a copy of it that is rolled back afterwards; tests that need real commits
(concurrency, the CLI) get a fresh database cloned from the template.
"""

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from coverage_ledger.app import UploadSettings, create_app
from coverage_ledger.database.embedded import EmbeddedCluster
from coverage_ledger.database.engine import create_engine_for
from coverage_ledger.database.migrate import upgrade_database
from coverage_ledger.http.dependencies import request_session, session_opener
from tests.databases import create_database, drop_database, with_database
from tests.live_app import live_app
from tests.rosters import Uploader
from tests.support import Keys, make_keys, rolled_back_session


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of the server the tests use (its `postgres` database)."""
    external = os.environ.get("DATABASE_URL")
    if external:
        yield with_database(external, make_url(external).database or "postgres")
        return
    cluster = EmbeddedCluster(Path(tmp_path_factory.mktemp("pg")) / "data", throwaway=True)
    yield cluster.admin_url().replace("postgresql://", "postgresql+psycopg://", 1)
    cluster.stop()


@pytest.fixture(scope="session")
def template_name(server_url: str) -> Iterator[str]:
    """A migrated database holding genesis, used as the template of every test database."""
    name = f"ledger_template_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name)
    upgrade_database(url)
    yield name
    drop_database(server_url, name)


@pytest.fixture
def fresh_database(server_url: str, template_name: str) -> Iterator[str]:
    """URL of a new database cloned from the template, dropped after the test (real commits)."""
    name = f"ledger_test_{uuid.uuid4().hex[:8]}"
    url = create_database(server_url, name, template=template_name)
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def shared_database(server_url: str, template_name: str) -> Iterator[str]:
    """One database for the rollback-isolated tests."""
    name = f"ledger_shared_{uuid.uuid4().hex[:8]}"
    yield create_database(server_url, name, template=template_name)
    drop_database(server_url, name)


@pytest.fixture(scope="session")
async def engine(shared_database: str) -> AsyncIterator[AsyncEngine]:
    """Async engine on the shared database."""
    engine = create_engine_for(shared_database, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session inside a transaction that is rolled back after the test; commits are savepoints."""
    async with rolled_back_session(engine) as db:
        yield db


@pytest.fixture
async def connection(session: AsyncSession) -> AsyncConnection:
    """The raw connection under `session` (for SQL the tests run directly)."""
    return await session.connection()


@pytest.fixture
def app(session: AsyncSession) -> FastAPI:
    """The app with every request inside the test's transaction."""
    app = create_app(database_url="postgresql+psycopg://unused/unused")

    async def session_in_the_test_transaction() -> AsyncIterator[AsyncSession]:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()

    @asynccontextmanager
    async def same_session() -> AsyncIterator[AsyncSession]:
        yield session  # streamed responses read inside the test's transaction too

    async def opener_in_the_test_transaction() -> Callable[[], AbstractAsyncContextManager[AsyncSession]]:
        return same_session

    app.dependency_overrides[request_session] = session_in_the_test_transaction
    app.dependency_overrides[session_opener] = opener_in_the_test_transaction
    app.state.read_connection = same_session  # the lean reads, too, read in the test's transaction
    app.state.sessionmaker = same_session  # and the error handlers' key check
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """HTTP client on the app."""
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest.fixture
async def keys(session: AsyncSession) -> Keys:
    """A key of each role, with headers to send them (committed to a savepoint that requests keep)."""
    created = await make_keys(session)
    await session.commit()
    return created


@pytest.fixture
async def uploader(fresh_database: str, tmp_path: Path) -> AsyncIterator[Uploader]:
    """The live app on a fresh database with its upload runner, and a client that uploads."""
    settings = UploadSettings(tmp_path / "uploads", max_bytes=32 * 1024 * 1024)
    async with live_app(fresh_database, uploads=settings) as (app, client, keys):
        yield Uploader(app, client, keys)
