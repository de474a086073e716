"""Property: whatever a person's officer terms and BPU memberships in two regions, a regional key's
answer has the person's own status and programs, names no enrolment outside the key's region
(nor a payment made to one), counts every one it leaves out, and is the national answer itself
when nothing lies outside."""

from datetime import date, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.informal import InformalEnrolment, Payment, paying_enrolment
from coverage_ledger.domain.months import Month
from coverage_ledger.domain.officer import OfficerTerm
from coverage_ledger.domain.person_coverage import PersonSources, answer_as_read_by, answer_on
from coverage_ledger.domain.rule_table import RuleTable

START = date(2024, 1, 1)
REGIONS = ("16.71.01", "16.72.01", "32.73.01")
PALEMBANG = Principal(key_name="palembang", role=Role.REGIONAL_OFFICE, region_prefix="16.71")

terms_drawn = st.lists(
    st.tuples(st.sampled_from(REGIONS), st.integers(1, 60), st.integers(0, 30), st.integers(-10, 40)),
    min_size=1,
    max_size=5,
)


def _terms(drawn: list[tuple[str, int, int, int]]) -> list[OfficerTerm]:
    """Terms one after another (officer terms of a person never overlap), each `gap` days after
    the last, `length` days long, registered `late` days after it begins (negative: before)."""
    terms, day = [], START
    for index, (region, length, gap, late) in enumerate(drawn):
        begins = day + timedelta(days=gap)
        terms.append(
            OfficerTerm(
                event_id=f"term-{index}",
                nik="1671014501900001",
                role="KPPS",
                committee=f"KPU-{region[:5]}",
                region_code=region,
                programs=("JKK", "JKM") if index % 2 else ("JKK",),
                valid_from=begins,
                valid_to=begins + timedelta(days=length),
                registered_on=begins + timedelta(days=late),
            )
        )
        day = begins + timedelta(days=length)
    return terms


@given(drawn=terms_drawn, offset=st.integers(-5, 500))
def test_a_regional_answer_keeps_the_status_and_names_nothing_outside(
    drawn: list[tuple[str, int, int, int]], offset: int
) -> None:
    terms = _terms(drawn)
    sources = PersonSources("reg-1", "16.71.01", terms, [], [], [])
    valid_at = START + timedelta(days=offset)
    full, _ = answer_on(sources, valid_at=valid_at, rules=None)
    scoped = answer_as_read_by(PALEMBANG, sources=sources, answer=full, valid_at=valid_at, rules=None)

    assert (scoped.status, scoped.programs) == (full.status, full.programs)
    outside = [t for t in terms if not PALEMBANG.sees(t.region_code)]
    assert scoped.sources_outside_region == len(outside)
    assert all(PALEMBANG.sees(s.region_code) for s in scoped.sources)
    assert len(scoped.sources) + len(outside) == len(full.sources)
    told = f"{scoped.reason} {scoped.evidence}"
    for term in outside:
        assert term.event_id not in told and term.committee not in told
    if not outside:
        assert scoped == full


RULES = RuleTable(rates=(), reliefs=(), grace_months=3, grace_rule_id="grace")
memberships_drawn = st.lists(st.tuples(st.sampled_from(REGIONS), st.integers(0, 14)), max_size=2)
payments_drawn = st.lists(st.tuples(st.integers(0, 20), st.integers(1, 6)), max_size=4)


def _memberships(drawn: list[tuple[str, int]]) -> list[InformalEnrolment]:
    first = Month.of(START)
    return [
        InformalEnrolment(
            event_id=f"bpu-{index}",
            programs=("JKK", "JKM"),
            declared_income=1_000_000,
            region_code=region,
            valid_from=first.plus(months).first_day,
            registered_on=first.plus(months).first_day,
            sector="other",
            payer_budget=None,
        )
        for index, (region, months) in enumerate(drawn)
    ]


def _payments(drawn: list[tuple[int, int]]) -> list[Payment]:
    """Payments one after another from month `offset`, each `length` months (no month twice)."""
    payments, month = [], Month.of(START)
    for index, (offset, length) in enumerate(drawn):
        first = month.plus(offset)
        last = first.plus(length - 1)
        payments.append(
            Payment(f"pay-{index}", ("JKK", "JKM"), first, last, 16_800 * length, first.first_day)
        )
        month = last.plus(1)
    return payments


@settings(max_examples=300)
# found by a review: a member in Palembang since 2024 who joined again in Bandung in 2025 and paid
# there read, to Palembang, as covered by the old membership with Bandung's payment
@example(
    terms=[("16.71.01", 20, 0, 0)],
    memberships=[("16.71.01", 0), ("32.73.01", 12)],
    payments=[(12, 6)],
    offset=435,
)
@given(
    terms=terms_drawn,
    memberships=memberships_drawn,
    payments=payments_drawn,
    offset=st.integers(-5, 700),
)
def test_a_regional_answer_names_no_membership_or_payment_outside(
    terms: list[tuple[str, int, int, int]],
    memberships: list[tuple[str, int]],
    payments: list[tuple[int, int]],
    offset: int,
) -> None:
    enrolments = _memberships(memberships)
    paid = _payments(payments) if enrolments else []
    sources = PersonSources("reg-1", "16.71.01", _terms(terms), enrolments, paid, [])
    valid_at = START + timedelta(days=offset)
    full, _ = answer_on(sources, valid_at=valid_at, rules=RULES)
    scoped = answer_as_read_by(PALEMBANG, sources=sources, answer=full, valid_at=valid_at, rules=RULES)

    assert (scoped.status, scoped.programs) == (full.status, full.programs)
    assert all(PALEMBANG.sees(s.region_code) for s in scoped.sources)
    assert scoped.sources_outside_region == sum(not PALEMBANG.sees(s.region_code) for s in full.sources)
    outside = {e.event_id for e in enrolments if not PALEMBANG.sees(e.region_code)}
    told = set(scoped.evidence) | {s.event_id for s in scoped.sources}
    assert not told & outside
    for payment in paid:
        owner = paying_enrolment(enrolments, payment.first)
        if payment.event_id in told:
            assert owner is not None and owner.event_id not in outside, (payment, owner)
    if scoped.sources_outside_region == 0:
        assert scoped == full
