"""One row of a sponsor roster (a regional government or SERTAKAN sponsor paying for informal
workers), checked on its own and turned into the events it asserts: the worker's registration and
BPU membership when the ledger does not have them yet, and the payment. The contribution rules
(amount, grace, a month paid once) are then checked by the append path itself."""

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from coverage_ledger.domain.months import MONTH_TEXT
from coverage_ledger.domain.timeframes import PLAUSIBLE_YEARS, plausible_year
from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads import cells as check
from coverage_ledger.uploads import row_layout
from coverage_ledger.uploads.row_layout import Columns

REQUIRED_COLUMNS = (
    "nik",
    "name",
    "birth_date",
    "sex",
    "region_code",
    "programs",
    "declared_income",
    "sector",
    "months_from",
    "months_to",
    "amount",
)
OPTIONAL_COLUMNS = ("phone", "budget", "paid_on", "registered_on")
MAX_RUPIAH_DIGITS = 15
"""Amounts of up to 999 trillion rupiah (the events' own ceiling is 10^15)."""
_MONTH = re.compile(MONTH_TEXT)
_FIRST_OF_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])-01$")
_PROGRAMS = {"JKK", "JKM", "JHT"}
_BUDGETS = {"APBN": "APBN", "APBD": "APBD", "APBDES": "APBDes"}


@dataclass(frozen=True, slots=True)
class SponsorRow:
    """A sponsor roster row that passed its own checks."""

    row: int
    nik: str
    name: str
    birth_date: date
    sex: str
    phone: str | None
    region_code: str
    programs: tuple[str, ...]
    declared_income: int
    sector: str
    months_from: str
    months_to: str
    amount: int
    budget: str | None
    paid_on: date | None
    registered_on: date | None


def check_sponsor_header(header: Sequence[str]) -> Columns:
    """Column positions of a sponsor roster; a wrong header raises ValueError."""
    return row_layout.check_header(header, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)


def _rupiah(cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem]) -> int:
    text = cells.get(column, "")
    if not text.isascii() or not text.isdigit():
        errors.append(
            ErrorItem(
                "invalid_amount",
                f"{column} is not whole rupiah written with digits only (no Rp, dots or commas)",
                row=row,
                column=column,
            )
        )
        return 0
    if len(text) > MAX_RUPIAH_DIGITS:
        errors.append(
            ErrorItem(
                "invalid_amount",
                f"{column} is not a plausible amount",
                row=row,
                column=column,
            )
        )
        return 0
    return int(text)


def _month(cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem]) -> str:
    text = cells.get(column, "")
    if _FIRST_OF_MONTH.match(text):
        # a spreadsheet turns 2025-01 typed into a cell into the date 1 Jan 2025: that month
        text = text[:7]
    found = _MONTH.match(text)
    if not found:
        errors.append(
            ErrorItem(
                "invalid_month",
                f"{column} is not a month YYYY-MM",
                row=row,
                column=column,
            )
        )
    elif not plausible_year(int(text[:4])):
        errors.append(
            ErrorItem(
                "date_out_of_range",
                f"{column} is outside {PLAUSIBLE_YEARS}",
                row=row,
                column=column,
            )
        )
    return text


