"""The benefit rules shipped with a release: JKM and JKK benefits by incident date, claim deadlines
and service times, each with its regulation and source (../shared/domain/facts.md). Figures the
sources disagree on are marked `uncertain`; they are corrected by an ordinary, dated tx."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.domain.benefit_table import PROGRAM_SOURCES, jkk_parameters, jkm_parameters
from coverage_ledger.domain.benefits import MONTHS_PAID_BY_INCIDENT, JkkRule, JkmRule, ScholarshipLevel
from coverage_ledger.ledger import projections_repository
from coverage_ledger.ledger.schemas import AppendableEvent, RuleDefined
from coverage_ledger.reference.rules import Sourced, rule_event, shipped_rule_correction

DATASET = "rules:benefits-2026"
"""Name of this rule table in genesis tx sources and event ids."""

PP44_IN_FORCE = date(2015, 7, 1)
PP82_IN_FORCE = date(2019, 12, 2)
"""PP 82/2019 applies to incidents on or after the day it was enacted, whatever the claim date."""

JKM_RULES = (
    JkmRule(
        rule_id="jkm-pp53-2012",
        incidents_from=date(2012, 1, 1),
        incidents_to=PP44_IN_FORCE,
        lump_sum=14_200_000,
        periodic=4_800_000,
        funeral=2_000_000,
        regulation="PP 53/2012 Pasal 22 (8th amendment of PP 14/1993, Jamsostek)",
    ),
    JkmRule(
        rule_id="jkm-pp44-2015",
        incidents_from=PP44_IN_FORCE,
        incidents_to=PP82_IN_FORCE,
        lump_sum=16_200_000,
        periodic=4_800_000,
        funeral=3_000_000,
        regulation="PP 44/2015",
    ),
    JkmRule(
        rule_id="jkm-pp82-2019",
        incidents_from=PP82_IN_FORCE,
        incidents_to=None,
        lump_sum=20_000_000,
        periodic=12_000_000,
        funeral=10_000_000,
        regulation="PP 82/2019; scholarship per Permenaker 5/2021; early BPU membership per Peraturan "
        "BPJS Ketenagakerjaan 5/2021",
        early_informal_months=3,
        early_informal_lump_sum=8_000_000,
        early_informal_funeral=2_000_000,
        early_informal_counts=MONTHS_PAID_BY_INCIDENT,
        scholarship_children=2,
        scholarship_min_contribution_years=3,
        scholarship_levels=(
            ScholarshipLevel("TK", 1_500_000, 2),
            ScholarshipLevel("SD", 1_500_000, 6),
            ScholarshipLevel("SMP", 2_000_000, 3),
            ScholarshipLevel("SMA", 3_000_000, 3),
            ScholarshipLevel("PT", 12_000_000, 5),
        ),
    ),
)
JKM_SOURCES = {
    "jkm-pp53-2012": Sourced(
        regulation="PP 53/2012",
        source="pasal.id/peraturan/pp/pp-no-53-tahun-2012/koreksi/9115767 "
        "(Pasal 22: 14.2jt + 2jt + 24 × 200rb)",
        uncertain="the sources give no date from which PP 53/2012 applied: taken for every incident from "
        "2012 until PP 44/2015",
    ),
    "jkm-pp44-2015": Sourced(
        regulation="PP 44/2015",
        source="fbeta.republika.co.id/berita/pr2oo7335 (24jt = 16.2jt + 24 × 200rb + 3jt); PP 44/2015 in "
        "force 1 Jul 2015 (jamsosindonesia.com 2016); scholarship 12jt for one child (cinews.id 29/03/2024)",
        uncertain="some sources give the periodic benefit as 6jt, which does not add up to the 24jt total; "
        "the scholarship of PP 44/2015 (12jt for one child) is not in this table",
    ),
    "jkm-pp82-2019": Sourced(
        regulation="PP 82/2019",
        source="satujuang.com santunan-jkm (20jt + 10jt + 12jt); bipol.co/?p=43766 (applies to incidents "
        "from 2 Dec 2019); cinews.id 29/03/2024 and kontan 22 Apr 2021 (scholarship levels, 2 children, "
        "87jt each); star.grid.id 453611373 (3 years of contributions); bursakota.co.id/?p=68592 (BPU "
        "dying within 3 months of joining: 8jt + 2jt)",
        uncertain="the early-membership amount is stated by one branch head citing Peraturan BPJS "
        "Ketenagakerjaan 5/2021, applied here to every incident under PP 82/2019; the scholarship levels "
        "are those of Permenaker 5/2021 (in force 1 Apr 2021), applied here from 2 Dec 2019",
    ),
}

JKK_RULES = (
    JkkRule(
        rule_id="jkk-pp44-2015",
        incidents_from=PP44_IN_FORCE,
        incidents_to=PP82_IN_FORCE,
        death_wage_multiple=48,
        total_disability_wage_multiple=56,
        partial_disability_wage_multiple=80,
        funeral=3_000_000,
        periodic=4_800_000,
        incapacity_steps=((6, 10_000), (6, 7_500), (None, 5_000)),
        regulation="PP 44/2015",
    ),
    JkkRule(
        rule_id="jkk-pp82-2019",
        incidents_from=PP82_IN_FORCE,
        incidents_to=None,
        death_wage_multiple=48,
        total_disability_wage_multiple=56,
        partial_disability_wage_multiple=80,
        funeral=10_000_000,
        periodic=12_000_000,
        incapacity_steps=((12, 10_000), (None, 5_000)),
        regulation="PP 82/2019",
    ),
)
JKK_SOURCES = {
    "jkk-pp44-2015": Sourced(
        regulation="PP 44/2015",
        source="suara.com 2019/11/02/151205 (pre-PP 82 death: 48 × wage + berkala 4.8jt + pemakaman 3jt); "
        "detik 5759152 (48 × = 60% × 80, at least the JKM lump sum); detik 2017 3731555 (temporary "
        "incapacity: 100% for 6 months, 75% for 6 months, 50% after; kompasiana gives the same)",
    ),
    "jkk-pp82-2019": Sourced(
        regulation="PP 82/2019",
        source="voi.id/en/news/22692 (death: 48 × wage + funeral 10jt + berkala 12jt); star.gridtechno "
        "453594342 and radarmukomuko 676298 (56 × for total disability, table % × 80 × wage, STMB 100% "
        "for 12 months then 50%)",
    ),
}

DEADLINE_SOURCE = Sourced(
    regulation="PP 44/2015 Pasal 26",
    source="jamsosindonesia.com opini 2016 (JKK: 2 years from the accident); topikpagi/Kompas Oct 2024 "
    "(JKM: no time limit)",
    uncertain="for incidents before PP 82/2019; from it on, 5 years (claim-deadline-jkk-pp82-2019)",
)
PP82_DEADLINE_SOURCE = Sourced(
    regulation="PP 82/2019 (PP 44/2015 Pasal 26 as amended)",
    source="ercolaw (per PP 82/2019 and Permenaker 1/2025 the right to JKK lapses after 5 years)",
    uncertain="one source; the 2 years of jamsosindonesia.com (2016) are PP 44/2015's, before PP 82/2019",
)
PP82_DEADLINE_ID = "claim-deadline-jkk-pp82-2019"
"""Shipped after the first release of this table: a ledger that lacks it gets it at `db upgrade`."""
SERVICE_SOURCE = Sourced(
    regulation="PP 44/2015 Pasal 37 (JKK) and Pasal 40 (JKM)",
    source="pasal.id pp-no-44-tahun-2015 (JKK within 7 working days, 1% a day late); "
    "perisaiblora.blogspot.com 2023/11 (JKM within 3 working days, 1% a day late)",
)


CLAIM_READING_ID = "claim-reading-program-sources"
"""Shipped with 0.10.0: a ledger that lacks it gets it at `db upgrade` and reads claims by it from
that tx on (the answers before it stay as given)."""
CLAIM_READING_SOURCE = Sourced(
    regulation="DESIGN.md (for BPU the JKK wage base is declared_income); PP 82/2019 and Peraturan "
    "BPJS Ketenagakerjaan 5/2021 (a BPU member's early death)",
    source="facts.md: the early-death amount and the declared income as wage are a BPU member's rules; "
    "a claim of one program rests on the cover of that program",
)


def claim_reading_events() -> list[RuleDefined]:
    """How a claim reads the person's cover: only the sources covering its own program give the
    membership facts of its amount (a JKK-only officer term leaves a BPU member's JKM claim at
    the early-death amount, and a JKM-only term leaves the member's JKK on the declared income)."""
    return [
        rule_event(
            DATASET,
            CLAIM_READING_ID,
            "claim_reading",
            {"membership_sources": PROGRAM_SOURCES},
            CLAIM_READING_SOURCE.regulation,
            CLAIM_READING_SOURCE,
        )
    ]


async def missing_claim_reading(session: AsyncSession) -> list[RuleDefined]:
    """The `claim_reading` rule for a ledger written before it (nothing when one is in force)."""
    if await projections_repository.rules_in_force(session, kind="claim_reading"):
        return []
    return claim_reading_events()


def benefit_rule_events() -> list[RuleDefined]:
    """The benefit rules as `rule.defined` events."""
    return [
        *(
            rule_event(
                DATASET, r.rule_id, "jkm_benefit", jkm_parameters(r), r.regulation, JKM_SOURCES[r.rule_id]
            )
            for r in JKM_RULES
        ),
        *(
            rule_event(
                DATASET, r.rule_id, "jkk_benefit", jkk_parameters(r), r.regulation, JKK_SOURCES[r.rule_id]
            )
            for r in JKK_RULES
        ),
        rule_event(
            DATASET,
            "claim-deadline-jkk",
            "claim_deadline",
            {"program": "JKK", "years": 2},
            DEADLINE_SOURCE.regulation,
            DEADLINE_SOURCE,
        ),
        *pp82_deadline_events(),
        *claim_reading_events(),
        rule_event(
            DATASET,
            "claim-deadline-jkm",
            "claim_deadline",
            {"program": "JKM", "years": None},
            DEADLINE_SOURCE.regulation,
            DEADLINE_SOURCE,
        ),
        rule_event(
            DATASET,
            "service-time-jkk",
            "service_time",
            {"program": "JKK", "working_days": 7, "penalty_bp_per_day": 100},
            SERVICE_SOURCE.regulation,
            SERVICE_SOURCE,
        ),
        rule_event(
            DATASET,
            "service-time-jkm",
            "service_time",
            {"program": "JKM", "working_days": 3, "penalty_bp_per_day": 100},
            SERVICE_SOURCE.regulation,
            SERVICE_SOURCE,
        ),
    ]


def pp82_deadline_events() -> list[RuleDefined]:
    """The JKK filing deadline for incidents from PP 82/2019 on: 5 years (2 before it)."""
    return [
        rule_event(
            DATASET,
            PP82_DEADLINE_ID,
            "claim_deadline",
            {"program": "JKK", "years": 5, "incidents_from": PP82_IN_FORCE.isoformat()},
            PP82_DEADLINE_SOURCE.regulation,
            PP82_DEADLINE_SOURCE,
        )
    ]


async def missing_pp82_deadline(session: AsyncSession) -> list[RuleDefined]:
    """The PP 82/2019 deadline for a ledger whose JKK deadlines are still the first release's one
    (nothing when an admin has put other JKK deadlines in force: theirs to amend)."""
    in_force = await projections_repository.rules_in_force(session, kind="claim_deadline")
    jkk = [d for d in in_force.values() if d["parameters"].get("program") == "JKK"]
    if [(d["rule_id"], d["parameters"]) for d in jkk] != [
        ("claim-deadline-jkk", {"program": "JKK", "years": 2})
    ]:
        return []
    return pp82_deadline_events()


EARLY_DEATH_CORRECTION_ID = f"{DATASET}:jkm-pp82-2019-early-death-months-paid-by-incident"
"""The correction that gives a ledger written before it the PP 82/2019 JKM rule whose early-death
test counts only the months paid by the incident day."""


async def early_death_correction(session: AsyncSession) -> list[AppendableEvent]:
    """For a ledger still holding the JKM rules as first shipped, whose early-death test counted
    arrears the heirs paid after the death: the PP 82/2019 rule as shipped now
    (`shipped_rule_correction`). Claims decided before it keep the amount they were approved for."""
    rule_id = "jkm-pp82-2019"
    return await shipped_rule_correction(
        session,
        shipped=[rule for rule in benefit_rule_events() if rule.kind == "jkm_benefit"],
        rule_id=rule_id,
        added="early_informal_counts",
        correction_id=EARLY_DEATH_CORRECTION_ID,
        replacement_id=f"{DATASET}:{rule_id}-months-paid-by-incident",
        reason="shipped JKM rule: a BPU member's early death counts the months paid by the incident day, "
        "not arrears paid after it (facts.md: 'active & paying')",
    )
