"""Roster uploads at scale and under contention: replace_roster, two committees at once, a
100,000-row file, XLSX, a restart mid-upload; the ledger stays verifiable and rebuildable."""

import asyncio
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.clock import utc_now
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import Role
from coverage_ledger.domain.rule_table import officer_rate_parameters
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.ledger.verification import verify_ledger
from coverage_ledger.reference.rules import OFFICER_RATES
from coverage_ledger.uploads.running import run_upload
from tests.rosters import (
    Uploader,
    many_officers,
    officer_row,
    roster_csv,
    roster_xlsx,
    stored_upload,
    submit_queued,
)
from tests.support import Keys, append_committed, committed_key, coverage_of, nik


async def _ledger_is_sound(database_url: str) -> None:
    engine = create_engine_for(database_url, pool_size=1)
    async with session_factory(engine)() as session:
        report = await verify_ledger(session)
        assert report.ok, report
        assert await rebuild_check(session) == []
    await engine.dispose()


async def test_replace_roster_enrols_new_corrects_changed_and_retracts_missing_rows(
    uploader: Uploader, fresh_database: str
) -> None:
    people = [nik() for _ in range(40)]
    first = await uploader.run(roster_csv([officer_row(p) for p in people]))
    assert first["rows_accepted"] == 40
    kept, changed, removed = people[:25], people[25:35], people[35:]
    newcomers = [nik() for _ in range(20)]
    rows = (
        [officer_row(p) for p in kept]
        + [officer_row(p, term=("2024-01-20", "2024-02-23")) for p in changed]
        + [officer_row(p) for p in newcomers]
    )
    status = await uploader.run(roster_csv(rows), mode="replace_roster")
    assert status["status"] == "succeeded", status
    outcome = status["outcome"]
    assert (outcome["enrolled"], outcome["corrected"], outcome["retracted"], outcome["unchanged"]) == (
        20,
        10,
        5,
        25,
    )
    assert (await coverage_of(uploader.client, uploader.keys, changed[0], "2024-01-22"))[
        "status"
    ] == "covered"
    # as known before the replacement, the changed term still started on 25 Jan
    before = await coverage_of(
        uploader.client, uploader.keys, changed[0], "2024-01-22", f"tx:{first['tx_seq']}"
    )
    assert before["status"] == "not_started"
    gone = await coverage_of(uploader.client, uploader.keys, removed[0], "2024-02-01")
    assert gone["status"] == "not_enrolled"
    assert (await coverage_of(uploader.client, uploader.keys, newcomers[0], "2024-02-01"))[
        "status"
    ] == "covered"
    # the same roster again changes nothing
    again = await uploader.run(roster_csv(rows, crlf=True), mode="replace_roster")
    assert again["outcome"] == {
        "written": False,
        "enrolled": 0,
        "corrected": 0,
        "retracted": 0,
        "retracted_niks": [],
        "unchanged": 55,
        "left_across_period": 0,
        "left_across_period_niks": [],
        "invoice_total": 0,
    }
    await _ledger_is_sound(fresh_database)


async def test_two_committees_uploading_overlapping_rosters_at_once_cannot_both_win(
    uploader: Uploader, fresh_database: str
) -> None:
    bawaslu = await committed_key(
        fresh_database, name="test-bawaslu", role=Role.COMMITTEE, region="16.71", organisation="Bawaslu-16.71"
    )
    shared = [nik() for _ in range(300)]
    kpu_rows = [officer_row(p) for p in shared] + [officer_row() for _ in range(200)]
    bawaslu_rows = [officer_row(p, role="PTPS", term=("2024-02-10", "2024-02-20")) for p in shared]
    responses = await asyncio.gather(
        uploader.post(roster_csv(kpu_rows), policy="accept_valid"),
        uploader.post(roster_csv(bawaslu_rows), key=bawaslu, policy="accept_valid"),
    )
    assert [r.status_code for r in responses] == [202, 202]
    await uploader.app.state.upload_runner.wait_idle()
    kpu = await uploader.status(responses[0].json()["upload_id"])
    other = await uploader.status(responses[1].json()["upload_id"], key=bawaslu)
    # KPU has 200 officers of its own; Bawaslu, only shared ones, fails if it won none of them
    # (accept_valid with no valid row is a failure)
    assert kpu["status"] == "succeeded", kpu
    assert other["status"] == ("succeeded" if other["rows_accepted"] else "failed"), other
    # every shared NIK went to exactly one of them; the loser has a row error for each
    assert kpu["rows_rejected"] + other["rows_rejected"] == 300
    assert kpu["rows_accepted"] + other["rows_accepted"] == 500
    for person in shared[:20]:
        answer = await coverage_of(uploader.client, uploader.keys, person, "2024-02-15")
        assert answer["status"] == "covered" and len(answer["sources"]) == 1, answer
    await _ledger_is_sound(fresh_database)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["all_or_nothing", "accept_valid"])
