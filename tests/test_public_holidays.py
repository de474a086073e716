"""Public holidays and cuti bersama: the days a claim's service time ("hari kerja") skips, kept in
the ledger as a rule per year and corrected like any other rule."""

from datetime import UTC, date, datetime
from typing import Any, cast

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.benefit_table import benefit_table
from coverage_ledger.ledger import asof_repository, projections_repository
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from coverage_ledger.reference import benefit_rules, public_holidays, rules
from coverage_ledger.reference.benefit_rules import benefit_rule_events
from coverage_ledger.reference.genesis import ensure_reference_data
from coverage_ledger.reference.public_holidays import DATASET, holiday_events, holiday_parameters
from tests.claims_support import append, approved, claim, filed, kpps_2024, paid, post
from tests.support import Keys, corrected

HOLIDAYS_2024 = f"{DATASET}:holidays-2024"


def test_the_2024_calendar_holds_lebaran_and_its_cuti_bersama() -> None:
    days = {d["date"]: d for d in cast(list[dict[str, Any]], holiday_parameters(2024)["days"])}
    assert days["2024-04-10"]["category"] == "public"  # Hari Raya Idul Fitri
    assert days["2024-04-11"]["category"] == "public"
    for joint in ("2024-04-08", "2024-04-09", "2024-04-12", "2024-04-15"):
        assert days[joint]["category"] == "joint_leave"
    assert days["2024-08-17"]["name"] == "Hari Kemerdekaan Republik Indonesia"
    assert days["2024-02-14"]["category"] == "public"  # election day
    assert all(d["estimated"] == 0 for d in days.values())
    assert "2024-04-16" not in days


def test_every_shipped_year_is_in_the_table_and_moves_due_dates() -> None:
    events = [e.model_dump(mode="json") for e in [*benefit_rule_events(), *holiday_events()]]
    table = benefit_table(events)
    assert {d.year for d in table.days_off} == set(range(2015, 2028))
    # complete on Friday 5 April 2024: Lebaran (10 and 11 April) is skipped, its cuti bersama
    # (8, 9 and 12 April) count as working days
    assert table.due_on("JKM", date(2024, 4, 5)) == date(2024, 4, 12)
    without = benefit_table(e for e in events if e["kind"] != "public_holidays")
    assert without.due_on("JKM", date(2024, 4, 5)) == date(2024, 4, 10)
    # JKK: seven working days from Thursday 19 December 2024 skip Christmas Day only
    assert table.due_on("JKK", date(2024, 12, 19)) == date(2024, 12, 31)
    assert without.due_on("JKK", date(2024, 12, 19)) == date(2024, 12, 30)


async def test_a_claim_complete_before_lebaran_is_due_after_it_and_a_corrected_calendar_moves_it(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("C-lebaran", person, incident="2024-02-14", filed_on="2024-04-01", complete_on="2024-04-05"),
        approved("C-lebaran", "2024-04-05"),
    )
    await append(client, keys.office, paid("C-lebaran", 42_000_000, "2024-04-18"))
    body = await claim(client, keys.office, "C-lebaran")
    assert body["due_date"] == "2024-04-12"
    assert (body["late"], body["days_late"], body["penalty_amount"]) == (True, 6, 2_520_000)
    before_correction = body["as_of"]["tx_seq"]

    # the calendar is corrected: the offices were closed over the April cuti bersama
    rule = next(e for e in holiday_events() if e.event_id == HOLIDAYS_2024).model_dump(mode="json")
    rule["event_id"] = "holidays-2024-fixed"
    for day in rule["parameters"]["days"]:
        if day["date"].startswith("2024-04"):
            day["category"] = "public"
    await append(client, keys.admin, corrected("fix-2024", [HOLIDAYS_2024], replacement=rule))
    now = await claim(client, keys.office, "C-lebaran")
    assert now["due_date"] == "2024-04-18"  # 8 to 15 April off: 16, 17 and 18 April count
    assert (now["late"], now["days_late"], now["penalty_amount"]) == (False, 0, 0)
    then = await claim(client, keys.office, "C-lebaran", known_at=f"tx:{before_correction}")
    assert (then["due_date"], then["late"]) == ("2024-04-12", True)
    # the list follows the corrected calendar too, and the log rebuilds it so
    assert await _listed_due(client, keys, known_at=None) == "2024-04-18"
    assert await _listed_due(client, keys, known_at=f"tx:{before_correction}") == "2024-04-12"
    assert await rebuild_check(session) == []


