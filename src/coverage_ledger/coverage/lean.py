"""GET /v1/persons/{nik}/coverage served by `http/lean_reads.py`: the FastAPI route's checks and
answer, on a read connection, without FastAPI's dependency resolution."""

import re

import orjson
from starlette.requests import Request
from starlette.responses import Response

from coverage_ledger.auth.service import authenticate_hash, required_secret, secret_hash
from coverage_ledger.coverage.endpoints import coverage_document, read_coordinates
from coverage_ledger.coverage.service import person_coverage
from coverage_ledger.database.reads import ReadConnection
from coverage_ledger.domain.timeframes import jakarta_date
from coverage_ledger.http.access_log import note_caller
from coverage_ledger.http.dependencies import presented_secret
from coverage_ledger.http.lean_reads import LeanRoute
from coverage_ledger.ledger.asof import resolve


async def lean_coverage(request: Request, match: re.Match[str]) -> Response:
    """One person's coverage; the key is checked before the query parameters, as the route does."""
    state = request.app.state
    read_connection: ReadConnection = state.read_connection
    now = state.clock()
    secret = required_secret(secret=presented_secret(request.headers))
    async with read_connection() as db:
        caller = await authenticate_hash(db, secret_sha256=secret_hash(secret=secret), now=now)
        note_caller(request, caller)
        params = request.query_params
        valid_at, known_at = read_coordinates(
            params.get("valid_at"), params.get("known_at"), today=jakarta_date(now)
        )
        point = await resolve(db, valid_at=valid_at, known_at=known_at)
        result = await person_coverage(db, principal=caller, nik=match["nik"], as_of=point)
    # the read's transaction has ended (committed) before the body is built
    return Response(orjson.dumps(coverage_document(result)), media_type="application/json")


COVERAGE_ROUTE = LeanRoute(re.compile(r"/v1/persons/(?P<nik>[0-9]{16})/coverage"), lean_coverage)
