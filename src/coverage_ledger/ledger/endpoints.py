"""HTTP: POST /v1/events, GET /v1/ledger/verify, …/head, …/proof, …/export."""

import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.canonical import GIVEN_HASH_TEXT
from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.errors import Conflict, ErrorItem, Forbidden, InvalidInput
from coverage_ledger.http.dependencies import (
    LARGEST_STORED_NUMBER,
    Caller,
    Now,
    Opener,
    Session,
    SessionOpener,
    current_principal,
)
from coverage_ledger.http.problems import documented
from coverage_ledger.ledger.audit import chain_lines
from coverage_ledger.ledger.schemas import AppendRequest, AppendResponse, HeadResponse, VerifyResponse
from coverage_ledger.ledger.service import append_events, ledger_head
from coverage_ledger.ledger.verification import verify_ledger

router = APIRouter(prefix="/v1", tags=["ledger"])


@router.post(
    "/events",
    response_model=AppendResponse,
    summary="Append events atomically",
    description=(
        "Appends the batch as one tx: all events or none. An event whose `event_id` is already "
        "in the ledger with identical content counts as a duplicate and changes nothing; the same "
        "id with other content is a 409. The response is sent only after the tx committed. "
        "`recorded_at` (admin only) backfills history with an explicit known time."
    ),
    responses={
        403: documented(
            "The key's role may not append or correct this, or an event lies outside the key's "
            "region: its own region, or that of the event or claim it names (`region_out_of_scope`, "
            "naming only the field, never the record's details); nothing was written"
        ),
        409: documented("Conflict with the ledger (reused id, overlapping term); nothing was written"),
        503: documented(
            "A lock stayed taken (another tx being numbered, a large upload's) for longer than "
            "LEDGER_APPEND_WAIT_SECONDS (`ledger-busy`), or the database asked for a retry; nothing "
            "was written. Send the same batch again after `Retry-After` seconds."
        ),
    },
)
async def post_events(
    body: AppendRequest, session: Session, caller: Caller, now: Now, request: Request
) -> AppendResponse:
    result = await append_events(
        session,
        principal=caller,
        events=body.events,
        source="api",
        now=now,
        recorded_at=body.recorded_at,
        # a client waits for its answer: past this, a 503 it can retry beats a wait behind a roster
        lock_wait_seconds=request.app.state.append_wait_seconds,
    )
    return AppendResponse(
        tx_seq=result.tx_seq,
        recorded_at=result.recorded_at,
        accepted=result.accepted,
        duplicates=result.duplicates,
    )


@router.get("/ledger/verify", response_model=VerifyResponse, summary="Recompute the hash chain")
async def get_verify(session: Session, caller: Caller) -> VerifyResponse:
    if caller.role not in {Role.ADMIN, Role.AUDITOR, Role.REGIONAL_OFFICE}:
        raise Forbidden("verification is for admins, auditors and regional offices")
    return VerifyResponse.model_validate(await verify_ledger(session), from_attributes=True)


def _auditing(caller: Principal) -> None:
    if caller.role not in {Role.ADMIN, Role.AUDITOR}:
        raise Forbidden("the ledger's proofs and exports are for admins and auditors")


NDJSON = "application/x-ndjson"


async def _streamed(
    opener: SessionOpener, lines: Callable[[AsyncSession], AsyncIterator[bytes]]
) -> AsyncIterator[bytes]:
    # the request's own transaction has committed by now: the stream reads in one of its own
    async with opener() as session, session.begin():
        async for line in lines(session):
            yield line


@router.get(
    "/ledger/proof",
    summary="Prove the ledger extends a head archived earlier",
    description=(
        "Recomputes the whole chain, checks that it passes through the tx whose hash is `from_hash`, "
        'and answers NDJSON: first `{"proof": {ok, from_tx_seq, from_hash, head_tx_seq, head_hash}}`, then '
        '`{"tx": header}` for every tx after it (the header fields that are hashed, with the hash), '
        "so the auditor can recompute each link from the archived hash to the head. 409 when the "
        "chain does not pass through `from_hash` (the history up to it changed) or is broken."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}}, 409: documented("The chain does not extend that head")},
)
async def get_proof(
    opener: Opener,
    session: Session,
    caller: Caller,
    from_hash: Annotated[
        str, Query(pattern=GIVEN_HASH_TEXT, description="A head hash archived earlier (hex, any case).")
    ],
) -> StreamingResponse:
    _auditing(caller)
    from_hash = from_hash.lower()
    report = await verify_ledger(session, from_hash=from_hash)
    if not report.ok or report.from_hash_tx_seq is None:
        where = f" at tx {report.broken_tx_seq}" if report.broken_tx_seq is not None else ""
        raise Conflict(
            f"the ledger does not prove that head{where}: {report.reason}",
            [ErrorItem("proof_failed", report.reason or "broken", field="from_hash")],
        )
    start = report.from_hash_tx_seq
    summary = {
        "proof": {
            "ok": True,
            "from_tx_seq": start,
            "from_hash": from_hash,
            "head_tx_seq": report.head_tx_seq,
            "head_hash": report.head_hash,
        }
    }

    async def lines(stream_session: AsyncSession) -> AsyncIterator[bytes]:
        yield (json.dumps(summary, separators=(",", ":")) + "\n").encode()
        async for line in chain_lines(
            stream_session, from_tx=start + 1, to_tx=report.head_tx_seq, with_events=False
        ):
            yield line

    return StreamingResponse(_streamed(opener, lines), media_type=NDJSON)


@router.get(
    "/ledger/export",
    summary="The events of a range of txs, as NDJSON",
    description=(
        '`{"tx": header}` for each tx from `from_tx` to `to_tx` (inclusive; default: to the head), each '
        'followed by its events `{"event": {event_id, type, payload, digest}}` in order. The event digest '
        "is the sha256 of the RFC 8785 JSON of `{event_id, type, …payload}`; the tx hash that of the header "
        "without `hash`. Backfilled txs have `backfill: true`. Personal fields are not in the log, only "
        "their salted digest."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}}},
)
async def get_export(
    opener: Opener,
    caller: Caller,
    from_tx: Annotated[int, Query(ge=1, le=LARGEST_STORED_NUMBER)] = 1,
    to_tx: Annotated[int | None, Query(ge=1, le=LARGEST_STORED_NUMBER)] = None,
) -> StreamingResponse:
    _auditing(caller)
    if to_tx is not None and to_tx < from_tx:
        raise InvalidInput(
            "to_tx is before from_tx",
            [ErrorItem("invalid_range", "to_tx must not be before from_tx", field="to_tx")],
        )
    return StreamingResponse(
        _streamed(opener, lambda s: chain_lines(s, from_tx=from_tx, to_tx=to_tx, with_events=True)),
        media_type=NDJSON,
        headers={
            "Content-Disposition": f'attachment; filename="ledger_tx{from_tx}-{to_tx or "head"}.ndjson"'
        },
    )


@router.get(
    "/ledger/head",
    response_model=HeadResponse,
    summary="The newest tx and its hash",
    dependencies=[Depends(current_principal)],  # any valid key: nothing else depends on who asks
)
async def get_head(session: Session) -> HeadResponse:
    head = await ledger_head(session)
    if head is None:  # an empty ledger (only before genesis)
        return HeadResponse(tx_seq=0, recorded_at=None, hash=None)
    return HeadResponse(tx_seq=head.tx_seq, recorded_at=format_instant(head.recorded_at), hash=head.hash)
