"""The FastAPI application."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from coverage_ledger import __version__
from coverage_ledger.claims.endpoints import router as claims_router
from coverage_ledger.clock import utc_now
from coverage_ledger.coverage.endpoints import router as coverage_router
from coverage_ledger.coverage.lean import COVERAGE_ROUTE
from coverage_ledger.database.engine import create_engine_for, database_answers, session_factory
from coverage_ledger.database.reads import ReadPool
from coverage_ledger.errors import DatabaseUnresponsive
from coverage_ledger.http import problems
from coverage_ledger.http.access_log import AccessLog
from coverage_ledger.http.body_limit import BodyLimit
from coverage_ledger.http.head_requests import HeadAsGet
from coverage_ledger.http.lean_reads import LeanReads
from coverage_ledger.http.openapi_document import finish_document, operation_id
from coverage_ledger.http.problem_types import router as problem_types_router
from coverage_ledger.http.query_contract import QueryContract
from coverage_ledger.http.security_headers import SecurityHeaders
from coverage_ledger.ledger.endpoints import router as ledger_router
from coverage_ledger.logs import install_nik_masking
from coverage_ledger.regions.endpoints import router as regions_router
from coverage_ledger.reports.endpoints import router as reports_router
from coverage_ledger.settings import get_settings
from coverage_ledger.uploads.endpoints import router as uploads_router
from coverage_ledger.uploads.upload_queue import UploadRunner
from coverage_ledger.web.endpoints import error_page
from coverage_ledger.web.endpoints import router as web_router
from coverage_ledger.web.reports import router as web_reports_router
from coverage_ledger.web.uploads import router as web_uploads_router

log = logging.getLogger(__name__)

DESCRIPTION = """
A bitemporal ledger of BPJS Ketenagakerjaan JKK/JKM coverage for ad hoc election officers and
informal (BPU) workers. Every read takes `valid_at` (the date the answer is for) and `known_at`
(what the ledger knew: an RFC 3339 timestamp, a date, or `tx:N`) and echoes `as_of`.

Authenticate with `Authorization: Bearer <API key>` (or `X-API-Key`). Errors are
`application/problem+json` (RFC 9457).
"""


HEALTH_WAIT_SECONDS = 2
"""How long `/healthz` waits for the database's answer (the compose healthcheck gives 3 s)."""
_LATE_CHECKS: set[asyncio.Task[None]] = set()
"""Health queries still waiting on a database that stopped answering (kept referenced)."""


