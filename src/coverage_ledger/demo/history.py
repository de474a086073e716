"""The demo's history as plain data: who enrolled, paid, was corrected, and when the ledger
learned it. No I/O; deterministic for a scale.

The headline figure is the source article's: a regional office reports that 9.83% of its 30.2
million potential informal workers (2.97 million) are covered. The facts file notes that these
figures match the national count of vulnerable workers rather than South Sumatra's workforce; the
demo keeps the article's wording and spreads the figures over the real regencies of South
Sumatra (province 16), divided by `scale`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import pairwise
from typing import Any

from coverage_ledger.demo.claims_history import claim_events
from coverage_ledger.domain.timeframes import JAKARTA

ARTICLE_POTENTIAL = 30_200_000
ARTICLE_RATIO = 0.0983
ARTICLE_SOURCE = (
    "Regional office report as quoted by the source article: 30.2 million potential informal "
    "workers, 9.83% (2.97 million) covered; the figures match the national vulnerable-worker "
    "count (borneotrend 2025/05: 30.85 million, about 2.9 million covered)"
)
VALID_AT = date(2024, 12, 15)
"""The date the article's ratio holds for in the demo, as known after the whole history."""
OFFICERS_AT_SCALE_1 = 120_000
"""KPPS of South Sumatra for Pemilu 2024, roughly (7 per polling station)."""
MONTHLY = 16_800
"""JKK Rp10,000 (1% of Rp1,000,000, the minimum) + JKM Rp6,800 a month, no relief in 2024."""
DECLARED_INCOME = 1_000_000
PROVINCE_BUDGET = {"kind": "organisation", "name": "Pemprov Sumatera Selatan", "budget": "APBD"}
BIRTHDAYS = [date(1960 + i % 40, 1 + i % 12, 1 + i % 28) for i in range(480)]


@dataclass
class DemoTx:
    """One backfilled tx: when the ledger learned it, and what."""

    recorded_at: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""


@dataclass(frozen=True, slots=True)
class Regency:
    """A regency or city of the province, with a district whose code prefixes its NIKs."""

    code: str
    name: str
    district: str


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=JAKARTA)


def _split(total: int, parts: int) -> list[int]:
    """`total` over `parts` with uneven but fixed weights, summing exactly (largest remainder)."""
    weights = [3 + (i * 7) % 11 for i in range(parts)]
    exact = [total * w / sum(weights) for w in weights]
    shares = [int(x) for x in exact]
    order = sorted(range(parts), key=lambda i: exact[i] - shares[i], reverse=True)
    for i in order[: total - sum(shares)]:
        shares[i] += 1
    return shares


class _Niks:
    """Valid, distinct NIKs per district."""

    def __init__(self) -> None:
        self.used: dict[str, int] = {}

    def next(self, district: str) -> tuple[str, date, bool]:
        n = self.used.get(district, 0)
        self.used[district] = n + 1
        born = BIRTHDAYS[n % len(BIRTHDAYS)]
        female = n % 2 == 0
        day = born.day + (40 if female else 0)
        serial = 1 + n // len(BIRTHDAYS)
        return (
            f"{district.replace('.', '')}{day:02d}{born.month:02d}{born.year % 100:02d}{serial:04d}",
            born,
            female,
        )


def _person(nik: str, born: date, female: bool, region: str, name: str) -> dict[str, Any]:
    return {
        "event_id": f"demo:{nik}:p",
        "type": "person.registered",
        "nik": nik,
        "name": name,
        "birth_date": born.isoformat(),
        "sex": "F" if female else "M",
        "region_code": region,
    }


