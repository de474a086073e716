"""A roster's outcome tells its uploader nothing of another region: not whether a worker is
registered elsewhere, not another region's membership or payment (DESIGN.md, "Scope")."""

from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient

from coverage_ledger.ledger.term_checks import MAX_TERMS_PER_PERSON
from tests.claims_support import append, post
from tests.rosters import Uploader, officer_row, roster_csv, sponsor_csv, sponsor_row
from tests.support import Keys, enrolled, enrolled_bpu, nik, paid, registered

BANDUNG = "32.73.01"
BORN = date(1985, 3, 12)


def _worker() -> str:
    return nik(born=BORN, female=False)


def _row(person: str, *, months: tuple[str, str], amount: int, paid_on: str) -> list[str]:
    row = sponsor_row(person, born=BORN, months=months, amount=str(amount))
    row[12], row[13] = paid_on, "2024-01-01"  # paid_on, registered_on
    return row


async def _dry_run(uploader: Uploader, *rows: list[str]) -> dict[str, Any]:
    status = await uploader.run(
        sponsor_csv(list(rows)), key=uploader.keys.sponsor, kind="sponsor_roster", dry_run="true"
    )
    assert status["status"] in {"succeeded", "failed"}, status
    return status


async def test_a_sponsor_dry_run_does_not_tell_who_is_registered_elsewhere(uploader: Uploader) -> None:
    """Found by a probe: the dry run's `registered` counted only workers registered nowhere, so a
    sponsor of South Sumatra learned that a NIK it could not read was registered in Bandung."""
    elsewhere, unknown = _worker(), _worker()
    await append(uploader.client, uploader.keys.admin, registered(elsewhere, region=BANDUNG))
    for person in (elsewhere, unknown):
        status = await _dry_run(uploader, sponsor_row(person, born=BORN))
        assert status["rows_accepted"] == 1, status
        assert status["outcome"]["registered"] == 1 and status["outcome"]["enrolled"] == 1, status


async def test_an_officer_roster_counts_persons_new_to_its_region(uploader: Uploader) -> None:
    """The same for an officer roster written by a committee: both officers are new to it."""
    elsewhere, unknown = nik(), nik()
    await append(uploader.client, uploader.keys.admin, registered(elsewhere, region=BANDUNG))
    status = await uploader.run(
        roster_csv([officer_row(elsewhere), officer_row(unknown)]), committee="KPU-16.71"
    )
    assert status["status"] == "succeeded" and status["rows_accepted"] == 2, status
    assert status["outcome"]["registered"] == 2, status
    # an admin's roster says what the ledger wrote: one registration
    again = await uploader.run(
        roster_csv([officer_row(p, term=("2024-11-01", "2024-11-27")) for p in (nik(), nik())]),
        key=uploader.keys.admin,
        committee="KPU-16.71",
    )
    assert again["outcome"]["registered"] == 2, again


async def test_a_person_with_a_membership_in_the_region_is_not_new_to_it(uploader: Uploader) -> None:
    """Registered in Bandung, but a BPU member in Palembang: known to the region, so not counted as
    registered by a Palembang committee's roster (mutation testing: dropping the memberships from
    `persons_new_to_region` passed every test)."""
    member = nik()
    await append(
        uploader.client,
        uploader.keys.admin,
        registered(member, region=BANDUNG),
        enrolled_bpu(member, event_id=f"bpu-{member}", valid_from="2023-06-01", region="16.71.01"),
    )
    status = await uploader.run(roster_csv([officer_row(member)]), committee="KPU-16.71")
    assert status["status"] == "succeeded" and status["rows_accepted"] == 1, status
    assert (status["outcome"]["registered"], status["outcome"]["enrolled"]) == (0, 1), status["outcome"]