async def _database_answers(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        await database_answers(session)


def _forget_late_check(task: asyncio.Task[None]) -> None:
    _LATE_CHECKS.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: its failure was answered as the 503 already


@dataclass(frozen=True, slots=True)
class UploadSettings:
    """Where uploaded files wait and how large they may be."""

    directory: Path
    max_bytes: int
    workers: int = 1


def _lifespan(
    *, database_url: str, clock: Callable[[], datetime], pool_size: int, uploads: UploadSettings
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """What the app opens at start and closes at stop: the pools and the upload runner."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as resources:  # closed in reverse, whatever fails on the way
            engine = create_engine_for(database_url, pool_size=pool_size)
            resources.push_async_callback(engine.dispose)
            app.state.engine = engine
            app.state.sessionmaker = session_factory(engine)
            if app.state.lean_reads:
                reads = ReadPool(database_url, size=pool_size)
                await reads.open()
                resources.push_async_callback(reads.close)
                app.state.read_connection = reads.connection
            app.state.upload_runner = UploadRunner(
                app.state.sessionmaker, clock=clock, workers=uploads.workers, directory=uploads.directory
            )
            resources.push_async_callback(app.state.upload_runner.stop)
            await app.state.upload_runner.resume_unfinished()
            # Everything alive now (settings, routes, reference data loaded by genesis) lives as
            # long as the process: keep it out of the collector's full passes, which otherwise
            # showed up as a third of the CPU time of large appends.
            gc.freeze()
            log.info("coverage-ledger %s ready", __version__)
            yield

    return lifespan


def _add_layers(app: FastAPI, *, request_max_bytes: int) -> None:
    """The error handlers, the middleware (outermost last) and the routers."""
    problems.install(app, page=error_page)
    app.add_middleware(LeanReads, routes=[COVERAGE_ROUTE])
    app.add_middleware(QueryContract)  # outside the lean reads, which read the query as Starlette does
    app.add_middleware(
        BodyLimit,
        max_bytes=request_max_bytes,
        streamed_paths=frozenset({"/v1/uploads", "/uploads"}),  # the API's and the web page's
    )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    app.add_middleware(AccessLog)  # added last: outside the lean reads, so it sees them too
    app.include_router(problem_types_router)
    app.include_router(ledger_router)
    app.include_router(coverage_router)
    app.include_router(uploads_router)
    app.include_router(regions_router)
    app.include_router(claims_router)
    app.include_router(reports_router)
    app.include_router(web_router)
    app.include_router(web_uploads_router)
    app.include_router(web_reports_router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")


def _add_health_check(app: FastAPI) -> None:
    """`GET /healthz`: the service and its database answer."""

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness, with the database",
        description="`ok` when the service answers and its database takes a query; 503 "
        "`database-unavailable` (with Retry-After) while the database cannot be reached, so that "
        "a health check or load balancer sees what every other request would meet.",
    )
    async def healthz() -> dict[str, str]:
        # found by a fault probe: with the embedded database dead, every request was a 503 and
        # this said ok; a failure raises into the handler that makes it that 503
        # and a database that takes the connection but never answers (stopped, swamped) is a 503
        # within the healthcheck's 3 s, not a request hanging until it comes back (a probe). The
        # query is left to end on its own: cancelled, its session's close would wait as long
        check = asyncio.create_task(_database_answers(app))
        done, _ = await asyncio.wait({check}, timeout=HEALTH_WAIT_SECONDS)
        if not done:
            _LATE_CHECKS.add(check)
            check.add_done_callback(_forget_late_check)
            raise DatabaseUnresponsive(
                f"the database did not answer within {HEALTH_WAIT_SECONDS} s; try again"
            )
        check.result()  # the database out of reach raises here: the same 503
        return {"status": "ok", "version": __version__}


def create_app(
    *,
    database_url: str,
    clock: Callable[[], datetime] = utc_now,
    pool_size: int = 10,
    uploads: UploadSettings | None = None,
    lean_reads: bool | None = None,
) -> FastAPI:
    """The application bound to a database; `clock` is the one source of "now"."""
    install_nik_masking()
    settings = get_settings()
    telemetry = settings.ledger_opentelemetry
    if uploads is None:
        uploads = UploadSettings(
            settings.ledger_upload_dir, settings.ledger_upload_max_bytes, settings.ledger_upload_workers
        )

    lifespan = _lifespan(database_url=database_url, clock=clock, pool_size=pool_size, uploads=uploads)
    app = FastAPI(
        title="coverage-ledger",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=problems.PROBLEM_RESPONSES,
        generate_unique_id_function=operation_id,
        # no redirect to the path with (or without) a slash: Starlette builds its Location from the
        # request's Host header, which a client chooses; an unknown path is a 404
        redirect_slashes=False,
        # off unless asked for: FastAPI otherwise asks the global OpenTelemetry providers on every
        # request whether one has been configured (1.6% of a coverage lookup's CPU, see
        # docs/benchmarks.md)
        telemetry={"tracing": telemetry, "metrics": telemetry, "logs": telemetry},
    )
    app.state.clock = clock
    app.state.lean_reads = settings.ledger_lean_reads if lean_reads is None else lean_reads
    app.state.upload_settings = uploads
    app.state.append_wait_seconds = settings.ledger_append_wait_seconds
    _add_layers(app, request_max_bytes=settings.ledger_request_max_bytes)

    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = finish_document(problems.tailor_openapi(generate_openapi()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it

    _add_health_check(app)
    return app
