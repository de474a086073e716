"""Property: whatever a person's officer terms in two regions, a regional key's answer has the
person's own status and programs, names no enrolment outside the key's region, counts every one
it leaves out, and is the national answer itself when nothing lies outside."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from coverage_ledger.coverage.service import PersonSources, answer_as_read_by, answer_on
from coverage_ledger.domain.access import Principal, Role
from coverage_ledger.domain.officer import OfficerTerm

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
    scoped = answer_as_read_by(PALEMBANG, sources, full, valid_at=valid_at, rules=None)

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
