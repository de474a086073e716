"""Claims and payouts as the API shows them."""

from datetime import date

from pydantic import BaseModel, Field

from coverage_ledger.coverage.schemas import AsOfOut
from coverage_ledger.domain.claims import ClaimStatus
from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.http.openapi_document import one_of


class ComponentOut(BaseModel):
    """One part of the benefit."""

    name: str = Field(description="lump_sum, periodic, funeral, wage_multiple, incapacity, medical")
    amount: int = Field(description="Rupiah.")
    basis: str = Field(description="How the rule reaches the amount.")


class RuleOut(BaseModel):
    """The benefit rule applied, chosen by the incident date."""

    rule_id: str
    regulation: str


class JudgementOut(BaseModel):
    """The cover on the incident date as known at one tx, and what it makes of the claim."""

    tx_seq: int = Field(description="The knowledge judged on.")
    covered: bool = Field(description="Covered for the claim's program on the incident date.")
    status: str | None = Field(
        description="Coverage status on the incident date; null: person unknown then.",
        json_schema_extra=one_of(CoverageStatus, nullable=True),
    )
    payable: bool
    reason: str
    evidence: list[str] = Field(description="Events the coverage answer rests on.")
    amount: int = Field(description="Rupiah the rules give (0 when they give nothing).")


class DecisionOut(BaseModel):
    """The decision in force."""

    event_id: str
    approved: bool
    decided_on: date
    tx_seq: int
    amount: int | None = Field(description="Rupiah approved; null for a rejection.")
    reason: str | None


class PaymentOut(BaseModel):
    """A payment in force, and whether it was reversed."""

    event_id: str
    amount: int
    paid_on: date
    reversed_by: str | None = None


class ScholarshipOut(BaseModel):
    """One year of a child's scholarship entitlement (claimed year by year)."""

    child: int
    school_year: int = Field(description="Calendar year the school year starts in.")
    level: str
    amount: int


class PartyOut(BaseModel):
    """A claimant or payee."""

    nik: str | None = Field(default=None, description="Null: the insured person.")
    relation: str = "self"


class ClaimOut(BaseModel):
    """A claim as known at `known_at`; late or overdue as of `valid_at`."""

    claim_id: str
    nik: str
    status: str = Field(
        description="filed, approved, rejected, partially_paid, paid or reversed",
        json_schema_extra=one_of(ClaimStatus),
    )
    benefit: str
    program: str
    incident_date: date
    filed_on: date
    complete_on: date
    region_code: str
    claimant: PartyOut
    payee: PartyOut
    covered_on_incident: bool = Field(
        description="Covered for the program on the incident date as known when decided (or now)."
    )
    payable_amount: int = Field(description="Rupiah: the approved amount, else what the rules give now.")
    paid_amount: int = Field(description="Rupiah paid and not reversed.")
    reversed_amount: int
    outstanding_amount: int
    breakdown: list[ComponentOut]
    rule: RuleOut | None
    scholarship_total: int = Field(
        description="Rupiah of the yearly scholarship entitlement, not in the amount."
    )
    scholarships: list[ScholarshipOut]
    decision: DecisionOut | None
    when_decided: JudgementOut = Field(description="As known at the decision's tx (undecided: now).")
    known_now: JudgementOut = Field(description="As known at known_at.")
    payments: list[PaymentOut]
    flags: list[str] = Field(
        description="What to look at: `overdue`, `paid_late`, `current_knowledge_decides_differently`, "
        "`current_rules_give_another_amount`, `holidays_not_in_the_rule_table` (the service time runs "
        "into a year whose public holidays the ledger lacks: only weekends were skipped there), "
        "`cover_recorded_after_incident`, `filed_after_deadline`, `paid_more_than_approved` (the "
        "payments not reversed exceed the approved amount: refused when appended, possible only in a "
        "ledger an older release wrote), `scholarship_not_in_the_rule_table` "
        "(children are named, but the rule of the incident date lists no scholarship: PP 44/2015's "
        "Rp12 million for one child is reckoned by hand)."
    )
    due_date: date | None = Field(
        description="Last day of the service time, in working days after `complete_on` (or after the "
        "day the cover the claim rests on was paid for, when arrears were paid later: the claim could "
        "not be approved before) that skip the public holidays known at `known_at` (while a "
        "reversal keeps the claim reopened on valid_at: the later of it and the reversal's day). "
        "Like the lists, whether it is owed follows the claim as its own events fixed it: an "
        "undecided claim is owed if it was payable as known when filed and still is as known at "
        "`known_at` (one whose cover was corrected away since has no due date and no penalty)."
    )
    settled_on: date | None = Field(description="Day the approved amount was fully paid.")
    late: bool
    days_late: int = Field(
        description="Calendar days after the due date in every stretch the amount stood unpaid, up to "
        "valid_at."
    )
    penalty_amount: int = Field(description="Rupiah owed for lateness (1% per day late, PP 44/2015).")
    events: list[str] = Field(description="The claim's events in force, in tx order.")
    as_of: AsOfOut


class ClaimSummaryOut(BaseModel):
    """A claim in a list, as its own events fixed it (`GET /v1/claims/{claim_id}` also shows what
    the rules give as known at `known_at`)."""

    claim_id: str
    nik: str
    region_code: str = Field(
        description="The person's region on the incident date as known at the decision, else at the filing."
    )
    benefit: str
    incident_date: date
    status: str = Field(json_schema_extra=one_of(ClaimStatus))
    payable_amount: int = Field(
        description="Rupiah: the approved amount; while undecided, what the rules gave as known at the "
        "filing, so that a later change to the person's cover or a benefit rule does not move it."
    )
    paid_amount: int = Field(description="Rupiah paid, reversed payments excluded.")
    due_date: date | None
    settled_on: date | None


class ClaimListOut(BaseModel):
    """A page of claims."""

    items: list[ClaimSummaryOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last.")
    as_of: AsOfOut


class PayoutGroupOut(BaseModel):
    """Claims and rupiah paid in one group."""

    key: str = Field(description="The benefit, region code or month (YYYY-MM).")
    name: str | None = Field(default=None, description="The region's name (group_by=region).")
    claims: int = Field(
        description="Claims whose first payment in force falls in the group (and in the period), so "
        "a claim paid in two parts counts once and the groups add up to the total."
    )
    payments: int
    paid_amount: int = Field(description="Rupiah paid, reversed payments excluded.")


class PayoutsOut(BaseModel):
    """Payouts of a region as known at `known_at`."""

    region: str | None
    group_by: str
    paid_from: date | None
    paid_to: date | None = Field(description="Exclusive.")
    groups: list[PayoutGroupOut]
    total: PayoutGroupOut
    as_of: AsOfOut
