"""Sponsor rosters: a regional government (or SERTAKAN sponsor) enrols informal workers and pays
their contributions, checked by the same BPU rules as single payments."""

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.errors import InvalidInput
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from coverage_ledger.uploads.sponsor_job import MAX_SPONSOR_ROWS
from tests.rosters import Uploader, sponsor_csv, sponsor_row
from tests.support import coverage_of, nik, registered


@pytest.mark.slow
async def test_a_sponsor_roster_enrols_and_pays_for_a_thousand_workers(uploader: Uploader) -> None:
    workers = [
        nik(born=date(1970 + i % 30, 1 + i % 12, 1 + i % 28), female=False, serial=1 + i) for i in range(1000)
    ]
    rows = [sponsor_row(w, born=date(1970 + i % 30, 1 + i % 12, 1 + i % 28)) for i, w in enumerate(workers)]
    head = await uploader.head()
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "succeeded", status
    assert status["rows_accepted"] == 1000 and status["tx_seq"] == head + 1
    assert status["outcome"] == {
        "written": True,
        "registered": 1000,
        "enrolled": 1000,
        "paid": 1000,
        "amount_total": 50_400_000,
    }
    answer = await coverage_of(uploader.client, uploader.keys, workers[0], "2025-02-15")
    assert answer["status"] == "covered", answer
    arrears = await coverage_of(uploader.client, uploader.keys, workers[0], "2025-04-15")
    assert arrears["status"] == "in_arrears"


async def test_each_bad_sponsor_row_is_reported_and_all_or_nothing_writes_nothing(uploader: Uploader) -> None:
    rows = [
        sponsor_row(),  # row 2
        sponsor_row(amount="16800"),  # row 3: one month's amount for three months
        sponsor_row(amount="Rp50.400"),  # row 4: not digits
        sponsor_row(months=("2025-03", "2025-01")),  # row 5
        [*sponsor_row()[:5], "JHT", *sponsor_row()[6:]],  # row 6: JKK and JKM are required
    ]
    head = await uploader.head()
    status = await uploader.run(sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster")
    assert status["status"] == "failed"
    assert await uploader.head() == head
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert {(e["row"], e["column"], e["code"]) for e in errors} == {
        ("3", "amount", "amount_mismatch"),
        ("4", "amount", "invalid_amount"),
        ("5", "months_to", "months_to_before_months_from"),
        ("6", "programs", "invalid_programs"),
    }
    assert "expected" in next(e for e in errors if e["row"] == "3")["message"]


async def test_accept_valid_keeps_the_good_sponsor_rows(uploader: Uploader) -> None:
    good = nik(born=date(1985, 3, 12), female=False)
    rows = [sponsor_row(good), sponsor_row(amount="1")]
    status = await uploader.run(
        sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert status["status"] == "succeeded"
    assert (status["rows_accepted"], status["rows_rejected"]) == (1, 1)
    assert (await coverage_of(uploader.client, uploader.keys, good, "2025-03-31"))["status"] == "covered"


async def test_the_2026_relief_does_not_apply_to_a_regional_budget(uploader: Uploader) -> None:
    # May 2026, sector other: Rp8,400 for a member paying themselves, but an APBD payer pays in full
    relieved = sponsor_row(months=("2026-05", "2026-05"), amount="8400", budget="APBD")
    full = sponsor_row(months=("2026-05", "2026-05"), amount="16800", budget="APBD")
    status = await uploader.run(
        sponsor_csv([relieved, full]), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    errors = await uploader.errors(status["upload_id"], key=uploader.keys.sponsor)
    assert [(e["row"], e["code"]) for e in errors] == [("2", "amount_mismatch")]
    assert status["rows_accepted"] == 1


async def test_a_committee_cannot_upload_a_sponsor_roster(uploader: Uploader) -> None:
    response = await uploader.post(sponsor_csv([sponsor_row()]), kind="sponsor_roster")
    assert response.status_code == 403


async def test_a_sponsor_roster_over_the_row_limit_is_refused_as_a_whole(uploader: Uploader) -> None:
    rows = [sponsor_row() for _ in range(MAX_SPONSOR_ROWS + 1)]
    head = await uploader.head()
    status = await uploader.run(
        sponsor_csv(rows), key=uploader.keys.sponsor, kind="sponsor_roster", policy="accept_valid"
    )
    assert status["status"] == "failed"
    assert status["problem"]["code"] == "too_many_rows"
    assert await uploader.head() == head


async def test_checking_a_batch_without_writing_it_takes_no_lock(session: AsyncSession) -> None:
    person = nik()
    request = AppendRequest.model_validate({"events": [registered(person)]})
    head = await ledger_repository.resolve_known_at(session)
    result = await append_events(
        session, principal=SYSTEM, events=request.events, source="test", validate_only=True
    )
    assert (result.tx_seq, result.accepted) == (head, 1)
    locks = await session.execute(
        text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")
    )
    assert locks.scalar_one() == 0
    assert await ledger_repository.resolve_known_at(session) == head
    written = await session.execute(
        text("SELECT count(*) FROM ledger_event WHERE nik = :nik"), {"nik": person}
    )
    assert written.scalar_one() == 0
    # the same checks as a real append: a bad batch is refused all the same
    with pytest.raises(InvalidInput):
        await append_events(
            session,
            principal=SYSTEM,
            events=AppendRequest.model_validate(
                {"events": [registered(person) | {"region_code": "16.99.99"}]}
            ).events,
            source="test",
            validate_only=True,
        )
