"""A BPU member's early death: the months of "active & paying" are those paid by the incident day,
a rule of the ledger that reaches older ledgers by a correction and moves no claim decided before."""

from datetime import UTC, datetime
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.domain.benefit_table import jkm_parameters
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger import repository as ledger_repository
from coverage_ledger.ledger.rebuild import rebuild_check
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events
from coverage_ledger.reference.benefit_rules import DATASET, EARLY_DEATH_CORRECTION_ID, JKM_RULES
from coverage_ledger.reference.genesis import ensure_reference_data
from tests.claims_support import append, approved, claim, filed
from tests.support import Keys, corrected, enrolled_bpu, nik, registered
from tests.support import paid as contribution

PP82 = next(r for r in JKM_RULES if r.rule_id == "jkm-pp82-2019")


def _as_first_released(parameters: dict[str, Any]) -> dict[str, Any]:
    """A JKM rule's parameters as the first release of the table wrote them."""
    return {k: v for k, v in parameters.items() if k != "early_informal_counts"}


async def _member_who_died_with_arrears_paid_after(client: AsyncClient, keys: Keys, claim_id: str) -> str:
    """Joined 15 Jan 2025 and paid January only; died 20 April; the heirs paid February to April
    on 28 April, and filed the claim the next day (not decided)."""
    person = nik()
    january = contribution(
        person, event_id=f"jan-{person}", months=("2025-01", "2025-01"), amount=16_800, paid_on="2025-01-20"
    )
    heirs = contribution(
        person,
        event_id=f"heirs-{person}",
        months=("2025-02", "2025-04"),
        amount=3 * 16_800,
        paid_on="2025-04-28",
    )
    await append(
        client,
        keys.office,
        registered(person),
        enrolled_bpu(person, event_id=f"bpu-{person}", valid_from="2025-01-15"),
        january,
    )
    await append(
        client, keys.office, heirs, filed(claim_id, person, incident="2025-04-20", filed_on="2025-04-29")
    )
    return person


async def test_arrears_the_heirs_pay_after_an_early_death_do_not_make_up_the_months(
    client: AsyncClient, keys: Keys
) -> None:
    """Found by an audit against facts.md ('full 42jt after >3 months active & paying'): the cover
    is restored by the heirs' payment, but the member was "active & paying" for one month."""
    await _member_who_died_with_arrears_paid_after(client, keys, "E-heirs")
    body = await claim(client, keys.office, "E-heirs")
    assert body["covered_on_incident"] is True
    assert body["payable_amount"] == 10_000_000, body["breakdown"]
    assert body["rule"]["rule_id"] == "jkm-pp82-2019"


async def test_a_jkm_rule_counting_early_months_some_other_way_is_422_naming_it(
    client: AsyncClient, keys: Keys
) -> None:
    rule = {
        "event_id": "jkm-odd-count",
        "type": "rule.defined",
        "rule_id": "jkm-odd-count",
        "kind": "jkm_benefit",
        "parameters": jkm_parameters(PP82) | {"early_informal_counts": "months_enrolled"},
        "regulation": "none",
        "source": "test",
    }
    response = await client.post("/v1/events", json={"events": [rule]}, headers=Keys.header(keys.admin))
    assert response.status_code == 422, response.text
    error = response.json()["errors"][0]
    assert (error["code"], error["field"]) == ("malformed_rule", "events[0].parameters.early_informal_counts")
    assert "months_paid_by_incident" in error["message"]


async def _append_as_system(session: AsyncSession, *events: dict[str, Any]) -> None:
    await append_events(
        session,
        principal=SYSTEM,
        events=AppendRequest.model_validate({"events": list(events)}).events,
        source="test",
        now=datetime.now(UTC),
    )


def _jkm_as(rule_id: str, parameters: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "rule.defined",
        "rule_id": rule_id,
        "kind": "jkm_benefit",
        "parameters": parameters,
        "regulation": "as shipped",
        "source": "test",
    }


async def test_a_ledger_of_the_first_release_gets_the_rule_and_keeps_its_decided_claims(
    client: AsyncClient, keys: Keys, session: AsyncSession
) -> None:
    """A ledger holding the JKM rules as first shipped counted the heirs' arrears: a claim approved
    under them keeps its Rp42 million after db upgrade corrects the rule; a claim filed before and
    decided after it is judged on the months paid by the death (the list shows the amount its
    filing fixed until then)."""
    await _append_as_system(
        session,
        *(
            corrected(
                f"{r.rule_id}-back-to-first",
                [f"{DATASET}:{r.rule_id}"],
                replacement=_jkm_as(r.rule_id, _as_first_released(jkm_parameters(r)), f"{r.rule_id}-first"),
            )
            for r in JKM_RULES
        ),
    )
    await session.commit()
    await _member_who_died_with_arrears_paid_after(client, keys, "E-decided")
    await append(client, keys.office, approved("E-decided", "2025-04-30"))
    await _member_who_died_with_arrears_paid_after(client, keys, "E-open")
    assert (await claim(client, keys.office, "E-decided"))["payable_amount"] == 42_000_000
    assert (await claim(client, keys.office, "E-open"))["payable_amount"] == 42_000_000

    (tx,) = await ensure_reference_data(session)
    await session.commit()
    in_force = await projections_repository.rules_in_force(session, kind="jkm_benefit")
    held = {p["rule_id"]: p["parameters"] for p in in_force.values()}
    assert held == {
        r.rule_id: jkm_parameters(r) if r is PP82 else _as_first_released(jkm_parameters(r))
        for r in JKM_RULES
    }
    assert await ensure_reference_data(session) == [], "written once"

    decided = await claim(client, keys.office, "E-decided")
    assert decided["payable_amount"] == 42_000_000, "approved before the correction: its amount stands"
    assert "current_rules_give_another_amount" in decided["flags"]
    assert (await claim(client, keys.office, "E-open"))["payable_amount"] == 10_000_000
    before = await claim(client, keys.office, "E-open", known_at=f"tx:{tx - 1}")
    assert before["payable_amount"] == 42_000_000, "as known before the correction, as answered then"
    listed = await client.get("/v1/claims", headers=Keys.header(keys.office))
    anchored = {item["claim_id"]: item["payable_amount"] for item in listed.json()["items"]}
    assert anchored == {"E-decided": 42_000_000, "E-open": 42_000_000}, "as the filing fixed it"
    await append(client, keys.office, approved("E-open", "2026-01-05"))
    listed = await client.get("/v1/claims", headers=Keys.header(keys.office))
    amounts = {item["claim_id"]: item["payable_amount"] for item in listed.json()["items"]}
    assert amounts == {"E-decided": 42_000_000, "E-open": 10_000_000}
    assert await rebuild_check(session) == []


async def test_a_ledger_with_an_admins_jkm_rules_is_left_to_the_admin(session: AsyncSession) -> None:
    shipped = f"{DATASET}:{PP82.rule_id}"
    admins = _jkm_as(
        PP82.rule_id, _as_first_released(jkm_parameters(PP82)) | {"lump_sum": 25_000_000}, "jkm-admins"
    )
    await _append_as_system(session, corrected("jkm-by-an-admin", [shipped], replacement=admins))
    assert await ensure_reference_data(session) == []
    assert await ledger_repository.events_by_id(session, [EARLY_DEATH_CORRECTION_ID]) == {}
    in_force = await projections_repository.rules_in_force(session, kind="jkm_benefit")
    assert [p["parameters"]["lump_sum"] for p in in_force.values() if p["rule_id"] == PP82.rule_id] == [
        25_000_000
    ]
