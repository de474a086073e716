"""Boundaries of the set-based checks and reads that mutation testing of their SQL found no test
holding: each test fails when the named comparison or clause is changed (a `<` made `<=`, a
filter dropped). Periods are half-open (DESIGN.md), a roster's `term_end` inclusive."""

import csv
import io
import json
from datetime import date
from typing import Any

from coverage_ledger.domain.access import Role
from tests.claims_support import append, kpps_2024, paid_in_full, reversed_
from tests.rosters import HEADER, Uploader, append_as_admin, officer_row, roster_csv
from tests.support import Keys, committed_key, enrolled, nik, registered

TERM = ("2024-01-25", "2024-02-23")
"""KPPS of Pemilu 2024, as on the appointment letter (last day inclusive)."""
NEXT_TERM = ("2024-02-24", "2024-03-10")
"""The term starting the day after TERM's last day."""


async def _roster(uploader: Uploader, **params: str) -> list[dict[str, Any]]:
    response = await uploader.client.get(
        "/v1/reports/coverage-roster",
        params={"region": "16.71", "format": "json"} | params,
        headers=Keys.header(uploader.keys.auditor),
    )
    assert response.status_code == 200, response.text
    report = json.loads(response.content)
    return [dict(zip(report["columns"], row, strict=True)) for row in report["rows"]]


async def _already_serving(
    uploader: Uploader,
    person: str,
    *,
    valid_from: str = "2024-01-25",
    valid_to: str = "2024-02-24",
    role: str = "KPPS",
    region: str = "16.71.01",
) -> None:
    """`person` registered and serving a term of the committee KPU-16.71 (registered 1 Dec 2023)."""
    enrolment = enrolled(
        person,
        event_id=f"serving-{person}",
        valid_from=valid_from,
        valid_to=valid_to,
        registered_on="2023-12-01",
        role=role,
        region=region,
    )
    await append_as_admin(uploader, registered(person), enrolment)


async def _replacing_outcome(uploader: Uploader, row: list[str], *, key: str | None = None) -> Any:
    """The outcome of a `replace_roster` upload of the one row, which must succeed."""
    status = await uploader.run(roster_csv([row]), key=key, mode="replace_roster")
    assert status["status"] == "succeeded", status
    return status["outcome"]


async def test_a_replacing_roster_of_one_role_leaves_the_committees_officers_of_another(
    uploader: Uploader,
) -> None:
    """`vanished_enrolments` retracts only the roles the file lists: a KPPS-only file must not
    retract the committee's PPS officer serving in the same district and period."""
    pps, kpps = nik(), nik()
    await _already_serving(uploader, pps, role="PPS")
    row = officer_row(kpps, role="KPPS", term=TERM, registered_on="2023-12-01")
    outcome = await _replacing_outcome(uploader, row)
    assert (outcome["retracted"], outcome["enrolled"]) == (0, 1), outcome
    still = {row["nik"] for row in await _roster(uploader, valid_at="2024-02-01")}
    assert {pps, kpps} <= still


async def test_terms_that_meet_without_sharing_a_day_are_no_overlap_in_either_order(
    uploader: Uploader,
) -> None:
    """The ledger check's `crosses`: a row starting the day after a term's last day, or ending the
    day before one starts, is accepted; and the spans of the two make one covered period."""
    later_second, earlier_second = nik(), nik()
    for person, first, second in ((later_second, TERM, NEXT_TERM), (earlier_second, NEXT_TERM, TERM)):
        await uploader.run(roster_csv([officer_row(person, term=first, registered_on="2023-12-01")]))
        status = await uploader.run(
            roster_csv([officer_row(person, term=second, registered_on="2023-12-01")])
        )
        assert (status["status"], status["rows_accepted"], status["rows_rejected"]) == ("succeeded", 1, 0), (
            status
        )
    # one span from 25 Jan to 10 Mar (the spans' refresh finds a term touching a span as well)
    for day in ("2024-02-23", "2024-02-24", "2024-03-10"):
        covered = {row["nik"]: row for row in await _roster(uploader, valid_at=day)}
        for person in (later_second, earlier_second):
            assert covered[person]["covered_from"] == "2024-01-25", (day, covered[person])
            assert covered[person]["covered_until"] == "2024-03-11", (day, covered[person])


