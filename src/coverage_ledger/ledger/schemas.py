"""The events a caller can append, and the append request and response (HTTP contract v1)."""

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_core import PydanticCustomError

from coverage_ledger.domain.officer import (
    OFFICER_PROGRAMS,
    OFFICER_REGION_HINT,
    OFFICER_ROLES,
    TERM_TOO_LONG,
    lasts_too_long,
    serves_in_a_district_or_village,
)
from coverage_ledger.domain.potential import Segment
from coverage_ledger.errors import FieldProblem
from coverage_ledger.ledger.claim_events import (
    ClaimApproved,
    ClaimFiled,
    ClaimPaid,
    ClaimRejected,
    ClaimReversed,
)
from coverage_ledger.ledger.event_fields import (
    Count,
    Day,
    EndDay,
    EventId,
    Instant,
    InstantOut,
    MonthText,
    OptionalPhone,
    PersonName,
    RegionCode,
    Rupiah,
    Text,
)

OfficerProgram = Literal[OFFICER_PROGRAMS]  # type: ignore[valid-type]  # the tuple is the one list; mypy wants it spelled out


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    event_id: EventId = Field(description="Caller-chosen unique id; resending the same event is a no-op.")


class PersonRegistered(_Event):
    """Identity and domicile of a person. Name, birth date and phone go to the person vault."""

    type: Literal["person.registered"]
    nik: str = Field(description="16-digit NIK as text.", examples=["1671014501900001"])
    name: PersonName
    birth_date: Day | None = None
    sex: Literal["M", "F"] | None = Field(default=None, description="M or F; must agree with the NIK.")
    region_code: RegionCode = Field(description="Domicile, a Kemendagri code at any level.")
    phone: OptionalPhone = Field(
        default=None, description='0… or +62…, 9 to 14 digits; null, "" or "-" for none.'
    )


class OfficerEnrolled(_Event):
    """A committee's roster row: covers the person for the term, half-open [valid_from, valid_to)."""

    type: Literal["officer.enrolled"]
    nik: str
    role: str = Field(description="Ad hoc body role: " + ", ".join(OFFICER_ROLES))
    committee: Text = Field(description="The enrolling committee, e.g. KPU-16.71.")
    region_code: RegionCode = Field(
        description="Where the officer serves: a district (16.71.01) or village (16.71.01.1001) code."
    )
    valid_from: Day = Field(description="First day of duty.")
    valid_to: EndDay = Field(
        description="The day after the last day of duty (exclusive); a term lasts at most three years."
    )
    programs: list[OfficerProgram] = Field(default_factory=lambda: list(OFFICER_PROGRAMS), min_length=1)
    registered_on: Day | None = Field(
        default=None, description="When the registration was received; default: the recording date."
    )

    @field_validator("role")
    @classmethod
    def _known_role(cls, role: str) -> str:
        normalised = role.strip().upper()
        if normalised not in OFFICER_ROLES:
            # no context: the caller's text is then not read as a template (`{known}` was)
            raise PydanticCustomError(
                "unknown_role", f"unknown role {role!r}; known roles: {', '.join(OFFICER_ROLES)}"
            )
        return normalised

    @model_validator(mode="after")
    def _term_is_a_period(self) -> "OfficerEnrolled":
        if self.valid_to <= self.valid_from:
            raise FieldProblem("valid_to", "valid_to must be after valid_from (the period is half-open)")
        if lasts_too_long(self.valid_from, self.valid_to - timedelta(days=1)):
            raise FieldProblem("valid_to", TERM_TOO_LONG, code="term_too_long")
        if len(set(self.programs)) != len(self.programs):
            raise FieldProblem("programs", "programs are listed twice")
        if not serves_in_a_district_or_village(self.region_code):
            raise FieldProblem("region_code", f"region {self.region_code}: {OFFICER_REGION_HINT}")
        return self


BpuProgram = Literal["JKK", "JKM", "JHT"]


