"""Whether a region exists as known at a tx and lies in a key's scope: the one 404 for both."""

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import Principal
from coverage_ledger.errors import NotFound
from coverage_ledger.regions import repository
from coverage_ledger.regions.repository import RegionRow


async def visible_region(
    session: AsyncSession, *, principal: Principal, code: str, tx_seq: int, day: date
) -> RegionRow:
    """The region, or 404 when it is unknown on `day` as known at `tx_seq` or outside the key's scope."""
    region = await repository.region_at(session, code=code, tx_seq=tx_seq, valid_at=day)
    if region is None or not principal.sees(code):
        # the same words for unknown and out of scope; but a known_at before the first tx is said
        known = " (known_at lies before the ledger's first tx: nothing was known then)" if tx_seq < 1 else ""
        raise NotFound(
            f"no region {code} visible to this key on {day.isoformat()} as known at tx {tx_seq}{known}"
            + (await _other_days(session, code, tx_seq) if principal.sees(code) else "")
        )
    return region


async def _other_days(session: AsyncSession, code: str, tx_seq: int) -> str:
    """For a code the key may see that exists on other days (a code of an older or a later
    decree), when it does: found by a region probe, a retired code's 404 read as if it had never
    existed, for an auditor too."""
    versions = await repository.region_versions(session, code=code, tx_seq=tx_seq)
    if not versions:
        return ""
    spans = "; ".join(
        f"{v.valid_from.isoformat() if v.valid_from else 'always'} to "
        f"{(v.valid_to - timedelta(days=1)).isoformat() if v.valid_to else 'now'}"
        for v in sorted(versions, key=lambda v: v.valid_from or date.min)
    )
    return f"; the code exists {spans} (GET /v1/regions/{code} names any codes that replaced it)"
