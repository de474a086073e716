"""A regional key writes BPU payments and reactivations only into memberships of its region, and
learns nothing of one elsewhere from the refusal (DESIGN.md, "Scope")."""

from httpx import AsyncClient

from tests.claims_support import append, post
from tests.support import Keys, enrolled_bpu, nik, paid, registered

BANDUNG_PAYER = {"kind": "organisation", "name": "Pemkot Bandung", "budget": "APBD"}


async def _moved_from_bandung_to_palembang(client: AsyncClient, keys: Keys) -> str:
    """A BPU member in Bandung in 2024 (declared income Rp3,000,000; January to March paid by
    the city), a member in Palembang from 2025 (the whole year paid)."""
    person = nik()
    await append(
        client,
        keys.admin,
        registered(person),
        enrolled_bpu(
            person,
            event_id=f"bdg-bpu-{person}",
            valid_from="2024-01-01",
            income=3_000_000,
            payer=BANDUNG_PAYER,
            region="32.73.01",
        ),
        paid(
            person,
            event_id=f"bdg-pay-{person}",
            months=("2024-01", "2024-03"),
            amount=3 * 36_800,
            paid_on="2024-01-02",
            payer=BANDUNG_PAYER,
        ),
    )
    await append(
        client,
        keys.office,
        enrolled_bpu(person, event_id=f"plg-bpu-{person}", valid_from="2025-01-01"),
        paid(
            person,
            event_id=f"plg-pay-{person}",
            months=("2025-01", "2025-12"),
            amount=12 * 16_800,
            paid_on="2025-01-02",
        ),
    )
    return person


async def test_a_payment_into_another_regions_membership_is_refused_as_for_a_stranger(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by a review: the key's scope was judged by the membership of the recording day (the
    Palembang one), so the Palembang office paid April 2024 into the Bandung membership, and
    its refusals told which Bandung months were paid and, through the amount due, the income."""
    person = await _moved_from_bandung_to_palembang(client, keys)

    def april(event_id: str, amount: int) -> dict[str, object]:
        return paid(
            person, event_id=event_id, months=("2024-04", "2024-04"), amount=amount, paid_on="2024-05-10"
        )

    stranger = await post(
        client,
        keys.office,
        paid(nik(), event_id="x0", months=("2024-04", "2024-04"), amount=36_800, paid_on="2024-05-10"),
    )
    for event in (
        paid(person, event_id="x1", months=("2024-02", "2024-02"), amount=36_800, paid_on="2024-02-10"),
        april("x2", 1),
        april("x3", 36_800),
    ):
        refused = await post(client, keys.office, event)
        assert refused.status_code == 409, refused.text
        assert [e["code"] for e in refused.json()["errors"]] == ["no_membership"], refused.text
        assert "36,800" not in refused.text and "30,000" not in refused.text and "2024-02" not in refused.text
    assert stranger.status_code == 409 and stranger.json()["errors"][0]["code"] == "no_membership"

    # Bandung's office pays it; Palembang's office pays into its own membership as before
    assert (await post(client, keys.other_office, april("bdg-apr", 36_800))).status_code == 200
    own = paid(
        person, event_id="plg-2026", months=("2026-01", "2026-01"), amount=16_800, paid_on="2025-12-20"
    )
    assert (await post(client, keys.office, own)).status_code == 200