async def test_the_coverage_report_leaves_out_an_officer_the_day_after_their_last_day(
    uploader: Uploader,
) -> None:
    person = nik()
    await uploader.run(roster_csv([officer_row(person, term=TERM, registered_on="2023-12-01")]))
    assert person in {row["nik"] for row in await _roster(uploader, valid_at="2024-02-23")}
    assert person not in {row["nik"] for row in await _roster(uploader, valid_at="2024-02-24")}


async def test_the_invoice_counts_no_officer_whose_cover_never_starts(uploader: Uploader) -> None:
    """A row registered after its term ended is recorded but insures no day: nothing is owed."""
    rows = [
        officer_row(region="16.71.02", term=TERM, registered_on="2024-01-15"),
        officer_row(region="16.71.02", term=TERM, registered_on="2024-03-01"),
    ]
    status = await uploader.run(roster_csv(rows))
    assert status["status"] == "succeeded" and status["outcome"]["rows_without_cover"] == 1, status
    invoice = await uploader.client.get(
        f"/v1/uploads/{status['upload_id']}/invoice", headers=Keys.header(uploader.keys.committee)
    )
    assert invoice.text.strip().splitlines()[1].startswith("16.71.02,1,2,33600,"), invoice.text


async def test_a_term_ending_the_day_the_files_period_starts_is_not_left_across_it(
    uploader: Uploader,
) -> None:
    """`vanished_enrolments`' period: an own term ending (exclusive) on the file's first day lies
    outside it, so it is neither retracted nor reported as left across the period."""
    january, february = nik(), nik()
    await _already_serving(uploader, january, valid_from="2024-01-01", valid_to="2024-02-01")
    row = officer_row(february, term=("2024-02-01", "2024-02-29"), registered_on="2023-12-01")
    outcome = await _replacing_outcome(uploader, row)
    assert (outcome["retracted"], outcome.get("left_across_period", 0)) == (0, 0), outcome


async def test_an_estimate_counts_from_its_first_day(uploader: Uploader) -> None:
    await append_as_admin(
        uploader,
        {
            "event_id": "pot-feb",
            "type": "potential.estimated",
            "region_code": "16.71",
            "segment": "informal",
            "valid_from": "2024-02-01",
            "count": 1000,
            "source": "test",
        },
    )
    for day, potential in (("2024-01-31", None), ("2024-02-01", 1000)):
        body = await uploader.client.get(
            "/v1/regions/16.71/coverage",
            params={"valid_at": day, "segment": "informal"},
            headers=Keys.header(uploader.keys.office),
        )
        assert body.status_code == 200, body.text
        assert body.json()["potential"] == potential, (day, body.json())


async def test_a_region_whose_decree_ends_is_gone_on_its_end_day(uploader: Uploader) -> None:
    await append_as_admin(
        uploader,
        {
            "event_id": "def-16.71.97",
            "type": "region.defined",
            "code": "16.71.97",
            "name": "Kecamatan Sementara",
            "decree": "test",
            "valid_from": "2024-01-01",
            "valid_to": "2025-01-01",
        },
    )

    async def children(day: str) -> set[str]:
        response = await uploader.client.get(
            "/v1/regions/16.71", params={"valid_at": day}, headers=Keys.header(uploader.keys.office)
        )
        assert response.status_code == 200, response.text
        return {child["region_code"] for child in response.json()["children"]}

    assert "16.71.97" in await children("2024-12-31")
    assert "16.71.97" not in await children("2025-01-01")