async def test_a_100000_row_roster_with_three_bad_rows(uploader: Uploader, policy: str) -> None:
    rows = many_officers(100_000)
    rows[10][0] = "3.27101250190000E+15"
    rows[5000][4] = "KETUA"
    rows[99_000][7] = "2023-01-01"
    head = await uploader.head()
    status = await uploader.run(roster_csv(rows), policy=policy)
    errors = await uploader.errors(status["upload_id"])
    assert sorted(int(e["row"]) for e in errors) == [12, 5002, 99_002]
    if policy == "all_or_nothing":
        assert status["status"] == "failed" and await uploader.head() == head
    else:
        assert status["status"] == "succeeded"
        assert status["rows_accepted"] == len(rows) - 3


async def test_an_xlsx_roster_is_read_from_its_first_sheet(uploader: Uploader, tmp_path: Path) -> None:
    person = nik()
    good = officer_row(person)
    number = officer_row()
    content = roster_xlsx(
        tmp_path / "r.xlsx",
        [
            good,
            [float(number[0]), *number[1:]],
            [*officer_row()[:6], date(2024, 1, 25), "2024-02-23", "2024-01-15"],
        ],
    )
    status = await uploader.run(content, filename="roster.xlsx", policy="accept_valid")
    assert status["file_format"] == "xlsx"
    assert (status["rows_accepted"], status["rows_rejected"]) == (2, 1), status
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["code"]) for e in errors] == [("3", "nik_scientific_notation")]
    assert (await coverage_of(uploader.client, uploader.keys, person, "2024-02-01"))["status"] == "covered"


async def test_an_xlsx_with_a_formula_fails_naming_the_cell(uploader: Uploader, tmp_path: Path) -> None:
    """Cell B2 (the first officer's name) holds a formula: an error of row 2, column name."""
    content = roster_xlsx(tmp_path / "f.xlsx", [officer_row()], formula_at=(1, 1))
    status = await uploader.run(content, filename="roster.xlsx")
    assert (status["status"], status["rows_rejected"]) == ("failed", 1), status
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [("2", "name", "formula_cell")]


async def _race(
    sessionmaker: Any, monkeypatch: pytest.MonkeyPatch, late: uuid.UUID, early: uuid.UUID
) -> None:
    """`late` validates and writes its events, then waits at the append lock until `early` ran
    whole; it must then find `early`'s tx under the lock, roll back and decide again."""
    original = ledger_repository.take_append_lock
    arrivals: list[int] = []
    late_at_lock = asyncio.Event()
    early_done = asyncio.Event()

    async def gated(session: AsyncSession) -> int:
        arrivals.append(1)
        if len(arrivals) == 1:
            late_at_lock.set()
            await early_done.wait()
        return await original(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", gated)
    late_job = asyncio.create_task(run_upload(sessionmaker, upload_id=late, clock=utc_now))
    await late_at_lock.wait()
    await run_upload(sessionmaker, upload_id=early, clock=utc_now)
    early_done.set()
    await late_job
    assert len(arrivals) == 3, "the late job took the lock, found the early tx, rolled back, took it again"


async def _enrolments_in_force(sessionmaker: Any, niks: list[str]) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            text(
                "SELECT e.nik, e.payload->>'valid_from' FROM event_knowledge k "
                "JOIN ledger_event e ON e.event_id = k.event_id WHERE k.type = 'officer.enrolled' "
                "AND k.tx_to IS NULL AND k.nik = ANY(:niks) ORDER BY 1, 2"
            ),
            {"niks": niks},
        )
        return [(r[0], r[1]) for r in rows]


