"""Property: a person's coverage spans decided on the few days a status can change on equal those
decided on the first day of every month from the first to the last (how they were found before a
payment for 2025 to 2099 took ten seconds of the event loop)."""

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coverage_ledger.coverage import spans
from coverage_ledger.domain.informal import InformalEnrolment, Payment, Reactivation
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.officer import OfficerTerm
from coverage_ledger.domain.person_coverage import PersonSources
from coverage_ledger.domain.rule_table import rule_table
from coverage_ledger.reference.rules import rule_events

RULES = rule_table([event.model_dump(mode="json") for event in rule_events()])
START = date(2024, 1, 1)
REGIONS = ("16.71.01", "32.73.01")


def every_month_breakpoints(sources: PersonSources, grace_months: int) -> list[date]:
    """The reference: each source's days and the first day of every month in between."""
    days: set[date] = set()
    for term in sources.terms:
        days |= {term.valid_from, term.valid_to, term.covers_from}
    months: set[Month] = set()
    for enrolment in sources.enrolments:
        days |= {enrolment.valid_from, enrolment.covers_from}
        months.add(Month.of(enrolment.covers_from))
    for payment in sources.payments:
        months |= {payment.first, payment.last.plus(grace_months + 2)}
    for reactivation in sources.reactivations:
        days.add(reactivation.reactivated_on)
        months.add(Month.of(reactivation.reactivated_on).plus(grace_months + 2))
    if months:
        month, last = min(months), max(months)
        while month <= last:
            days.add(month.first_day)
            month = month.plus(1)
    return sorted(days)


day = st.integers(0, 1000).map(lambda n: START + timedelta(days=n))
terms = st.lists(
    st.tuples(day, st.integers(1, 90), st.integers(-30, 60), st.sampled_from(REGIONS)), max_size=2
)
enrolments = st.lists(st.tuples(day, st.integers(0, 40), st.sampled_from(REGIONS)), min_size=1, max_size=2)
payments = st.lists(
    st.tuples(st.integers(0, 36), st.integers(1, 14), st.sampled_from([("JKK", "JKM"), ("JKK",), ("JHT",)])),
    max_size=6,
)
reactivations = st.lists(day, max_size=2)


@settings(max_examples=300, deadline=None)
@given(terms=terms, enrolments=enrolments, payments=payments, reactivations=reactivations)
def test_spans_from_the_change_days_equal_spans_from_every_month(
    terms: list[tuple[date, int, int, str]],
    enrolments: list[tuple[date, int, str]],
    payments: list[tuple[int, int, tuple[str, ...]]],
    reactivations: list[date],
) -> None:
    sources = PersonSources(
        registration_event="reg",
        domicile="16.71.01",
        terms=[
            OfficerTerm(
                f"term-{i}",
                "nik",
                "KPPS",
                "KPU",
                region,
                ("JKK", "JKM"),
                start,
                start + timedelta(days=length),
                start + timedelta(days=registered),
            )
            for i, (start, length, registered, region) in enumerate(terms)
        ],
        enrolments=[
            InformalEnrolment(
                f"bpu-{i}",
                ("JKK", "JKM"),
                1_000_000,
                region,
                start,
                start + timedelta(days=late),
                "other",
                None,
            )
            for i, (start, late, region) in enumerate(enrolments)
        ],
        payments=[
            Payment(
                f"pay-{i}",
                programs,
                Month.of(START).plus(first),
                Month.of(START).plus(first + length - 1),
                16_800 * length,
                START,
            )
            for i, (first, length, programs) in enumerate(payments)
        ],
        reactivations=[Reactivation(f"react-{i}", when) for i, when in enumerate(reactivations)],
    )
    found = spans.spans_of(sources, RULES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(spans, "breakpoints", every_month_breakpoints)
        assert found == spans.spans_of(sources, RULES)


def test_a_payment_for_seventy_five_years_is_decided_on_a_few_days() -> None:
    sources = PersonSources(
        "reg",
        "16.71.01",
        [],
        [InformalEnrolment("bpu", ("JKK", "JKM"), 1_000_000, REGIONS[0], START, START, "other", None)],
        [Payment("pay", ("JKK", "JKM"), Month(2024, 1), Month(2099, 12), 16_800 * 912, START)],
        [],
    )
    assert len(spans.breakpoints(sources, RULES.grace_months)) < 20
    assert spans.spans_of(sources, RULES) == [spans.Span(START, date(2100, 1, 1), REGIONS[0], False, True)]