async def test_a_replacing_row_is_judged_by_the_registrations_birth_date(uploader: Uploader) -> None:
    """`check_registered_births` judges a row that changes an own term too: a row claiming 1907
    must not move the term of an officer registered as born in 2007 to before their 17th birthday."""
    person = nik(born=date(2007, 6, 1))
    await append_as_admin(
        uploader,
        registered(person) | {"birth_date": "2007-06-01"},
        enrolled(
            person,
            event_id=f"june-{person}",
            valid_from="2024-06-01",
            valid_to="2024-07-01",
            registered_on="2024-05-01",
        ),
    )
    row = officer_row(
        person, born=date(1907, 6, 1), term=("2024-05-01", "2024-06-20"), registered_on="2024-04-01"
    )
    status = await uploader.run(roster_csv([row]), mode="replace_roster")
    assert status["status"] == "failed", status
    errors = await uploader.errors(status["upload_id"])
    assert [(e["column"], e["code"]) for e in errors] == [("term_start", "officer_too_young")], errors


async def test_a_registration_received_on_the_birth_day_is_not_before_the_birth(uploader: Uploader) -> None:
    """`check_registered_births`' `registered_on < born`: a row received on the day of the birth
    the registration gives is not refused as registered before it (the row checks agree)."""
    person = nik(born=date(2007, 6, 1))
    await append_as_admin(uploader, registered(person) | {"birth_date": "2007-06-01"})
    row = officer_row(
        person, born=date(1907, 6, 1), term=("2024-07-01", "2024-07-31"), registered_on="2007-06-01"
    )
    status = await uploader.run(roster_csv([row]))
    assert (status["status"], status["rows_accepted"]) == ("succeeded", 1), status


async def test_a_row_giving_another_phone_than_the_registration_is_named(uploader: Uploader) -> None:
    """`rows_differing_from_registration` compares the phone too, when the row gives one."""
    person = nik()
    await append_as_admin(uploader, registered(person) | {"phone": "081234567890"})
    header = [*HEADER, "phone"]
    same, other = (
        [*officer_row(person, registered_on="2023-12-01"), phone]
        for phone in ("081234567890", "081298765432")
    )
    for row, differing in ((same, 0), (other, 1)):
        status = await uploader.run(roster_csv([row], header=header), dry_run="true")
        assert status["status"] == "succeeded", status
        assert status["outcome"]["rows_differing_from_registration"] == differing, (row, status["outcome"])


async def test_a_claim_whose_payment_was_reversed_is_due_again_from_the_reversal_in_the_report(
    uploader: Uploader,
) -> None:
    """The payouts report's `due_date` (its CLAIMS query): from the day of the reversal on, a
    claim whose payment was reversed after its due date is due from the reversal."""
    client, keys = uploader.client, uploader.keys
    person = await kpps_2024(client, keys)
    await append(client, keys.office, *paid_in_full("R-due", person, payment_id="R-due-pay"))
    await append(client, keys.office, reversed_("R-due", "returned", reversed_on="2024-03-05"))

    async def due_date(day: str) -> str:
        response = await client.get(
            "/v1/reports/payouts",
            params={"valid_at": day, "region": "16.71", "format": "csv"},
            headers=Keys.header(keys.auditor),
        )
        assert response.status_code == 200, response.text
        rows = [row for row in csv.DictReader(io.StringIO(response.text)) if row["claim_id"] == "R-due"]
        assert len(rows) == 1, response.text
        return rows[0]["due_date"]

    assert await due_date("2024-03-04") < "2024-03-05"
    assert await due_date("2024-03-05") == "2024-03-05"


async def test_a_village_keys_replacing_roster_leaves_another_villages_officers(
    uploader: Uploader, fresh_database: str
) -> None:
    """`vanished_enrolments` keeps to the key's region: a committee key of one village replaces
    its own village's roster, not the officers its committee has in the next village."""
    village = await committed_key(
        fresh_database,
        name="kpps-1001",
        role=Role.COMMITTEE,
        region="16.71.01.1001",
        organisation="KPU-16.71",
    )
    neighbour, own = nik(), nik()
    await _already_serving(uploader, neighbour, region="16.71.01.1002")
    row = officer_row(own, region="16.71.01.1001", term=TERM, registered_on="2023-12-01")
    outcome = await _replacing_outcome(uploader, row, key=village)
    assert (outcome["retracted"], outcome["enrolled"]) == (0, 1), outcome
    assert neighbour in {row["nik"] for row in await _roster(uploader, valid_at="2024-02-01")}