@pytest.mark.parametrize("policy", ["accept_valid", "all_or_nothing"])
async def test_a_roster_committed_between_validation_and_lock_is_caught_under_the_lock(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    shared = [nik() for _ in range(50)]
    first = tmp_path / "kpu.upload"
    first.write_bytes(roster_csv([officer_row(p) for p in shared] + [officer_row() for _ in range(20)]))
    second = tmp_path / "bawaslu.upload"
    second.write_bytes(
        roster_csv([officer_row(p, role="PTPS", term=("2024-02-10", "2024-02-20")) for p in shared])
    )
    engine = create_engine_for(fresh_database, pool_size=4)
    sessionmaker = session_factory(engine)
    now = utc_now()
    kpu = await submit_queued(sessionmaker, first, "KPU-16.71", policy, now)
    bawaslu = await submit_queued(sessionmaker, second, "Bawaslu-16.71", policy, now)
    await _race(sessionmaker, monkeypatch, late=kpu, early=bawaslu)
    async with sessionmaker() as session:
        won = await stored_upload(session, bawaslu)
        lost = await stored_upload(session, kpu)
    in_force = await _enrolments_in_force(sessionmaker, shared)
    await engine.dispose()
    assert won.status == "succeeded" and won.rows_accepted == 50
    assert lost.rows_rejected == 50
    assert in_force == [(p, "2024-02-10") for p in sorted(shared)]  # Bawaslu's, one each
    if policy == "accept_valid":
        assert (lost.status, lost.rows_accepted) == ("succeeded", 20)
        assert lost.tx_seq == won.tx_seq + 1
    else:
        assert (lost.status, lost.tx_seq) == ("failed", None)
    await _ledger_is_sound(fresh_database)


async def test_two_replacements_of_one_roster_racing_leave_one_enrolment_per_officer(
    fresh_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = [nik() for _ in range(10)]
    engine = create_engine_for(fresh_database, pool_size=4)
    sessionmaker = session_factory(engine)
    now = utc_now()
    files = {}
    for name, start in [("base", "2024-01-25"), ("early", "2024-01-22"), ("late", "2024-01-20")]:
        files[name] = tmp_path / f"{name}.upload"
        files[name].write_bytes(roster_csv([officer_row(p, term=(start, "2024-02-23")) for p in people]))
    base = await submit_queued(sessionmaker, files["base"], "KPU-16.71", "all_or_nothing", now)
    await run_upload(sessionmaker, upload_id=base, clock=utc_now)
    early = await submit_queued(
        sessionmaker, files["early"], "KPU-16.71", "all_or_nothing", now, "replace_roster"
    )
    late = await submit_queued(
        sessionmaker, files["late"], "KPU-16.71", "all_or_nothing", now, "replace_roster"
    )
    await _race(sessionmaker, monkeypatch, late=late, early=early)
    async with sessionmaker() as session:
        last = await stored_upload(session, late)
    in_force = await _enrolments_in_force(sessionmaker, people)
    await engine.dispose()
    assert last.status == "succeeded" and last.outcome["corrected"] == 10
    assert in_force == [(p, "2024-01-20") for p in sorted(people)]
    await _ledger_is_sound(fresh_database)


async def test_a_roster_row_in_a_region_on_days_its_decree_does_not_give_the_code_is_refused(
    uploader: Uploader,
) -> None:
    """Found by a region probe: a roster accepted a 2019 term in a district of a 2022 decree, and
    a 2025 term in one retired at the start of 2025 (the officer then counted in no region), where
    `POST /v1/events` refuses both with `region_not_in_force`."""
    later = {"code": "16.71.97", "name": "Kecamatan Baru", "valid_from": "2022-07-25"}
    retired = {"code": "16.71.98", "name": "Kecamatan Lama", "valid_to": "2025-01-01"}
    definitions = [
        {"event_id": f"def-{d['code']}", "type": "region.defined", "decree": "Permendagri 1/2022"} | d
        for d in (later, retired)
    ]
    response = await uploader.client.post(
        "/v1/events", json={"events": definitions}, headers=Keys.header(uploader.keys.admin)
    )
    assert response.status_code == 200, response.text
    rows = [
        officer_row(region="16.71.97", term=("2019-04-01", "2019-04-30"), registered_on="2019-03-01"),
        officer_row(region="16.71.98", term=("2025-01-25", "2025-02-23"), registered_on="2025-01-02"),
        officer_row(region="16.71.98", term=("2024-12-01", "2025-01-05"), registered_on="2024-11-02"),
        officer_row(region="16.71.97", term=("2024-01-25", "2024-02-23")),  # both in force then
        officer_row(region="16.71.98", term=("2024-01-25", "2024-02-23")),
        # the last day the code exists (term_end is inclusive, the definition's valid_to is not)
        officer_row(region="16.71.98", term=("2024-12-01", "2024-12-31"), registered_on="2024-11-02"),
    ]
    status = await uploader.run(roster_csv(rows), policy="accept_valid")
    assert (status["rows_accepted"], status["rows_rejected"]) == (3, 3), status
    errors = await uploader.errors(status["upload_id"])
    assert [(e["row"], e["column"], e["code"]) for e in errors] == [
        (str(row), "region_code", "region_not_in_force") for row in (2, 3, 4)
    ]
    assert "16.71.97 does not exist on every day" in errors[0]["message"]


async def test_a_roster_fails_when_a_region_it_names_is_retracted_while_it_is_checked(
    uploader: Uploader, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: the rows' regions were read once, when the file was staged, and a
    retraction committed before the roster's tx left its officers in a code with no definition."""
    definition = {
        "event_id": "def-16.71.93",
        "type": "region.defined",
        "code": "16.71.93",
        "name": "Kecamatan Baru",
        "decree": "Permendagri 1/2022",
    }
    admin = Keys.header(uploader.keys.admin)
    assert (await uploader.client.post("/v1/events", json={"events": [definition]}, headers=admin)).is_success
    retraction = {"event_id": "retract-16.71.93", "type": "event.corrected", "supersedes": ["def-16.71.93"]}
    take_lock = ledger_repository.take_append_lock
    retracted: list[int] = []

    async def retracting_first(session: AsyncSession) -> int:
        if not retracted:  # (the retraction takes the lock too: it goes through here once more)
            retracted.append(1)
            response = await uploader.client.post(
                "/v1/events", json={"events": [retraction | {"reason": "typo"}]}, headers=admin
            )
            assert response.status_code == 200, response.text
        return await take_lock(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", retracting_first)
    status = await uploader.run(roster_csv([officer_row(region="16.71.93"), officer_row()]))
    assert status["status"] == "failed" and status["problem"]["code"] == "regions_changed", status
    assert retracted == [1]
    head = await uploader.head()
    monkeypatch.undo()
    again = await uploader.run(
        roster_csv([officer_row(region="16.71.93"), officer_row()]), policy="accept_valid"
    )
    assert (again["rows_accepted"], again["rows_rejected"]) == (1, 1), again
    assert await uploader.head() == head + 1


async def test_a_roster_checked_while_the_officer_rate_changed_is_invoiced_at_the_new_rate(
    uploader: Uploader, fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a probe: the invoice was priced by the rules read before the append lock, so a
    rate corrected while the roster was checked billed the old rate, and a later retraction of
    those officers credited the new one (the README: the rules as known at the upload's tx)."""
    rate = OFFICER_RATES[0]
    corrected_rate = {
        "event_id": "rate-corrected",
        "type": "event.corrected",
        "supersedes": [f"rules:bpu-2025:{rate.rule_id}"],
        "reason": "test",
        "replacement": {
            "event_id": "rate-20000",
            "type": "rule.defined",
            "rule_id": rate.rule_id,
            "kind": "officer_rate",
            "parameters": officer_rate_parameters(rate) | {"monthly_rate": 20_000},
            "regulation": "test",
            "source": "test",
        },
    }
    original = ledger_repository.take_append_lock
    changed: list[int] = []

    async def rate_changed_meanwhile(session: AsyncSession) -> int:
        if not changed:
            changed.append(0)  # (the correction's own append takes the lock through here too)
            await append_committed(fresh_database, [corrected_rate])
        return await original(session)

    monkeypatch.setattr(ledger_repository, "take_append_lock", rate_changed_meanwhile)
    status = await uploader.run(roster_csv([officer_row() for _ in range(3)]))
    assert changed and status["status"] == "succeeded", status
    assert status["outcome"]["invoice_total"] == 3 * 2 * 20_000, status["outcome"]  # two months each
