"""The report access log: every report or manifest request recorded before it is answered, what a
streamed report held added once it was sent, and the log read back by admins and auditors."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.errors import Forbidden
from coverage_ledger.reports import repository


async def record_request(
    session: AsyncSession,
    *,
    principal: Principal,
    requested_at: datetime,
    report: str,
    parameters: dict[str, Any],
    tx_seq: int,
    rows: int | None = None,
    content_sha256: str | None = None,
) -> int:
    """Record who asked for which report at which tx; returns the access id (rows and sha256 of a
    streamed report are not known yet: `record_delivery` adds them)."""
    return await repository.log_access(
        session,
        key_name=principal.key_name,
        requested_at=requested_at,
        report=report,
        parameters=parameters,
        tx_seq=tx_seq,
        rows=rows,
        content_sha256=content_sha256,
    )


async def record_delivery(session: AsyncSession, *, access_id: int, rows: int, content_sha256: str) -> None:
    """Add to a logged request the rows and sha256 of the report as it was sent."""
    await repository.complete_access(session, access_id=access_id, rows=rows, content_sha256=content_sha256)


async def access_log_page(
    session: AsyncSession, *, principal: Principal, before: int | None, limit: int
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the access log, newest first, and the cursor of the next (admins and auditors)."""
    if principal.role not in {Role.ADMIN, Role.AUDITOR}:
        raise Forbidden("the access log is for admins and auditors")
    rows = await repository.access_log(session, before=before, limit=limit + 1)
    page = [row._asdict() for row in rows[:limit]]
    return page, page[-1]["access_id"] if len(rows) > limit else None
