"""The rule table shipped with a release: BPU contribution rates, reliefs and the grace length,
each with its regulation and source. Figures the sources disagree on are marked `uncertain`.

These are the values genesis writes into the ledger; answers use the rules as known at their
`known_at`, so a later correction of a figure is an ordinary, dated tx.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.contributions import BpuRates, Relief
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.officer import OfficerRate
from coverage_ledger.domain.rule_table import officer_rate_parameters, rates_parameters, relief_parameters
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.schemas import AppendableEvent, AppendRequest, RuleDefined


@dataclass(frozen=True, slots=True)
class Sourced:
    """Where a rule comes from."""

    regulation: str
    source: str
    uncertain: str | None = None
    """What the sources disagree on, when they do."""


BPU_RATES = (
    BpuRates(
        rule_id="bpu-rates-pp44-2015",
        months_from=Month(2015, 7),
        months_to=None,
        jkk_rate_bp=100,
        jkk_minimum=10_000,
        jkk_maximum=207_000,
        jkm_flat=6_800,
        jht_rate_bp=200,
        regulation="PP 44/2015 Lampiran II (BPU), as amended by PP 82/2019 and PP 49/2023",
        jht_minimum=20_000,
    ),
)
BPU_RATES_SOURCES = {
    "bpu-rates-pp44-2015": Sourced(
        regulation="PP 44/2015",
        source="star.grid.id/amp/453740395 (JKK 1%, JHT 2%, JKM Rp6,800); en.antaranews.com/news/251169 "
        "(minimum JKK+JKM Rp16,800; + JHT Rp20,000 => Rp36,800); radarmukomuko 666514 (JKK minimum "
        "Rp10,000, maximum Rp207,000)",
        uncertain="JKK maximum Rp207,000 is stated by one source only; the JHT minimum is read from the "
        "minimum total with JHT (2% of the lowest income, Rp1,000,000, as JKK's Rp10,000 is 1%)",
    )
}

RELIEFS = (
    Relief(
        rule_id="relief-pp49-2020",
        months_from=Month(2020, 8),
        months_to=Month(2021, 1),
        discount_bp=9_900,
        programs=("JKK", "JKM"),
        sectors=None,
        excluded_budgets=(),
        requires_paid_through=Month(2020, 7),
        new_member_full_months=2,
        regulation="PP 49/2020 Pasal 9 (Covid-19 relief)",
    ),
    Relief(
        rule_id="relief-pp50-2025-transport",
        months_from=Month(2026, 1),
        months_to=Month(2027, 3),
        discount_bp=5_000,
        programs=("JKK", "JKM"),
        sectors=("transport",),
        excluded_budgets=("APBN", "APBD"),
        requires_paid_through=None,
        new_member_full_months=0,
        regulation="PP 50/2025 (transport sector)",
    ),
    Relief(
        rule_id="relief-pp50-2025-other",
        months_from=Month(2026, 4),
        months_to=Month(2026, 12),
        discount_bp=5_000,
        programs=("JKK", "JKM"),
        sectors=("other",),
        excluded_budgets=("APBN", "APBD"),
        requires_paid_through=None,
        new_member_full_months=0,
        regulation="PP 50/2025 (sectors other than transport)",
    ),
)
RELIEF_SOURCES = {
    "relief-pp49-2020": Sourced(
        regulation="PP 49/2020",
        source="pasal.id pp-no-49-tahun-2020 art 9; flipbuilder e-kliping 10 Sep 2020 p301 (JKM Rp68)",
    ),
    "relief-pp50-2025-transport": Sourced(
        regulation="PP 50/2025", source="cnbcindonesia 20260204140501-17-708135; silamparitv 28590"
    ),
    "relief-pp50-2025-other": Sourced(
        regulation="PP 50/2025", source="cnbcindonesia 20260204140501-17-708135; silamparitv 28590"
    ),
}

GRACE_MONTHS = 3
GRACE_SOURCE = Sourced(
    regulation="Perdir 22/PERDIR.02/072022 (arrears payable for at most 3 months)",
    source="flipbuilder kduhm/fxda p59; perisaiblora.blogspot.com FAQ 2023/04; kabarbaik.co (Sidoarjo case)",
    uncertain="sources differ on whether the membership turns inactive after 2 or 3 unpaid months",
)


OFFICER_RATES = (
    OfficerRate(
        rule_id="officer-rate-inpres-2-2021",
        first_day=date(2021, 3, 25),
        last_day=None,
        monthly_rate=16_800,
        regulation="Inpres 2/2021; rate as for a BPU member at the minimum income "
        "(JKK Rp10,000 + JKM Rp6,800)",
    ),
)
OFFICER_RATE_SOURCES = {
    "officer-rate-inpres-2-2021": Sourced(
        regulation="Inpres 2/2021",
        source="en.antaranews.com/news/251169 (JKK+JKM minimum Rp16,800 a month); karanganyarnews "
        "pr-1907747676 (Boyolali 2024: Rp198,762,600 for 33,467 officers, Rp5,939 each)",
        uncertain="the Boyolali figure (Rp5,939 per officer for a short term) implies a lower or prorated "
        "officer tariff; the rate and its proration are rule-table entries to correct when confirmed",
    )
}

DATASET = "rules:bpu-2025"
"""Name of this rule table in genesis tx sources and event ids."""


def rule_event(
    dataset: str, rule_id: str, kind: str, parameters: dict[str, Any], regulation: str, sourced: Sourced
) -> RuleDefined:
    """One shipped rule as its `rule.defined` event, named after its dataset."""
    return RuleDefined.model_validate(
        {
            "event_id": f"{dataset}:{rule_id}",
            "type": "rule.defined",
            "rule_id": rule_id,
            "kind": kind,
            "parameters": parameters,
            "regulation": regulation,
            "source": sourced.source,
            "uncertain": sourced.uncertain,
        }
    )


def rule_events() -> list[RuleDefined]:
    """The rule table as `rule.defined` events."""
    return [
        *(
            rule_event(
                DATASET,
                r.rule_id,
                "bpu_rates",
                rates_parameters(r),
                r.regulation,
                BPU_RATES_SOURCES[r.rule_id],
            )
            for r in BPU_RATES
        ),
        *(
            rule_event(
                DATASET, r.rule_id, "relief", relief_parameters(r), r.regulation, RELIEF_SOURCES[r.rule_id]
            )
            for r in RELIEFS
        ),
        rule_event(
            DATASET, "bpu-grace", "grace", {"months": GRACE_MONTHS}, GRACE_SOURCE.regulation, GRACE_SOURCE
        ),
        *(
            rule_event(
                DATASET,
                r.rule_id,
                "officer_rate",
                officer_rate_parameters(r),
                r.regulation,
                OFFICER_RATE_SOURCES[r.rule_id],
            )
            for r in OFFICER_RATES
        ),
    ]


async def shipped_rule_correction(
    session: AsyncSession,
    *,
    shipped: Sequence[RuleDefined],
    rule_id: str,
    added: str,
    correction_id: str,
    replacement_id: str,
    reason: str,
) -> list[AppendableEvent]:
    """For a ledger whose rules of a kind in force are exactly `shipped` (this release's rules of
    the kind) as an earlier release wrote them, without the parameter `added`: a correction
    replacing rule `rule_id`'s definition with this release's (under `replacement_id`). Nothing
    for a ledger that has it, or that holds rules of the kind an admin put in force, which are the
    admin's to amend."""
    now = next(rule for rule in shipped if rule.rule_id == rule_id)
    first_released = {
        rule.rule_id: {k: v for k, v in rule.parameters.items() if k != added} for rule in shipped
    }
    in_force = await projections_repository.rules_in_force(session, kind=now.kind)
    held = {p["rule_id"]: p["parameters"] for p in in_force.values()}
    if len(held) != len(in_force) or held != first_released:
        return []
    event_id = next(e for e, p in in_force.items() if p["rule_id"] == rule_id)
    replacement = now.model_dump(mode="json") | {"event_id": replacement_id}
    correction = {
        "event_id": correction_id,
        "type": "event.corrected",
        "supersedes": [event_id],
        "replacement": replacement,
        "reason": reason,
    }
    return list(AppendRequest.model_validate({"events": [correction]}).events)


JHT_MINIMUM_CORRECTION_ID = f"{DATASET}:bpu-rates-jht-minimum"
"""The correction that gives a ledger written before the JHT minimum was shipped the rates with it."""


async def jht_minimum_correction(session: AsyncSession) -> list[AppendableEvent]:
    """For a ledger still holding the BPU rates as first shipped, without the JHT minimum: the
    rates as shipped now (`shipped_rule_correction`)."""
    rule_id = BPU_RATES[0].rule_id
    return await shipped_rule_correction(
        session,
        shipped=[rule for rule in rule_events() if rule.kind == "bpu_rates"],
        rule_id=rule_id,
        added="jht_minimum",
        correction_id=JHT_MINIMUM_CORRECTION_ID,
        replacement_id=f"{DATASET}:{rule_id}-jht-minimum",
        reason="shipped rates: JHT is never less than Rp20,000 (2% of the lowest income)",
    )