def _chunked(txs: list[DemoTx], limit: int = 4_000) -> list[DemoTx]:
    out: list[DemoTx] = []
    for tx in txs:
        for start in range(0, len(tx.events), limit):
            out.append(
                DemoTx(
                    tx.recorded_at + timedelta(seconds=start // limit),
                    tx.events[start : start + limit],
                    tx.label,
                )
            )
    return out


@dataclass
class DemoHistory:
    """The txs, and what they should add up to."""

    txs: list[DemoTx]
    potential: int
    covered: int
    sample_covered: str
    sample_late_payer: str


def build_history(regencies: Sequence[Regency], *, scale: int) -> DemoHistory:
    """The whole demo history, oldest tx first."""
    niks = _Niks()
    potential = round(ARTICLE_POTENTIAL / scale)
    covered = round(ARTICLE_RATIO * potential)
    estimates = DemoTx(_at(date(2024, 1, 10)), label="potential estimates 2024")
    for regency, count in zip(regencies, _split(potential, len(regencies)), strict=True):
        estimates.events.append(
            {
                "event_id": f"demo:potential:{regency.code}:2024",
                "type": "potential.estimated",
                "region_code": regency.code,
                "segment": "informal",
                "valid_from": "2024-01-01",
                "count": count,
                "source": ARTICLE_SOURCE,
            }
        )
    for regency, count in zip(regencies, _officer_counts(regencies, scale), strict=True):
        # every KPPS of the regency is the officer potential: with both segments estimated, the
        # `all` ratio is known too
        estimates.events.append(
            {
                "event_id": f"demo:potential:{regency.code}:officer:2024",
                "type": "potential.estimated",
                "region_code": regency.code,
                "segment": "officer",
                "valid_from": "2024-01-01",
                "count": count,
                "source": "KPPS of South Sumatra for Pemilu 2024, about 7 per polling station",
            }
        )
    txs = [estimates, *_officers(regencies, niks, scale)]
    txs += _informal(regencies, niks, covered)

    def new_person(district: str, name: str) -> tuple[str, dict[str, Any]]:
        nik, born, female = niks.next(district)
        return nik, _person(nik, born, female, district, name)

    txs += [
        DemoTx(at, events, label)
        for at, label, events in claim_events([r.district for r in regencies], new_person)
    ]
    txs.sort(key=lambda tx: tx.recorded_at)
    workers = [e for tx in txs for e in tx.events if e["type"] == "informal.enrolled"]
    late = next(e["nik"] for tx in txs if tx.label == "late payments" for e in tx.events)
    chunks = _chunked(txs)
    for previous, tx in pairwise(chunks):
        # the ledger takes backfills in strictly increasing recorded_at
        tx.recorded_at = max(tx.recorded_at, previous.recorded_at + timedelta(seconds=1))
    return DemoHistory(chunks, potential, covered, workers[0]["nik"], late)


def _officer_counts(regencies: Sequence[Regency], scale: int) -> list[int]:
    """The KPPS of each regency at this scale."""
    return _split(max(1, round(OFFICERS_AT_SCALE_1 / scale)), len(regencies))


def _officers(regencies: Sequence[Regency], niks: _Niks, scale: int) -> list[DemoTx]:
    """KPPS rosters of Pemilu 2024, recorded days after the term began; a few terms corrected."""
    rosters, corrections = [], DemoTx(_at(date(2024, 2, 20)), label="term corrections")
    for index, (regency, count) in enumerate(zip(regencies, _officer_counts(regencies, scale), strict=True)):
        tx = DemoTx(
            _at(date(2024, 2, 1) + timedelta(days=index % 10), 14), label=f"KPPS roster {regency.name}"
        )
        for i in range(count):
            nik, born, female = niks.next(regency.district)
            enrolment = {
                "event_id": f"demo:{nik}:kpps2024",
                "type": "officer.enrolled",
                "nik": nik,
                "role": "KPPS",
                "committee": f"KPU-{regency.code}",
                "region_code": regency.district,
                "valid_from": "2024-01-25",
                "valid_to": "2024-02-24",
                "registered_on": "2024-01-20",
            }
            tx.events += [_person(nik, born, female, regency.district, f"Petugas KPPS {i + 1}"), enrolment]
            if i % 33 == 5:
                corrections.events.append(
                    {
                        "event_id": f"demo:{nik}:kpps2024-fix",
                        "type": "event.corrected",
                        "supersedes": [enrolment["event_id"]],
                        "reason": "appointment letter: duty from 27 Jan",
                        "replacement": {
                            **enrolment,
                            "event_id": f"demo:{nik}:kpps2024-b",
                            "valid_from": "2024-01-27",
                        },
                    }
                )
        rosters.append(tx)
    return [*rosters, corrections]


def _payment(
    nik: str, first: str, last: str, months: int, paid_on: date, payer: dict[str, Any], tag: str
) -> dict[str, Any]:
    return {
        "event_id": f"demo:{nik}:{tag}",
        "type": "contribution.paid",
        "nik": nik,
        "programs": ["JKK", "JKM"],
        "months_from": first,
        "months_to": last,
        "amount": MONTHLY * months,
        "payer": payer,
        "paid_on": paid_on.isoformat(),
    }


def _informal(regencies: Sequence[Regency], niks: _Niks, covered: int) -> list[DemoTx]:
    """BPU workers from July 2024: most paid through December, a tenth of them late; one in
    twenty more paid July only and lapsed."""
    joined = DemoTx(_at(date(2024, 7, 5)), label="BPU enrolments and first payments")
    second = DemoTx(_at(date(2024, 10, 7)), label="fourth-quarter payments")
    late = DemoTx(_at(date(2024, 12, 20)), label="late payments")
    lapsing = round(covered / 20)
    total = covered + lapsing
    lapsed = set(range(20, total, 21)[:lapsing])
    lapsed |= (
        set(range(total - 1, -1, -1)[: lapsing - len(lapsed)]) - lapsed if len(lapsed) < lapsing else set()
    )
    for index, regency in enumerate(_spread(regencies, total)):
        nik, born, female = niks.next(regency.district)
        payer = PROVINCE_BUDGET if index % 5 < 3 else {"kind": "self"}
        joined.events += [
            _person(nik, born, female, regency.district, f"Pekerja {index + 1}"),
            {
                "event_id": f"demo:{nik}:bpu",
                "type": "informal.enrolled",
                "nik": nik,
                "programs": ["JKK", "JKM"],
                "declared_income": DECLARED_INCOME,
                "region_code": regency.district,
                "valid_from": "2024-07-01",
                "sector": "other",
                "payer": payer,
                "registered_on": "2024-06-25",
            },
        ]
        if index in lapsed:  # paid July only: lapsed from 1 November
            joined.events.append(_payment(nik, "2024-07", "2024-07", 1, date(2024, 7, 5), payer, "pay-jul"))
            continue
        joined.events.append(_payment(nik, "2024-07", "2024-09", 3, date(2024, 7, 5), payer, "pay-q3"))
        target = late if index % 10 == 3 else second
        paid_on = date(2024, 12, 20) if target is late else date(2024, 10, 7)
        target.events.append(_payment(nik, "2024-10", "2024-12", 3, paid_on, payer, "pay-q4"))
    return [joined, second, late]


def _spread(regencies: Sequence[Regency], count: int) -> list[Regency]:
    out: list[Regency] = []
    for regency, share in zip(regencies, _split(count, len(regencies)), strict=True):
        out += [regency] * share
    return out
