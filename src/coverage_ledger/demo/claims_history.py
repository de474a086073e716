"""The Pemilu 2024 claims of the demo: 44 ad hoc officers or their heirs, 35 JKM and 9 JKK cases,
paid Rp2.57 billion in all (facts.md: "Pemilu Usai, BPJS Ketenagakerjaan Salurkan Santunan
Rp2,57 M ke 44 KPPS"). No total is typed in: each claim's amount is what the shipped benefit
rules give for its incident date and wage, and the ledger refuses a payment above it.

The sources do not list the cases. The wages are the Pemilu 2024 honoraria of each role (Surat
Menkeu S-647/MK.02/2022: PPK chair Rp2.5 million, member Rp2.2 million; PPS chair Rp1.5 million,
member Rp1.3 million; KPPS chair Rp1.2 million, member Rp1.1 million); the roles of the nine
work-accident deaths are the demo's choice, one that makes the rules reproduce the reported total
(Rp2,565,600,000, which the press rounded to Rp2.57 billion). One JKK case is the facts file's
KPPS registered on 13 February who died on duty the next day, with two children's scholarship
recorded as a yearly entitlement (Rp174 million, not part of the payout).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from coverage_ledger.domain.benefit_table import benefit_table
from coverage_ledger.domain.claim_benefit import Filing, Membership, assess
from coverage_ledger.domain.service_time import working_days_after
from coverage_ledger.domain.timeframes import JAKARTA
from coverage_ledger.reference.benefit_rules import benefit_rule_events
from coverage_ledger.reference.public_holidays import holiday_events

TERMS = {
    "KPPS": ("2024-01-25", "2024-02-24"),
    "PPS": ("2023-01-17", "2024-04-05"),
    "PPK": ("2023-01-04", "2024-04-05"),
}
"""Pemilu 2024 terms from facts.md, valid_to exclusive."""


@dataclass(frozen=True, slots=True)
class Case:
    """One claim of the demo."""

    role: str
    wage: int
    benefit: str
    incident: date
    registered_on: date | None = None
    children: tuple[str, ...] = ()


def cases() -> list[Case]:
    """The 44 cases: 35 JKM deaths (illness, mostly KPPS) and 9 deaths from work accidents."""
    jkm = [
        Case(role, wage, "JKM", incident)
        for role, wage, incident in (
            *(("KPPS", 1_100_000, date(2024, 2, 10 + i % 14)) for i in range(25)),
            *(("KPPS", 1_200_000, date(2024, 2, 12 + i % 11)) for i in range(5)),
            *(("PPS", 1_300_000, date(2024, 2, 20 + i)) for i in range(3)),
            *(("PPK", 2_200_000, date(2024, 3, 1 + 3 * i)) for i in range(2)),
        )
    ]
    jkk = [
        Case("KPPS", 1_200_000, "JKK_DEATH", date(2024, 2, 14), date(2024, 2, 13), ("TK", "TK")),
        Case("KPPS", 1_200_000, "JKK_DEATH", date(2024, 2, 15)),
        *(Case("PPK", 2_500_000, "JKK_DEATH", date(2024, 2, 16 + 2 * i)) for i in range(3)),
        *(Case("PPK", 2_200_000, "JKK_DEATH", date(2024, 2, 17 + 2 * i)) for i in range(4)),
    ]
    return jkm + jkk


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=JAKARTA)


def claim_events(
    districts: Sequence[str], new_person: Callable[[str, str], tuple[str, dict[str, Any]]]
) -> list[tuple[datetime, str, list[dict[str, Any]]]]:
    """(recorded_at, label, events) of the claim officers' rosters and of their claims.

    `new_person(district, name)`: a fresh NIK and its `person.registered` event."""
    table = benefit_table(e.model_dump(mode="json") for e in [*benefit_rule_events(), *holiday_events()])
    off = table.days_off
    steps: dict[datetime, list[dict[str, Any]]] = {}
    labels: dict[datetime, str] = {}
    for number, case in enumerate(cases(), start=1):
        district = districts[number % len(districts)]
        nik, person = new_person(district, f"Petugas {case.role} {number}")
        claim_id = f"BPJSTK-2024-{number:03d}"
        valid_from, valid_to = TERMS[case.role]
        registered_on = case.registered_on or date.fromisoformat(valid_from) - timedelta(days=3)
        roster_at = _at(max(registered_on, date(2024, 1, 22)), 17)
        labels[roster_at] = "rosters of officers who later claimed"
        steps.setdefault(roster_at, []).extend(
            [
                person,
                {
                    "event_id": f"demo:{nik}:{case.role.lower()}2024",
                    "type": "officer.enrolled",
                    "nik": nik,
                    "role": case.role,
                    "committee": f"KPU-{district[:5]}",
                    "region_code": district,
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "registered_on": registered_on.isoformat(),
                },
            ]
        )
        filed_on = case.incident + timedelta(days=6)
        complete_on = working_days_after(filed_on, 2, off)
        filing = Filing(claim_id, nik, case.benefit, case.incident, filed_on, complete_on, wage=case.wage)
        amount = assess(filing, table, Membership()).amount
        program = "JKM" if case.benefit == "JKM" else "JKK"
        late = number in (7, 40)  # two claims paid after their service time
        paid_on = working_days_after(complete_on, (2 if program == "JKM" else 5) + (4 if late else 0), off)
        filed = {
            "event_id": f"demo:{claim_id}:filed",
            "type": "claim.filed",
            "claim_id": claim_id,
            "nik": nik,
            "benefit": case.benefit,
            "incident_date": case.incident.isoformat(),
            "filed_on": filed_on.isoformat(),
            "complete_on": complete_on.isoformat(),
            "wage": case.wage,
            "children": [{"level": level} for level in case.children],
        }
        decided_on = working_days_after(complete_on, 1, off)
        for day, event in (
            (complete_on, filed),  # recorded once its documents are complete, a fact by then
            (
                decided_on,
                {"event_id": f"demo:{claim_id}:approved", "type": "claim.approved", "claim_id": claim_id}
                | {"decided_on": decided_on.isoformat()},
            ),
            (paid_on, _paid(claim_id, amount, paid_on, "paid")),
        ):
            steps.setdefault(_at(day, 15), []).append(event)
            labels.setdefault(_at(day, 15), f"claims of {day.isoformat()}")
        if number == 3:  # paid to a closed account: reversed, then paid again
            back = working_days_after(paid_on, 2, off)
            steps.setdefault(_at(back, 15), []).append(
                {
                    "event_id": f"demo:{claim_id}:reversed",
                    "type": "claim.reversed",
                    "claim_id": claim_id,
                    "reason": "returned by the bank: the heir's account was closed",
                    "payment_event_id": f"demo:{claim_id}:paid",
                    "reversed_on": back.isoformat(),
                }
            )
            again = working_days_after(back, 1, off)
            steps.setdefault(_at(again, 15), []).append(_paid(claim_id, amount, again, "paid-again"))
            labels.setdefault(_at(back, 15), f"claims of {back.isoformat()}")
            labels.setdefault(_at(again, 15), f"claims of {again.isoformat()}")
    return [(at, labels[at], steps[at]) for at in sorted(steps)]


def _paid(claim_id: str, amount: int, day: date, tag: str) -> dict[str, Any]:
    return {
        "event_id": f"demo:{claim_id}:{tag}",
        "type": "claim.paid",
        "claim_id": claim_id,
        "amount": amount,
        "paid_on": day.isoformat(),
    }
