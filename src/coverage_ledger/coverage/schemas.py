"""Responses of the coverage and history endpoints."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class AsOfOut(BaseModel):
    """The point a read answers for; pass `known_at=tx:<tx_seq>` to replay it exactly."""

    valid_at: date
    known_at: str | None = Field(description="RFC 3339 instant of knowledge asked for (UTC).")
    tx_seq: int = Field(description="The newest tx included.")


class SourceOut(BaseModel):
    """One enrolment bearing on the answer."""

    kind: str
    event_id: str
    status: str
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
    status: str = Field(description="covered, not_started, term_ended, in_arrears, lapsed or not_enrolled")
    programs: list[str]
    sources: list[SourceOut]
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
    recorded_at: datetime
    valid_from: date | None
    valid_to: date | None
    carried_by: str | None = Field(description="For a replacement: its correction.")
    payload: dict[str, Any]
    in_force: list[ForceInterval]
    superseded_by: list[dict[str, Any]] = Field(description="Corrections that name this event.")


class HistoryOut(BaseModel):
    """Every event about a person, in log order."""

    nik: str
    events: list[HistoryEvent]
    as_of: AsOfOut
