"""The comparison endpoint of the lookup benchmark: bare Starlette, psycopg's async pool, the same
key check and the same SQL as `GET /v1/persons/{nik}/coverage`, none of the service around it."""

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from coverage_ledger.database.engine import SESSION_OPTIONS, libpq_url

_URL = libpq_url(os.environ["DATABASE_URL"])
pool = AsyncConnectionPool(_URL, min_size=4, max_size=10, kwargs={"options": SESSION_OPTIONS}, open=False)

_KEY = b"SELECT role, region_prefix FROM api_key WHERE secret_sha256 = %s AND revoked_at IS NULL"
_HEAD = b"SELECT coalesce(max(tx_seq), 0) FROM ledger_tx"
_EVENTS = (
    b"SELECT k.event_id, k.type, e.payload, t.tx_seq, t.recorded_at FROM event_knowledge k "
    b"JOIN ledger_event e ON e.event_id = k.event_id LEFT JOIN ledger_tx t ON t.tx_id = e.tx_id "
    b"WHERE k.nik = ANY(%s) AND k.type = ANY(%s) AND k.tx_from <= %s AND (k.tx_to IS NULL OR k.tx_to > %s) "
    b"ORDER BY t.tx_seq NULLS LAST, e.position"
)
_TYPES = [
    "person.registered",
    "officer.enrolled",
    "informal.enrolled",
    "contribution.paid",
    "membership.reactivated",
]


async def lookup(request: Request) -> Response:
    secret = request.headers.get("authorization", "").removeprefix("Bearer ")
    async with pool.connection() as conn:
        key = await (await conn.execute(_KEY, (hashlib.sha256(secret.encode()).hexdigest(),))).fetchone()
        if key is None:
            return Response(status_code=401)
        head = await (await conn.execute(_HEAD)).fetchone()
        assert head is not None
        rows = await (
            await conn.execute(_EVENTS, ([request.path_params["nik"]], _TYPES, head[0], head[0]))
        ).fetchall()
    body = [{"event_id": r[0], "type": r[1], "payload": r[2]} for r in rows]
    return Response(
        json.dumps({"events": body}), media_type="application/json", status_code=200 if rows else 404
    )


@asynccontextmanager
async def lifespan(_app: Starlette) -> AsyncIterator[None]:
    await pool.open()
    yield
    await pool.close()


app = Starlette(routes=[Route("/bare/{nik}", lookup)], lifespan=lifespan)
