"""Region coverage as the API shows it."""

from datetime import date

from pydantic import BaseModel, Field

from coverage_ledger.coverage.schemas import AsOfOut


class RegionFigureOut(BaseModel):
    """Covered persons, potential and ratio of one region."""

    region_code: str
    name: str
    covered: int = Field(
        description="Distinct persons covered on valid_at whose enrolment (else domicile) is here."
    )
    potential: int | None = Field(
        description="Potential workers estimated for the region; null when unknown."
    )
    ratio: float | None = Field(
        description="covered / potential as a fraction (0.0983 = 9.83%); null without a potential."
    )


class RegionCoverageOut(RegionFigureOut):
    """A region's coverage with its children's."""

    segment: str = Field(description="all, officer or informal")
    children: list[RegionFigureOut]
    as_of: AsOfOut


class SeriesPoint(RegionFigureOut):
    """One point of a series: the figure on `valid_at`."""

    valid_at: date


class RegionSeriesOut(BaseModel):
    """A region's coverage on the first day of each month, as known at one moment."""

    region_code: str
    segment: str
    known_at: str | None
    tx_seq: int
    points: list[SeriesPoint]
    as_of: AsOfOut = Field(
        description="The knowledge every point is read at; `valid_at` is the first month's first day."
    )


class RegionRef(BaseModel):
    """A region by code and name."""

    region_code: str
    name: str


class RegionOut(BaseModel):
    """A Kemendagri code on a date as the ledger knew it."""

    region_code: str
    name: str
    level: int = Field(description="1 province, 2 regency/city, 3 district, 4 village")
    parent_code: str | None
    decree: str = Field(description="The decree that defines this code.")
    valid_from: date | None
    valid_to: date | None = Field(description="First day the code no longer exists; null while it does.")
    status: str = Field(
        description="`in_force` on valid_at, `replaced` (see successors), or `not_yet_in_force` (a code "
        "of a later decree)."
    )
    children: list[RegionRef] = Field(description="Codes directly below, when in force.")
    successors: list[RegionRef] = Field(
        description="Codes that replaced it and exist on valid_at, when replaced."
    )
    as_of: AsOfOut