def check_sponsor_row(
    row: int,
    cells: Mapping[str, str],
    *,
    districts: Container[str],
    regions: Container[str],
    key_region_prefix: str | None,
    today: date | None = None,
) -> SponsorRow | list[ErrorItem]:
    """The checked row, or every error found in it (`today`: the day it is checked)."""
    errors: list[ErrorItem] = []
    person = check.person_cells(cells, row, districts, errors, today=today)
    region = check.region_cell(cells, row, regions, key_region_prefix, errors)
    programs = tuple(sorted(p for p in re.split(r"[\s,;+|/]+", cells.get("programs", "").upper()) if p))
    if not programs or not set(programs) <= _PROGRAMS or not {"JKK", "JKM"} <= set(programs):
        errors.append(
            ErrorItem(
                "invalid_programs",
                "programs: JKK and JKM, and optionally JHT",
                row=row,
                column="programs",
            )
        )
    income = _rupiah(cells, "declared_income", row, errors)
    amount = _rupiah(cells, "amount", row, errors)
    sector = (cells.get("sector", "") or "other").lower()
    if sector not in {"transport", "other"}:
        errors.append(ErrorItem("invalid_sector", "sector is transport or other", row=row, column="sector"))
    first, last = _month(cells, "months_from", row, errors), _month(cells, "months_to", row, errors)
    if _MONTH.match(first) and _MONTH.match(last) and last < first:
        errors.append(
            ErrorItem(
                "months_to_before_months_from", "months_to is before months_from", row=row, column="months_to"
            )
        )
    budget_text = cells.get("budget", "").upper()
    budget = _BUDGETS.get(budget_text) if budget_text else None
    if budget_text and budget is None:
        errors.append(ErrorItem("invalid_budget", "budget is APBN, APBD or APBDes", row=row, column="budget"))
    paid_on = check.day_cell(cells, "paid_on", row, errors, required=False)
    registered_on = check.day_cell(cells, "registered_on", row, errors, required=False)
    phone = check.phone_cell(cells, row, errors)
    if errors or person is None or person.birth_date is None:
        return errors
    return SponsorRow(
        row,
        person.nik,
        person.name,
        person.birth_date,
        person.sex,
        phone,
        region,
        programs,
        income,
        sector,
        first,
        last,
        amount,
        budget,
        paid_on,
        registered_on,
    )


def sponsor_events(
    item: SponsorRow,
    *,
    sponsor: str,
    event_prefix: str,
    register: bool,
    enrol: bool,
    recording_day: date,
) -> list[dict[str, Any]]:
    """The row's events as `POST /v1/events` would take them."""
    payer: dict[str, Any] = {"kind": "organisation", "name": sponsor}
    if item.budget is not None:
        payer["budget"] = item.budget
    events: list[dict[str, Any]] = []
    prefix = f"{event_prefix}-{item.row}"
    if register:
        events.append(
            {
                "event_id": f"{prefix}-p",
                "type": "person.registered",
                "nik": item.nik,
                "name": item.name,
                "birth_date": item.birth_date,
                "sex": item.sex,
                "region_code": item.region_code,
                "phone": item.phone,
            }
        )
    if enrol:
        events.append(
            {
                "event_id": f"{prefix}-m",
                "type": "informal.enrolled",
                "nik": item.nik,
                "programs": list(item.programs),
                "declared_income": item.declared_income,
                "region_code": item.region_code,
                "valid_from": date(int(item.months_from[:4]), int(item.months_from[5:]), 1),
                "sector": item.sector,
                "payer": payer,
                "registered_on": item.registered_on,
            }
        )
    events.append(
        {
            "event_id": f"{prefix}-c",
            "type": "contribution.paid",
            "nik": item.nik,
            "programs": list(item.programs),
            "months_from": item.months_from,
            "months_to": item.months_to,
            "amount": item.amount,
            "payer": payer,
            "paid_on": item.paid_on or recording_day,
        }
    )
    return events


def defaulted_day_note(row: SponsorRow, *, column: str | None, code: str, enrols: bool) -> str:
    """What a refusal resting on a day the row left empty must add: that the upload's day was
    taken (a BPU probe was told of a lapse "on" a day its file never gave). `enrols`: the row
    enrols its worker, so its `registered_on` starts the membership."""
    empty = None
    if column == "paid_on" and row.paid_on is None:
        empty = "paid_on"
    elif enrols and (column == "registered_on" or code == "before_membership") and row.registered_on is None:
        empty = "registered_on"
    if empty is None:
        return ""
    return f" ({empty} was left empty, so the upload's day was taken: give the day it happened)"
