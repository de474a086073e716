"""HTTP: POST /v1/events, GET /v1/ledger/verify, GET /v1/ledger/head."""

from fastapi import APIRouter
from pydantic import BaseModel

from coverage_ledger.domain.access import Role
from coverage_ledger.domain.timeframes import format_instant
from coverage_ledger.errors import Forbidden
from coverage_ledger.http.dependencies import Caller, Session
from coverage_ledger.ledger import repository
from coverage_ledger.ledger.schemas import AppendRequest, AppendResponse
from coverage_ledger.ledger.service import append_events
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
    responses={409: {"description": "Conflict with the ledger (reused id, overlapping term)"}},
)
async def post_events(body: AppendRequest, session: Session, caller: Caller) -> AppendResponse:
    result = await append_events(
        session, principal=caller, events=body.events, source="api", recorded_at=body.recorded_at
    )
    return AppendResponse(
        tx_seq=result.tx_seq,
        recorded_at=result.recorded_at,
        accepted=result.accepted,
        duplicates=result.duplicates,
    )


class VerifyResponse(BaseModel):
    """Outcome of recomputing the whole hash chain."""

    ok: bool
    txs_checked: int
    head_tx_seq: int
    head_hash: str | None
    broken_tx_seq: int | None = None
    reason: str | None = None


@router.get("/ledger/verify", response_model=VerifyResponse, summary="Recompute the hash chain")
async def get_verify(session: Session, caller: Caller) -> VerifyResponse:
    if caller.role not in {Role.ADMIN, Role.AUDITOR, Role.REGIONAL_OFFICE}:
        raise Forbidden("verification is for admins, auditors and regional offices")
    return VerifyResponse.model_validate(await verify_ledger(session), from_attributes=True)


class HeadResponse(BaseModel):
    """The newest tx, for auditors to archive."""

    tx_seq: int
    recorded_at: str | None
    hash: str | None


@router.get("/ledger/head", response_model=HeadResponse, summary="The newest tx and its hash")
async def get_head(session: Session, caller: Caller) -> HeadResponse:
    head = await repository.read_head(session)
    if head is None:  # an empty ledger (only before genesis)
        return HeadResponse(tx_seq=0, recorded_at=None, hash=None)
    return HeadResponse(tx_seq=head.tx_seq, recorded_at=format_instant(head.recorded_at), hash=head.hash)
