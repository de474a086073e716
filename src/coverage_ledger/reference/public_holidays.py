"""The public holidays and cuti bersama of Indonesia, one `public_holidays` rule per year: its
`public` days are not working days when a claim's service time ("hari kerja") is counted; its
cuti bersama (`joint_leave`) are listed for the record and count as working days.

The dates come from the `holidays` package (its Indonesian calendar follows the yearly joint
decree of three ministers). They enter the ledger as data, so a due date read years later does
not move when the package is upgraded; a date the package marks as estimated (an Islamic holiday
not yet fixed by the government) is stored as such and is corrected by an ordinary, dated tx."""

from datetime import date
from importlib.metadata import version

import holidays
from sqlalchemy.ext.asyncio import AsyncSession

from coverage_ledger.ledger import projections_repository, repository
from coverage_ledger.ledger.schemas import RuleDefined
from coverage_ledger.reference.rules import Sourced, rule_event

DATASET = "rules:holidays"
"""Name of this calendar in genesis tx sources and event ids (`rules:holidays:holidays-2024`)."""

YEARS = range(2015, 2028)
"""From PP 44/2015, which set the service times, to the last year the government has decided."""

SOURCE = Sourced(
    regulation="SKB Menteri Agama, Menteri Ketenagakerjaan dan MenPAN-RB "
    "on libur nasional and cuti bersama (yearly)",
    source=f"python-holidays {version('holidays')}, Indonesia, categories public and government",
    uncertain="the sources say 'hari kerja' without saying whether cuti bersama count: they are leave "
    "for civil servants (ASN), and BPJS Ketenagakerjaan is not ASN, so they are listed as joint_leave "
    "and counted as working days (the reading that does not shorten a claimant's late penalty)",
)

_ESTIMATED = " (perkiraan)"


def _days_of(year: int, category: str) -> dict[date, str]:
    calendar = holidays.country_holidays("ID", years=year, language="id", categories=(category,))
    return dict(calendar.items())


def holiday_parameters(year: int) -> dict[str, object]:
    """A year's days off as `public_holidays` parameters: date, name, `public` or `joint_leave`
    (cuti bersama), and 1 where the date is an estimate."""
    days: dict[date, dict[str, int | str | None]] = {}
    for category, label in (("public", "public"), ("government", "joint_leave")):
        for day, name in _days_of(year, category).items():
            if day in days:  # two holidays on one day: one day off, both names
                days[day]["name"] = f"{days[day]['name']}; {name}"
                continue
            estimated = _ESTIMATED in name
            days[day] = {
                "date": day.isoformat(),
                "name": name.replace(_ESTIMATED, ""),
                "category": label,
                "estimated": int(estimated),
            }
    return {"year": year, "days": [days[d] for d in sorted(days)]}


def last_year_event_id() -> str:
    """The event id of the last year shipped: present once this release's calendar is written."""
    return f"{DATASET}:holidays-{YEARS[-1]}"


def holiday_events() -> list[RuleDefined]:
    """The calendar as `rule.defined` events, one per year."""
    return [
        rule_event(
            DATASET,
            f"holidays-{year}",
            "public_holidays",
            holiday_parameters(year),
            SOURCE.regulation,
            SOURCE,
        )
        for year in YEARS
    ]


async def missing_holiday_events(session: AsyncSession) -> list[RuleDefined]:
    """The shipped years the ledger has neither received before (whatever became of them since)
    nor been given a calendar for by an admin."""
    events = holiday_events()
    received = await repository.events_by_id(session, [e.event_id for e in events])
    defined = set((await projections_repository.holiday_rules_in_force(session, years=list(YEARS))).values())
    return [e for e in events if e.event_id not in received and int(str(e.parameters["year"])) not in defined]
