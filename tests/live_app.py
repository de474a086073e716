"""The real app (its own request transactions, its own pool) on a fresh database, for tests that
need real commits: concurrency, commit-before-response."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from coverage_ledger.app import create_app
from coverage_ledger.database.engine import create_engine_for, session_factory
from tests.support import Keys, make_keys


@asynccontextmanager
async def live_app(database_url: str, **app_options: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient, Keys]]:
    """The app with its lifespan running, a client, and committed keys of each role."""
    engine = create_engine_for(database_url, pool_size=1)
    async with session_factory(engine)() as session, session.begin():
        keys = await make_keys(session)
    await engine.dispose()
    async with served_app(database_url, **app_options) as (app, client):
        yield app, client, keys


@asynccontextmanager
async def served_app(database_url: str, **app_options: Any) -> AsyncIterator[tuple[FastAPI, AsyncClient]]:
    """The app with its lifespan running on a database that has what it needs, and a client."""
    app = create_app(database_url=database_url, pool_size=8, **app_options)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=ASGITransport(app=app), base_url="http://live") as client,
    ):
        yield app, client