class Payer(BaseModel):
    """Who pays: the worker, another person (SERTAKAN) or an organisation with its budget."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["self", "person", "organisation"]
    nik: str | None = Field(default=None, description="The paying person's NIK (kind=person).")
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="The paying organisation's name (kind=organisation only)."
    )
    budget: Literal["APBN", "APBD", "APBDes"] | None = Field(
        default=None,
        description="Public budget of an organisation payer; APBN/APBD get no PP 50/2025 relief.",
    )

    @model_validator(mode="after")
    def _complete(self) -> "Payer":
        if self.kind == "person" and not self.nik:
            raise FieldProblem("nik", "a person payer needs their nik")
        if self.kind == "organisation" and not self.name:
            raise FieldProblem("name", "an organisation payer needs its name")
        if self.kind != "organisation" and self.name is not None:
            # a person's name belongs in the person vault, never in the chained log
            raise FieldProblem(
                "name",
                "only an organisation payer is named; a person payer is given by nik (a person's name is "
                "personal data, which the chained log never holds: it lives in the person vault)",
            )
        if self.kind != "organisation" and self.budget is not None:
            raise FieldProblem("budget", "only an organisation pays from a public budget")
        return self


def _protection_programs() -> list[BpuProgram]:
    return ["JKK", "JKM"]


def _bpu_programs(programs: list[str], *, of_a_payment: bool = False) -> list[str]:
    if len(set(programs)) != len(programs):
        raise ValueError("programs are listed twice")
    if not {"JKK", "JKM"} <= set(programs):
        raise ValueError(
            "BPU membership always includes JKK and JKM; JHT is optional"
            + (" (a payment may be JHT alone, for months whose JKK and JKM are paid)" if of_a_payment else "")
        )
    return sorted(programs)


class InformalEnrolled(_Event):
    """BPU membership of an informal worker, from `max(valid_from, registered_on)`."""

    type: Literal["informal.enrolled"]
    nik: str
    programs: list[BpuProgram] = Field(default_factory=_protection_programs)
    declared_income: Rupiah = Field(description="Monthly income the worker declares: the JKK and JHT base.")
    region_code: RegionCode
    valid_from: Day
    sector: Literal["transport", "other"] = Field(
        default="other", description="Decides the PP 50/2025 relief."
    )
    payer: Payer
    registered_on: Day | None = None

    @field_validator("programs")
    @classmethod
    def _programs(cls, programs: list[str]) -> list[str]:
        return _bpu_programs(programs)


class ContributionPaid(_Event):
    """A payment for calendar months `months_from`..`months_to` (inclusive)."""

    type: Literal["contribution.paid"]
    nik: str
    programs: list[BpuProgram] = Field(default_factory=_protection_programs)
    months_from: MonthText
    months_to: MonthText
    amount: Rupiah = Field(description="Total rupiah for those months and programs.")
    payer: Payer
    paid_on: Day

    @field_validator("programs")
    @classmethod
    def _programs(cls, programs: list[str]) -> list[str]:
        # JHT alone tops up months whose JKK and JKM are paid (DESIGN.md: a month is paid at most
        # once per person and program); the membership's rules refuse it for any other month
        return ["JHT"] if programs == ["JHT"] else _bpu_programs(programs, of_a_payment=True)

    @model_validator(mode="after")
    def _range(self) -> "ContributionPaid":
        if self.months_to < self.months_from:
            raise FieldProblem("months_to", "months_to is before months_from (month ranges are inclusive)")
        return self


class MembershipReactivated(_Event):
    """An office reopens a lapsed BPU membership."""

    type: Literal["membership.reactivated"]
    nik: str
    reason: Text
    reactivated_on: Day


class RuleDefined(_Event):
    """A rule table entry (rates, reliefs, grace, officer rate, benefits, claim deadlines, service
    times, a year's public holidays, how a claim reads the person's cover) with its regulation and
    source; admin only."""

    type: Literal["rule.defined"]
    rule_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    kind: Literal[
        "bpu_rates",
        "relief",
        "grace",
        "officer_rate",
        "jkm_benefit",
        "jkk_benefit",
        "claim_deadline",
        "service_time",
        "public_holidays",
        "claim_reading",
    ]
    parameters: dict[str, int | str | list[str] | list[dict[str, int | str | None]] | None]
    regulation: Text
    source: Text
    uncertain: Text | None = None


class PotentialEstimated(_Event):
    """An estimate of the workers a region could cover (the denominator of its coverage ratio),
    from `valid_from` until a later estimate; a revision is a new estimate or a correction."""

    type: Literal["potential.estimated"]
    region_code: RegionCode
    segment: Segment = Field(
        description="Whose potential: informal (BPU) workers, election officers, or all."
    )
    valid_from: Day = Field(description="First day the estimate applies to.")
    count: Count = Field(ge=0, le=10**9, description="Number of potential workers.")
    source: Text | None = Field(default=None, description="Where the figure comes from.")


class RegionDefined(_Event):
    """A Kemendagri region under a decree (reference data; admin only)."""

    type: Literal["region.defined"]
    code: RegionCode
    name: Text
    decree: Text
    valid_from: Day | None = None
    valid_to: EndDay | None = Field(default=None, description="First day the code no longer exists.")
    successors: list[RegionCode] | None = Field(
        default=None, description="Codes that took over from `valid_to` on (a split or a renumbering)."
    )

    @model_validator(mode="after")
    def _successors_need_an_end(self) -> "RegionDefined":
        if self.valid_from is not None and self.valid_to is not None and self.valid_to <= self.valid_from:
            raise FieldProblem("valid_to", "valid_to must be after valid_from (the period is half-open)")
        if self.successors and self.valid_to is None:
            raise FieldProblem("valid_to", "successors take over at valid_to: give valid_to too")
        if self.successors and self.code in self.successors:
            raise FieldProblem("successors", f"region {self.code} cannot succeed itself")
        if self.successors and len(set(self.successors)) != len(self.successors):
            raise FieldProblem("successors", "a successor is listed twice")
        return self


AssertionEvent = (
    PersonRegistered
    | OfficerEnrolled
    | InformalEnrolled
    | ContributionPaid
    | MembershipReactivated
    | PotentialEstimated
    | RegionDefined
    | RuleDefined
    | ClaimFiled
    | ClaimApproved
    | ClaimRejected
    | ClaimPaid
    | ClaimReversed
)
"""Every event type but the correction: what a correction may bring as its replacement."""
ReplaceableEvent = Annotated[AssertionEvent, Field(discriminator="type")]


class PersonErased(_Event):
    """Erasure of a person's personal fields (name, birth date, phone) from the vault, for good:
    amounts, periods, counts and the hash chain stay valid; the NIK, the legal identifier, stays.
    Admin only; a correction of it cannot bring the fields back."""

    type: Literal["person.erased"]
    nik: str
    reason: Text


class EventCorrected(_Event):
    """Supersedes earlier events; with no replacement it is a retraction."""

    type: Literal["event.corrected"]
    supersedes: list[EventId] = Field(min_length=1, max_length=1000)
    replacement: ReplaceableEvent | None = None
    reason: Text

    @model_validator(mode="after")
    def _not_itself(self) -> "EventCorrected":
        if self.event_id in self.supersedes:
            raise FieldProblem("supersedes", "a correction cannot supersede itself")
        if self.replacement is not None and self.replacement.event_id in ({self.event_id, *self.supersedes}):
            raise FieldProblem("replacement", "the replacement needs an event_id of its own")
        if len(set(self.supersedes)) != len(self.supersedes):
            raise FieldProblem("supersedes", "supersedes lists an event twice")
        return self


AppendableEvent = Annotated[AssertionEvent | PersonErased | EventCorrected, Field(discriminator="type")]


DAY_DONE_FIELDS = {
    "officer.enrolled": "registered_on",
    "informal.enrolled": "registered_on",
    "contribution.paid": "paid_on",
    "membership.reactivated": "reactivated_on",
}
"""The field that says on which day each kind of cover event was done in the world (registered,
paid, reactivated): never after the day it is recorded on."""


class AppendRequest(BaseModel):
    """A batch of events appended atomically as one tx."""

    model_config = ConfigDict(extra="forbid")

    events: list[AppendableEvent] = Field(min_length=1, max_length=10_000)
    recorded_at: Instant | None = Field(
        default=None,
        description="Admin-only backfill: the tx's recorded_at, accepted only after the head's and "
        "after every moment a read has already answered for as of the head (409 "
        "`backfill_within_answered_moment`), and not in the future.",
    )


class AppendResponse(BaseModel):
    """The committed tx (or, when every event was a duplicate, the tx that holds them)."""

    tx_seq: int
    recorded_at: InstantOut
    accepted: int = Field(description="Events written by this request.")
    duplicates: int = Field(description="Events already in the ledger with identical content.")


class VerifyResponse(BaseModel):
    """Outcome of recomputing the whole hash chain."""

    ok: bool
    txs_checked: int = Field(description="Txs that checked out, from tx 1.")
    head_tx_seq: int = Field(description="The ledger's newest tx.")
    head_hash: str | None = Field(description="Its hash, when the chain up to it checks out; else null.")
    broken_tx_seq: int | None = Field(default=None, description="The first tx that does not check out.")
    reason: str | None = Field(default=None, description="What does not check out there.")


class HeadResponse(BaseModel):
    """The newest tx, for auditors to archive."""

    tx_seq: int
    recorded_at: str | None
    hash: str | None
