"""Issue "claims": payouts of a province grouped by region, as known at a random moment, with
100,000 claims in the province (and claims elsewhere). Claims go through the append path like an
office's: officers enrolled, then claims filed and approved in batches, paid in later txs (some
in two parts), a few payments reversed, so the knowledge moves tx after tx."""

import random
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import uvloop
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.common import bench_database, summarize_ms
from coverage_ledger.claims.service import payouts
from coverage_ledger.database.engine import create_engine_for, session_factory
from coverage_ledger.domain.access import SYSTEM
from coverage_ledger.ledger.asof import AsOf
from coverage_ledger.ledger.schemas import AppendRequest
from coverage_ledger.ledger.service import append_events

SIZES = {
    "small": {"province": 10_000, "elsewhere": 2_000, "batch": 2_000, "reads": 50},
    "medium": {"province": 100_000, "elsewhere": 0, "batch": 5_000, "reads": 100},
    "full": {"province": 100_000, "elsewhere": 50_000, "batch": 5_000, "reads": 200},
}
PROVINCE = "16"
DISTRICTS = {  # district codes (domicile and enrolment region) with the NIK prefix they use
    "16": ["16.71.01", "16.71.02", "16.07.01", "16.03.01", "16.05.01", "16.10.01"],
    "elsewhere": ["32.73.01", "35.15.01", "31.71.01"],
}


