"""Responses of the coverage and history endpoints."""

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coverage_ledger.domain.coverage import CoverageStatus
from coverage_ledger.domain.nik import NIK_PATTERN
from coverage_ledger.http.openapi_document import one_of
from coverage_ledger.ledger.event_fields import Day, InstantOut


class AsOfOut(BaseModel):
    """The point a read answers for; pass `known_at=tx:<tx_seq>` to replay it exactly."""

    valid_at: date
    known_at: str | None = Field(
        description="When tx `tx_seq` was recorded (RFC 3339, UTC): the moment of knowledge the answer "
        "reflects, whatever form `known_at` was asked in; null when no tx is known at the moment asked."
    )
    tx_seq: int = Field(description="The newest tx included.")


class SourceOut(BaseModel):
    """One enrolment bearing on the answer."""

    kind: str
    event_id: str
    status: str = Field(json_schema_extra=one_of(CoverageStatus))
    programs: list[str]
    valid_from: date
    valid_to: date = Field(description="Exclusive end.")
    covers_from: date = Field(description="max(valid_from, registered_on).")
    region_code: str
    role: str | None = None
    committee: str | None = None


class PeriodOut(BaseModel):
    """Half-open period of the deciding source's cover."""

    valid_from: date
    valid_to: date


class CoverageOut(BaseModel):
    """Whether a person is covered on `valid_at` as known at `known_at`, and why."""

    nik: str
    covered: bool
    status: str = Field(
        description="covered, not_started, term_ended, in_arrears, lapsed or not_enrolled",
        json_schema_extra=one_of(CoverageStatus),
    )
    programs: list[str]
    sources: list[SourceOut]
    sources_outside_region: int = Field(
        description="Enrolments bearing on the answer that lie outside the key's region: they count "
        "for the status and programs but are not listed."
    )
    period: PeriodOut | None
    reason: str = Field(description="A sentence a clerk can read aloud.")
    evidence: list[str] = Field(description="The event ids that decided the answer.")
    as_of: AsOfOut


class ForceInterval(BaseModel):
    """A known-time interval during which the event was in force."""

    tx_from: int
    tx_to: int | None
    superseded_by: str | None


class HistoryEvent(BaseModel):
    """One event about the person."""

    event_id: str
    type: str
    tx_seq: int
    recorded_at: InstantOut
    valid_from: date | None
    valid_to: date | None
    carried_by: str | None = Field(description="For a replacement: its correction.")
    payload: dict[str, Any]
    personal_fields: Literal["shown", "erased", "outside_region"] | None = Field(
        description="For a registration: its name, birth date and phone are in `payload` (`shown`), "
        "were deleted by `person.erased` (`erased`: a read of this moment before the erasure showed "
        "them; the chain keeps their digest), or lie in a region the key does not read."
    )
    in_force: list[ForceInterval]
    superseded_by: list[dict[str, Any]] = Field(description="Corrections that name this event.")


class HistoryCorrection(BaseModel):
    """A correction bearing on the person's events: naming one, carrying one as its replacement,
    or correcting such a correction."""

    event_id: str
    tx_seq: int
    recorded_at: InstantOut
    supersedes: list[str] = Field(description="What it names, among the events and corrections listed.")
    replacement: str | None = Field(description="The event it carried, when listed.")
    reason: str | None = Field(
        description="Null for a regional key when the correction names events it does not read "
        "(another region's, another person's), itself or through a correction it names: the reason "
        "is theirs too. `superseded_by` of the events withholds it alike."
    )
    names_not_shown: int = Field(
        description="For a regional key: targets and replacement it names whose details the key "
        "does not read (an event not listed, or a correction whose reason is withheld)."
    )
    in_force: list[ForceInterval] = Field(
        description="While in force its targets were not and its replacement was; superseded, it "
        "restored them and withdrew the replacement."
    )


class HistoryOut(BaseModel):
    """Every event about a person, in log order."""

    nik: str
    events: list[HistoryEvent]
    corrections: list[HistoryCorrection] = Field(
        description="The corrections bearing on those events, in log order, with their reasons."
    )
    events_outside_region: int = Field(
        description="Enrolments (and the payments of memberships) outside the key's region, not listed."
    )
    as_of: AsOfOut


class LookupRequest(BaseModel):
    """Up to 10,000 NIKs answered for one (valid_at, known_at)."""

    model_config = ConfigDict(extra="forbid")

    niks: list[Annotated[str, StringConstraints(pattern=NIK_PATTERN)]] = Field(
        min_length=1, max_length=10_000
    )
    valid_at: Day | None = Field(default=None, description="Default: today in Asia/Jakarta.")
    known_at: str | None = Field(default=None, description="RFC 3339 timestamp, date or tx:N; default now.")


class LookupResult(BaseModel):
    """The answer for one NIK; `found` is false for a NIK unknown or outside the key's region."""

    nik: str
    found: bool
    covered: bool
    status: str | None = Field(json_schema_extra=one_of(CoverageStatus, nullable=True))
    programs: list[str]
    reason: str
    evidence: list[str]


class LookupResponse(BaseModel):
    """One result per NIK, in the order asked."""

    results: list[LookupResult]
    as_of: AsOfOut


class PersonItem(BaseModel):
    """A person found by a search, with the status on `valid_at`."""

    nik: str
    status: str = Field(json_schema_extra=one_of(CoverageStatus))
    covered: bool
    programs: list[str]
    region_code: str = Field(description="Region of the enrolment in force, else the domicile.")
    reason: str


class PersonPage(BaseModel):
    """A page of persons in NIK order; pass `next_cursor` as `cursor` for the next one."""

    items: list[PersonItem]
    next_cursor: str | None
    as_of: AsOfOut