async def _listed_due(client: AsyncClient, keys: Keys, *, known_at: str | None) -> str:
    params = {"known_at": known_at} if known_at else {}
    response = await client.get("/v1/claims", params=params, headers=Keys.header(keys.office))
    assert response.status_code == 200, response.text
    (item,) = [i for i in response.json()["items"] if i["claim_id"] == "C-lebaran"]
    due: str = item["due_date"]
    return due


async def test_a_claim_due_in_a_year_without_its_holidays_says_so(client: AsyncClient, keys: Keys) -> None:
    person = await kpps_2024(client, keys)
    await append(
        client,
        keys.office,
        filed("C-nocal", person, incident="2024-02-14", filed_on="2024-04-01", complete_on="2024-04-05"),
        approved("C-nocal", "2024-04-05"),
    )
    assert "holidays_not_in_the_rule_table" not in (await claim(client, keys.office, "C-nocal"))["flags"]
    await append(client, keys.admin, corrected("drop-2024", [HOLIDAYS_2024], reason="withdrawn"))
    body = await claim(client, keys.office, "C-nocal")
    assert body["due_date"] == "2024-04-10"  # weekends only: Lebaran unknown
    assert "holidays_not_in_the_rule_table" in body["flags"]


async def test_a_holiday_outside_the_year_it_names_is_refused(client: AsyncClient, keys: Keys) -> None:
    rule = {
        "event_id": "holidays-stray",
        "type": "rule.defined",
        "rule_id": "holidays-2030",
        "kind": "public_holidays",
        "parameters": {
            "year": 2030,
            "days": [{"date": "2031-01-01", "name": "Tahun Baru", "category": "public"}],
        },
        "regulation": "SKB",
        "source": "test",
    }
    response = await post(client, keys.admin, rule)
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("malformed_rule", "events[0].parameters")
    assert "2031-01-01" in error["message"]
    rule["parameters"] = {"year": 2030, "days": [{"date": "2030-01-01", "name": "x", "category": "closed"}]}
    response = await post(client, keys.admin, rule)
    assert response.status_code == 422, response.text
    assert "neither public nor joint_leave" in response.json()["errors"][0]["message"]
    rule["parameters"] = {"year": 2030, "days": [{"date": "2030-01-01", "name": "Tahun Baru Masehi"}]}
    assert (await post(client, keys.admin, rule)).status_code == 200  # no category: a public holiday


async def test_a_second_calendar_for_a_year_is_refused_and_a_correction_is_the_way(
    client: AsyncClient, keys: Keys
) -> None:
    rule = next(e for e in holiday_events() if e.event_id == HOLIDAYS_2024).model_dump(mode="json")
    response = await post(client, keys.admin, rule | {"event_id": "holidays-2024-again"})
    assert response.status_code == 409, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("holiday_year_defined", "events[0].parameters")
    assert HOLIDAYS_2024 in error["message"]
    twice = [
        {**rule, "event_id": f"holidays-2030-{n}", "parameters": {"year": 2030, "days": []}} for n in (1, 2)
    ]
    response = await post(client, keys.admin, *twice)
    assert response.status_code == 409 and response.json()["errors"][0]["field"] == "events[1].parameters"