async def test_a_sponsor_row_is_compared_with_its_regions_membership_only(uploader: Uploader) -> None:
    """Found by a probe: a row was compared with the worker's latest membership anywhere, so
    `rows_differing_from_membership` told that the worker had since joined in Bandung."""
    client, keys = uploader.client, uploader.keys
    moved, stayed = _worker(), _worker()
    for person in (moved, stayed):
        await append(client, keys.admin, registered(person))
        await append(
            client,
            keys.office,
            enrolled_bpu(person, event_id=f"m16-{person}", valid_from="2024-01-01"),
            paid(
                person,
                event_id=f"p16-{person}",
                months=("2024-01", "2024-01"),
                amount=16_800,
                paid_on="2024-01-05",
            ),
        )
    await append(
        client,
        keys.other_office,
        enrolled_bpu(moved, event_id=f"m32-{moved}", valid_from="2024-06-01", region=BANDUNG),
    )
    for person in (moved, stayed):
        status = await _dry_run(
            uploader, _row(person, months=("2024-02", "2024-02"), amount=16_800, paid_on="2024-03-10")
        )
        assert status["rows_accepted"] == 1, status
        assert status["outcome"]["rows_differing_from_membership"] == 0, status


async def test_a_sponsor_row_matching_another_regions_payment_is_no_duplicate(uploader: Uploader) -> None:
    """Found by a probe: a row restating a Bandung payment made under the sponsor's name was
    counted a duplicate, so guesses confirmed its months, amount and day."""
    client, keys = uploader.client, uploader.keys
    person = _worker()
    payer = {"kind": "organisation", "name": "Pemprov Sumsel", "budget": "APBD"}
    await append(
        client,
        keys.admin,
        registered(person, region=BANDUNG),
        enrolled_bpu(person, event_id=f"m32-{person}", valid_from="2024-01-01", region=BANDUNG, payer=payer),
        paid(
            person,
            event_id=f"p32-{person}",
            months=("2024-01", "2024-03"),
            amount=50_400,
            paid_on="2024-01-10",
            payer=payer,
        ),
    )
    await append(client, keys.office, enrolled_bpu(person, event_id=f"m16-{person}", valid_from="2024-09-01"))
    status = await _dry_run(
        uploader, _row(person, months=("2024-01", "2024-03"), amount=50_400, paid_on="2024-01-10")
    )
    assert status["rows_duplicate"] == 0 and status["rows_rejected"] == 1, status
    errors = await uploader.errors(status["upload_id"], key=keys.sponsor)
    assert f"p32-{person}" not in str(errors) and "2024-01-10" not in str(errors), errors


async def test_the_term_limit_counts_no_term_of_another_region(client: AsyncClient, keys: Keys) -> None:
    """Found by a probe: the refusal of too many terms gave the total, other regions' included,
    of a person the key could not read."""
    serving_elsewhere, new = nik(), nik()
    await append(client, keys.admin, registered(serving_elsewhere), registered(new))
    start = date(2009, 1, 1)
    await append(
        client,
        keys.other_office,
        *(
            enrolled(
                serving_elsewhere,
                event_id=f"bdg-{i}-{serving_elsewhere}",
                valid_from=(start + timedelta(days=2 * i)).isoformat(),
                valid_to=(start + timedelta(days=2 * i + 1)).isoformat(),
                committee="KPU-32.73",
                region=BANDUNG,
            )
            for i in range(3)
        ),
    )
    messages = []
    for person in (serving_elsewhere, new):
        days = [date(2010, 1, 1) + timedelta(days=2 * i) for i in range(MAX_TERMS_PER_PERSON + 1)]
        refused = await post(
            client,
            keys.office,
            *(
                enrolled(
                    person,
                    event_id=f"day-{i}-{person}",
                    valid_from=d.isoformat(),
                    valid_to=(d + timedelta(days=1)).isoformat(),
                )
                for i, d in enumerate(days)
            ),
        )
        assert refused.status_code == 422, refused.text
        error = refused.json()["errors"][0]
        assert error["code"] == "too_many_terms", error
        messages.append(error["message"].replace(person, "NIK"))
    assert messages[0] == messages[1], messages
    assert f"({MAX_TERMS_PER_PERSON + 1} of them in this key's region)" in messages[0], messages
