"""The claim events a caller can append (DESIGN.md, "Event types"): a claim filed, decided,
paid in one or more parts, a payment reversed. Claimants, heirs and payees are recorded by NIK
and relation: their names are personal data and stay out of the chained log."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from coverage_ledger.domain.claim_benefit import BENEFIT_KINDS, SCHOOL_LEVELS
from coverage_ledger.domain.nik import NIK_PATTERN
from coverage_ledger.errors import FieldProblem
from coverage_ledger.ledger.event_fields import Count, Day, EventId, PositiveRupiah, Text

NikText = Annotated[str, StringConstraints(pattern=NIK_PATTERN)]
Percent = Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]


class _ClaimEvent(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: EventId = Field(description="Caller-chosen unique id; resending the same event is a no-op.")
    claim_id: EventId = Field(description="The claim, as the office numbers it.")


class Party(BaseModel):
    """Who claims or is paid: a person by NIK, and how they stand to the insured person."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nik: NikText | None = Field(default=None, description="The party's NIK (absent: the insured person).")
    relation: Literal["self", "spouse", "child", "parent", "sibling", "heir", "employer", "other"] = Field(
        default="self", description="Relation to the insured person (heirs in the order of PP 44/2015)."
    )


class Child(BaseModel):
    """A child named for the scholarship entitlement: current school level and years done there."""

    model_config = ConfigDict(extra="forbid")

    level: Literal[SCHOOL_LEVELS]  # type: ignore[valid-type]  # the tuple is the one list; mypy wants it spelled out
    years_done: Count = Field(default=0, ge=0, le=10)


class ClaimFiled(_ClaimEvent):
    """A claim for a benefit of the insured person `nik` after an incident (a death or a work
    accident); the benefit follows the rules in force on `incident_date`."""

    type: Literal["claim.filed"]
    nik: NikText = Field(description="The insured person.")
    benefit: Literal[BENEFIT_KINDS] = Field(  # type: ignore[valid-type]  # the tuple is the one list; mypy wants it spelled out
        description="JKM (death not from work) or a JKK work-accident benefit."
    )
    incident_date: Day = Field(description="Day of the death or accident (Asia/Jakarta).")
    filed_on: Day | None = Field(default=None, description="Day filed; default: the recording date.")
    complete_on: Day | None = Field(
        default=None,
        description="Day the claim's documents were complete; the service time runs from it "
        "(default: filed_on).",
    )
    wage: PositiveRupiah | None = Field(
        default=None,
        description="Monthly wage for JKK benefits; for a BPU member the declared income is used "
        "when absent.",
    )
    disability_percent: Percent | None = Field(
        default=None, description="JKK_PARTIAL: the percentage of the disability table."
    )
    function_lost_percent: Percent | None = Field(
        default=None, description="JKK_PARTIAL for a loss of function: the share of function lost."
    )
    incapacity_months: Count | None = Field(
        default=None, ge=1, le=120, description="JKK_TEMPORARY: whole months unable to work."
    )
    medical_cost: PositiveRupiah | None = Field(
        default=None, description="JKK_MEDICAL: the cost of care as billed (no cap under PP 82/2019)."
    )
    children: list[Child] = Field(
        default_factory=list,
        max_length=10,
        description="Children for the scholarship entitlement, in the heirs' order.",
    )
    claimant: Party = Field(default_factory=Party, description="Who files: the worker or an heir.")
    payee: Party | None = Field(default=None, description="Who is paid; default: the claimant.")

    @model_validator(mode="after")
    def _fields_of_the_benefit(self) -> "ClaimFiled":
        needs = {
            "JKK_PARTIAL": ("disability_percent", self.disability_percent),
            "JKK_TEMPORARY": ("incapacity_months", self.incapacity_months),
            "JKK_MEDICAL": ("medical_cost", self.medical_cost),
        }
        if self.benefit in needs and needs[self.benefit][1] is None:
            raise FieldProblem(needs[self.benefit][0], f"{self.benefit} needs {needs[self.benefit][0]}")
        if self.filed_on is not None and self.filed_on < self.incident_date:
            raise FieldProblem("filed_on", "filed_on is before the incident_date")
        if self.complete_on is not None and self.filed_on is not None and self.complete_on < self.filed_on:
            raise FieldProblem("complete_on", "complete_on is before filed_on")
        if self.complete_on is not None and self.complete_on < self.incident_date:
            raise FieldProblem("complete_on", "complete_on is before the incident_date")
        if self.claimant.relation != "self" and self.claimant.nik is None:
            raise FieldProblem("claimant", "a claimant other than the insured person needs their nik")
        return self


class ClaimApproved(_ClaimEvent):
    """The office approves the claim: payable if the person was covered on the incident date as the
    ledger knows it in this tx; the amount is fixed by the rules then known."""

    type: Literal["claim.approved"]
    decided_on: Day


class ClaimRejected(_ClaimEvent):
    """The office rejects the claim."""

    type: Literal["claim.rejected"]
    reason: Text
    decided_on: Day


class ClaimPaid(_ClaimEvent):
    """A payment to the payee: the whole approved amount or a part of it."""

    type: Literal["claim.paid"]
    amount: PositiveRupiah = Field(description="Whole rupiah paid.")
    paid_on: Day


class ClaimReversed(_ClaimEvent):
    """A payment taken back (returned, paid to the wrong account, …)."""

    type: Literal["claim.reversed"]
    reason: Text
    payment_event_id: EventId | None = Field(
        default=None,
        description="The `claim.paid` reversed; default: every payment paid on or before reversed_on.",
    )
    reversed_on: Day | None = Field(default=None, description="Default: the recording date.")


CLAIM_EVENT_TYPES = ("claim.filed", "claim.approved", "claim.rejected", "claim.paid", "claim.reversed")
