"""One row of a sponsor roster (a regional government or SERTAKAN sponsor paying for informal
workers), checked on its own and turned into the events it asserts: the worker's registration and
BPU membership when the ledger does not have them yet, and the payment. The contribution rules
(amount, grace, a month paid once) are then checked by the append path itself."""

import re
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from coverage_ledger.domain.access import region_within
from coverage_ledger.domain.nik import Nik, parse_nik
from coverage_ledger.errors import ErrorItem
from coverage_ledger.uploads.officer_rows import parse_day

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
_SEXES = {"M": "M", "L": "M", "F": "F", "P": "F"}
_MONTH = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$")
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


def check_sponsor_header(header: Sequence[str]) -> dict[str, int]:
    """Column positions by name; a wrong header is a file-level problem (ValueError)."""
    positions = {name: index for index, name in enumerate(header)}
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    unknown = [c for c in positions if c and c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown or len(positions) != len(header):
        expected = ",".join(REQUIRED_COLUMNS) + " (optional: " + ", ".join(OPTIONAL_COLUMNS) + ")"
        problems = [f"missing column(s): {', '.join(missing)}"] if missing else []
        problems += [f"unknown column(s): {', '.join(unknown)}"] if unknown else []
        problems += ["a column appears twice"] if len(positions) != len(header) else []
        raise ValueError(f"wrong header: {'; '.join(problems)}; expected {expected}")
    return positions


def _rupiah(cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem]) -> int:
    text = cells.get(column, "")
    if not text.isascii() or not text.isdigit():
        errors.append(
            ErrorItem(
                "invalid_amount",
                f"{column} {text!r} is not whole rupiah written with digits only (no Rp, dots or commas)",
                row=row,
                column=column,
            )
        )
        return 0
    return int(text)


def _month(cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem]) -> str:
    text = cells.get(column, "")
    if not _MONTH.match(text):
        errors.append(
            ErrorItem("invalid_month", f"{column} {text!r} is not a month YYYY-MM", row=row, column=column)
        )
    return text


def _optional_day(cells: Mapping[str, str], column: str, row: int, errors: list[ErrorItem]) -> date | None:
    text = cells.get(column, "")
    if not text:
        return None
    day = parse_day(text)
    if day is None:
        errors.append(ErrorItem("invalid_date", f"{column} {text!r} is not a date", row=row, column=column))
    return day


def check_sponsor_row(
    row: int,
    cells: Mapping[str, str],
    *,
    districts: Container[str],
    regions: Container[str],
    key_region_prefix: str | None,
) -> SponsorRow | list[ErrorItem]:
    """The checked row, or every error found in it."""
    errors: list[ErrorItem] = []
    nik = parse_nik(cells.get("nik", ""), known_districts=districts)
    if isinstance(nik, ErrorItem):
        errors.append(ErrorItem(nik.code, nik.message, row=row, column="nik"))
    name = cells.get("name", "")
    if not name:
        errors.append(ErrorItem("missing_value", "name is empty", row=row, column="name"))
    sex = _SEXES.get(cells.get("sex", "").upper())
    if sex is None:
        errors.append(ErrorItem("invalid_sex", "sex is not M/F (or L/P)", row=row, column="sex"))
    birth = parse_day(cells.get("birth_date", ""))
    if birth is None:
        errors.append(ErrorItem("invalid_date", "birth_date is not a date", row=row, column="birth_date"))
    if isinstance(nik, Nik):
        if sex is not None and sex != nik.sex:
            errors.append(
                ErrorItem("sex_mismatch_nik", f"sex {sex} disagrees with the NIK", row=row, column="sex")
            )
        if birth is not None and not nik.birth_date_matches(birth):
            errors.append(
                ErrorItem(
                    "birth_date_mismatch_nik",
                    f"birth date {birth.isoformat()} disagrees with the NIK's DDMMYY",
                    row=row,
                    column="birth_date",
                )
            )
    region = cells.get("region_code", "")
    if region not in regions:
        errors.append(
            ErrorItem(
                "unknown_region",
                f"region code {region!r} is not in the Kemendagri list",
                row=row,
                column="region_code",
            )
        )
    elif not region_within(region, key_region_prefix):
        errors.append(
            ErrorItem(
                "region_out_of_scope",
                f"region {region} is outside this key's region",
                row=row,
                column="region_code",
            )
        )
    programs = tuple(sorted(p for p in re.split(r"[\s,;+|/]+", cells.get("programs", "").upper()) if p))
    if not programs or not set(programs) <= _PROGRAMS or not {"JKK", "JKM"} <= set(programs):
        errors.append(
            ErrorItem(
                "invalid_programs",
                f"programs {cells.get('programs', '')!r}: JKK and JKM, and optionally JHT",
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
    paid_on = _optional_day(cells, "paid_on", row, errors)
    registered_on = _optional_day(cells, "registered_on", row, errors)
    if errors or not isinstance(nik, Nik) or birth is None or sex is None:
        return errors
    return SponsorRow(
        row,
        nik.value,
        name,
        birth,
        sex,
        cells.get("phone") or None,
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