def _nik(index: int, district: str) -> str:
    born = date(1960 + index % 40, 1 + index // 40 % 12, 1 + index // 480 % 28)
    day = born.day + (40 if index % 2 == 0 else 0)
    return (
        f"{district.replace('.', '')}{day:02d}{born.month:02d}{born.year % 100:02d}{1 + index // 13440:04d}"
    )


async def _append(maker: async_sessionmaker[AsyncSession], events: list[dict[str, Any]]) -> int:
    async with maker() as session, session.begin():
        request = AppendRequest.model_validate({"events": events})
        result = await append_events(
            session, principal=SYSTEM, events=request.events, source="bench", now=datetime.now(UTC)
        )
        return result.tx_seq


def _claim_events(
    number: int, nik: str, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(filing and decision, payments) of one claim."""
    claim_id = f"B-{number:07d}"
    incident = date(2024, 1, 26) + timedelta(days=rng.randrange(28))
    work = rng.random() < 0.25
    filed = {
        "event_id": f"{claim_id}:f",
        "type": "claim.filed",
        "claim_id": claim_id,
        "nik": nik,
        "benefit": "JKK_DEATH" if work else "JKM",
        "incident_date": incident.isoformat(),
        "filed_on": (incident + timedelta(days=5)).isoformat(),
        "wage": rng.choice([1_100_000, 1_200_000, 1_300_000, 1_500_000, 2_200_000, 2_500_000]),
    }
    decision = {
        "event_id": f"{claim_id}:a",
        "type": "claim.approved",
        "claim_id": claim_id,
        "decided_on": (incident + timedelta(days=8)).isoformat(),
    }
    amount = 48 * int(filed["wage"]) + 22_000_000 if work else 42_000_000
    paid_on = incident + timedelta(days=10 + rng.randrange(60))
    parts = [amount] if rng.random() < 0.8 else [amount // 2, amount - amount // 2]
    payments = [
        {
            "event_id": f"{claim_id}:p{i}",
            "type": "claim.paid",
            "claim_id": claim_id,
            "amount": part,
            "paid_on": (paid_on + timedelta(days=20 * i)).isoformat(),
        }
        for i, part in enumerate(parts)
    ]
    return [filed, decision], payments


async def _load(
    maker: async_sessionmaker[AsyncSession], sizes: dict[str, int], rng: random.Random
) -> dict[str, Any]:
    people: list[tuple[str, str]] = []
    for where, count in (("16", sizes["province"]), ("elsewhere", sizes["elsewhere"])):
        districts = DISTRICTS[where]
        people += [
            (_nik(i, districts[i % len(districts)]), districts[i % len(districts)]) for i in range(count)
        ]
    started = time.perf_counter()
    for start in range(0, len(people), sizes["batch"]):
        events: list[dict[str, Any]] = []
        for nik, district in people[start : start + sizes["batch"]]:
            events += [
                {
                    "event_id": f"r:{nik}",
                    "type": "person.registered",
                    "nik": nik,
                    "name": "x",
                    "region_code": district,
                },
                {
                    "event_id": f"k:{nik}",
                    "type": "officer.enrolled",
                    "nik": nik,
                    "role": "KPPS",
                    "committee": f"KPU-{district[:5]}",
                    "region_code": district,
                    "valid_from": "2024-01-25",
                    "valid_to": "2024-02-24",
                    "registered_on": "2024-01-20",
                },
            ]
        await _append(maker, events)
    enrolled_s = time.perf_counter() - started
    rng.shuffle(people)
    started = time.perf_counter()
    pending: list[dict[str, Any]] = []
    txs: list[int] = []
    claims = 0
    for start in range(0, len(people), sizes["batch"]):
        decided: list[dict[str, Any]] = []
        for number, (nik, _) in enumerate(people[start : start + sizes["batch"]], start=start):
            filing, payments = _claim_events(number, nik, rng)
            decided += filing
            pending += payments
            claims += 1
        txs.append(await _append(maker, decided))
        rng.shuffle(pending)
        paying, pending = pending[: len(pending) // 2], pending[len(pending) // 2 :]
        for chunk in range(0, len(paying), sizes["batch"]):
            txs.append(await _append(maker, _in_order(paying[chunk : chunk + sizes["batch"]])))
    for chunk in range(0, len(pending), sizes["batch"]):
        txs.append(await _append(maker, _in_order(pending[chunk : chunk + sizes["batch"]])))
    reversals = [
        {"event_id": f"{p}:rev", "type": "claim.reversed", "claim_id": p, "reason": "returned by the bank"}
        for p in rng.sample([f"B-{n:07d}" for n in range(claims)], k=max(1, claims // 200))
    ]
    txs.append(await _append(maker, reversals))
    return {
        "persons": len(people),
        "claims": claims,
        "enrol_s": round(enrolled_s, 1),
        "claims_s": round(time.perf_counter() - started, 1),
        "claim_txs": len(txs),
        "first_claim_tx": txs[0],
        "last_tx": txs[-1],
    }


def _in_order(payments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Second parts after first parts, so no batch pays a part before the claim is approved."""
    return sorted(payments, key=lambda p: p["event_id"][-1])


async def _measure(url: str, sizes: dict[str, int]) -> dict[str, Any]:
    engine = create_engine_for(url, pool_size=2)
    maker = session_factory(engine)
    rng = random.Random(2024)
    loaded = await _load(maker, sizes, rng)
    samples: dict[str, list[float]] = {"region": [], "benefit": [], "month": []}
    checked: dict[str, Any] = {}
    for _ in range(sizes["reads"]):
        tx = rng.randint(loaded["first_claim_tx"], loaded["last_tx"])
        as_of = AsOf(date(2024, 12, 31), None, tx)
        for group_by, times in samples.items():
            async with maker() as session, session.begin():
                started = time.perf_counter()
                result = await payouts(
                    session,
                    principal=SYSTEM,
                    as_of=as_of,
                    region=PROVINCE,
                    paid_from=None,
                    paid_to=None,
                    group_by=group_by,
                )
                times.append(time.perf_counter() - started)
            assert sum(g.paid_amount for g, _ in result.groups) == result.total.paid_amount
    async with maker() as session, session.begin():
        final = await payouts(
            session,
            principal=SYSTEM,
            as_of=AsOf(date(2024, 12, 31), None, loaded["last_tx"]),
            region=PROVINCE,
            paid_from=None,
            paid_to=None,
            group_by="region",
        )
        checked = {
            "claims_paid": final.total.claims,
            "rupiah": final.total.paid_amount,
            "groups": len(final.groups),
        }
    await engine.dispose()
    return {
        **loaded,
        "final": checked,
        **{f"payouts_by_{group_by}": summarize_ms(times) for group_by, times in samples.items()},
    }


def run(*, size: str) -> dict[str, Any]:
    """Load and measure; the figures as a dict."""
    with bench_database(f"bench_claims_{size}") as url:
        return uvloop.run(_measure(url, SIZES[size]))
