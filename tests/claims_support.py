"""Builders of claim events and a covered officer, shared by the claim tests."""

from typing import Any

from httpx import AsyncClient, Response

from tests.support import Keys, enrolled, enrolled_bpu, nik, registered
from tests.support import paid as contribution


def filed(
    claim_id: str, person: str, *, benefit: str = "JKM", incident: str, **fields: Any
) -> dict[str, Any]:
    """A `claim.filed` event."""
    return {
        "event_id": f"{claim_id}-filed",
        "type": "claim.filed",
        "claim_id": claim_id,
        "nik": person,
        "benefit": benefit,
        "incident_date": incident,
        **fields,
    }


def approved(claim_id: str, decided_on: str, *, event_id: str | None = None) -> dict[str, Any]:
    """A `claim.approved` event."""
    return {
        "event_id": event_id or f"{claim_id}-approved",
        "type": "claim.approved",
        "claim_id": claim_id,
        "decided_on": decided_on,
    }


def rejected(claim_id: str, decided_on: str, reason: str) -> dict[str, Any]:
    """A `claim.rejected` event."""
    return {
        "event_id": f"{claim_id}-rejected",
        "type": "claim.rejected",
        "claim_id": claim_id,
        "decided_on": decided_on,
        "reason": reason,
    }


def paid(claim_id: str, amount: int, paid_on: str, *, event_id: str | None = None) -> dict[str, Any]:
    """A `claim.paid` event."""
    return {
        "event_id": event_id or f"{claim_id}-paid-{paid_on}",
        "type": "claim.paid",
        "claim_id": claim_id,
        "amount": amount,
        "paid_on": paid_on,
    }


def paid_in_full(
    claim_id: str,
    person: str,
    *,
    payment_id: str,
    filed_on: str = "2024-02-20",
    decided_on: str = "2024-02-21",
) -> list[dict[str, Any]]:
    """A JKM claim for a death on 14 Feb 2024, filed, approved and paid its Rp42,000,000 on 22 Feb."""
    return [
        filed(claim_id, person, incident="2024-02-14", filed_on=filed_on),
        approved(claim_id, decided_on),
        paid(claim_id, 42_000_000, "2024-02-22", event_id=payment_id),
    ]


def reversed_(claim_id: str, reason: str, **fields: Any) -> dict[str, Any]:
    """A `claim.reversed` event."""
    return {
        "event_id": f"{claim_id}-reversed",
        "type": "claim.reversed",
        "claim_id": claim_id,
        "reason": reason,
    } | fields


async def post(client: AsyncClient, secret: str, *events: dict[str, Any]) -> Response:
    """POST /v1/events with this key."""
    return await client.post("/v1/events", json={"events": list(events)}, headers=Keys.header(secret))


async def append(client: AsyncClient, secret: str, *events: dict[str, Any]) -> int:
    """Append and return the tx_seq; asserts 200."""
    response = await post(client, secret, *events)
    assert response.status_code == 200, response.text
    tx: int = response.json()["tx_seq"]
    return tx


async def claim(client: AsyncClient, secret: str, claim_id: str, **params: str) -> dict[str, Any]:
    """GET /v1/claims/{claim_id}; asserts 200."""
    response = await client.get(f"/v1/claims/{claim_id}", params=params, headers=Keys.header(secret))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def kpps_2024(client: AsyncClient, keys: Keys, *, region: str = "16.71.01") -> str:
    """A KPPS officer of Pemilu 2024 (25 Jan – 23 Feb 2024), registered 20 Jan; returns the NIK."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person, region=region),
        enrolled(
            person,
            event_id=f"kpps-{person}",
            valid_from="2024-01-25",
            valid_to="2024-02-24",
            registered_on="2024-01-20",
            region=region,
        ),
    )
    return person


async def member_paid_for_the_first_quarter(client: AsyncClient, keys: Keys) -> str:
    """A BPU member of 16.71.01 from 1 Jan 2025, January to March paid (events `bpu-<nik>`,
    `q1-<nik>`); returns the NIK."""
    person = nik()
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-01"),
        contribution(
            person,
            event_id=f"q1-{person}",
            months=("2025-01", "2025-03"),
            amount=50_400,
            paid_on="2025-01-05",
        ),
    )
    return person


async def paid_member(
    client: AsyncClient, secret: str, *, since: str, through: str, region: str = "16.71.01"
) -> str:
    """A new BPU member from the first of month `since`, JKK and JKM paid on its second day
    through month `through` (events `bpu-<nik>`, `pay-<nik>`), in `region`; the NIK."""
    member = nik()
    months = (int(through[:4]) - int(since[:4])) * 12 + int(through[5:]) - int(since[5:]) + 1
    await append(
        client,
        secret,
        registered(member, region=region),
        enrolled_bpu(member, event_id=f"bpu-{member}", valid_from=f"{since}-01", region=region),
        contribution(
            member,
            event_id=f"pay-{member}",
            months=(since, through),
            amount=months * 16_800,
            paid_on=f"{since}-02",
        ),
    )
    return member


def only_error(response: Any) -> dict[str, str]:
    """The one error of a refused response."""
    errors: list[dict[str, str]] = response.json()["errors"]
    assert len(errors) == 1, errors
    return errors[0]