async def test_a_release_with_more_years_writes_only_those_the_ledger_lacks(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(public_holidays, "YEARS", range(2015, 2030))
    admins = holiday_events()[-1].model_dump(mode="json") | {"event_id": "admins-2029"}
    await _append_as_system(session, {"events": [admins]})
    written = await ensure_reference_data(session)
    assert len(written) == 1
    (tx,) = written
    events = await ledger_repository.events_by_id(
        session, [f"{DATASET}:holidays-2028", f"{DATASET}:holidays-2029"]
    )
    assert set(events) == {f"{DATASET}:holidays-2028"} and events[f"{DATASET}:holidays-2028"].tx_seq == tx
    assert await ensure_reference_data(session) == []  # nothing is missing any more


async def test_a_years_calendar_corrected_reviews_only_the_claims_due_near_that_year(
    client: AsyncClient, keys: Keys, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    near, far = await kpps_2024(client, keys), await kpps_2024(client, keys)
    for claim_id, person, complete_on in (("C-near", near, "2024-04-05"), ("C-far", far, "2026-06-01")):
        await append(
            client,
            keys.office,
            filed(claim_id, person, incident="2024-02-14", filed_on=complete_on, complete_on=complete_on),
            approved(claim_id, complete_on),
        )
    rule = next(e for e in holiday_events() if e.event_id == HOLIDAYS_2024).model_dump(mode="json")
    rule["event_id"] = "holidays-2024-closed"
    for day in rule["parameters"]["days"]:
        day["category"] = "public"
    with caplog.at_level("INFO", logger="coverage_ledger.ledger.service"):
        await append(client, keys.admin, corrected("fix-2024", [HOLIDAYS_2024], replacement=rule))
    assert any("1 claim(s) reviewed again" in r.getMessage() for r in caplog.records), caplog.text
    assert (await claim(client, keys.office, "C-near"))["due_date"] == "2024-04-18"
    assert await rebuild_check(session) == []  # reviewing every claim finds nothing else moved


async def test_a_release_into_a_ledger_answered_for_writes_its_years_now_not_as_genesis(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger holding only genesis takes a release's new data as genesis, stamped just after
    it; once a read has answered for the ledger as known later (asof), that stamp would change
    the answer, so the data is recorded now instead, as into a ledger holding events."""
    monkeypatch.setattr(public_holidays, "YEARS", range(2015, 2030))
    await asof_repository.mark_answered(session, until=datetime(2025, 1, 1, tzinfo=UTC))
    (tx,) = await ensure_reference_data(session)
    header = (
        await session.execute(
            text("SELECT source, backfill, recorded_at FROM ledger_tx WHERE tx_seq = :n"), {"n": tx}
        )
    ).one()
    assert header.source == f"reference:{DATASET}" and not header.backfill, header
    assert header.recorded_at > datetime(2025, 1, 1, tzinfo=UTC)


async def test_a_rule_added_to_the_shipped_table_reaches_a_ledger_written_before_it(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 5-year JKK deadline for accidents from PP 82/2019 on was shipped after the benefit
    rules' first release: a ledger holding only the first release's JKK deadline gets it at db
    upgrade (here: under an id the test ledger lacks, the shipped one retracted), and nothing else
    again; a ledger with other JKK deadlines in force (an admin's) is left alone."""
    monkeypatch.setattr(benefit_rules, "PP82_DEADLINE_ID", "claim-deadline-jkk-pp82-2019-test")
    assert await ensure_reference_data(session) == [], "the shipped PP 82 deadline is in force: left alone"
    shipped = f"{benefit_rules.DATASET}:claim-deadline-jkk-pp82-2019"
    await _append_as_system(
        session,
        {
            "events": [
                {
                    "event_id": "as-first-released",
                    "type": "event.corrected",
                    "supersedes": [shipped],
                    "reason": "test",
                }
            ]
        },
    )
    (tx,) = await ensure_reference_data(session)
    written = (
        (
            await session.execute(
                text(
                    "SELECT e.event_id FROM ledger_event e JOIN ledger_tx t ON t.tx_id = e.tx_id "
                    "WHERE t.tx_seq = :n"
                ),
                {"n": tx},
            )
        )
        .scalars()
        .all()
    )
    assert written == [f"{benefit_rules.DATASET}:claim-deadline-jkk-pp82-2019-test"]
    assert await ensure_reference_data(session) == []


async def test_a_ledger_written_before_the_jht_minimum_gets_it_by_a_correction(session: AsyncSession) -> None:
    """The shipped BPU rates gained their JHT minimum after their first release: a ledger holding
    the rates without it gets them corrected at db upgrade; one holding other rates is left alone."""
    (shipped,) = rules.BPU_RATES
    in_force = await projections_repository.rules_in_force(session, kind="bpu_rates")
    ((event_id, payload),) = in_force.items()
    assert payload["rule_id"] == shipped.rule_id
    old = {k: v for k, v in payload["parameters"].items() if k != "jht_minimum"}
    before = payload | {"event_id": "rates-as-first-shipped", "type": "rule.defined", "parameters": old}
    await _append_as_system(
        session,
        {
            "events": [
                {
                    "event_id": "back-to-first",
                    "type": "event.corrected",
                    "supersedes": [event_id],
                    "replacement": before,
                    "reason": "test: the rates of an older release",
                }
            ]
        },
    )
    savepoint = await session.begin_nested()
    admins = before | {
        "event_id": "admins-2030-rates",
        "rule_id": "admins-2030",
        "parameters": old | {"months_from": "2030-01"},
    }
    await _append_as_system(session, {"events": [admins]})
    assert await ensure_reference_data(session) == [], "an admin's rates in force too: theirs to amend"
    await savepoint.rollback()
    (tx,) = await ensure_reference_data(session)
    now_in_force = await projections_repository.rules_in_force(session, kind="bpu_rates")
    assert [p["parameters"].get("jht_minimum") for p in now_in_force.values()] == [20_000]
    assert await ensure_reference_data(session) == [], "written once"
    assert tx > 0


async def _append_as_system(session: AsyncSession, request: dict[str, Any]) -> None:
    """Append a request's events through the service, as the system (`db upgrade` does)."""
    await append_events(
        session,
        principal=SYSTEM,
        events=AppendRequest.model_validate(request).events,
        source="test",
        now=datetime.now(UTC),
    )
