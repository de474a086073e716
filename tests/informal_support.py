"""The BPU domain's objects as the rule tests build them: one membership and its payments."""

from datetime import date

from coverage_ledger.domain.informal import InformalEnrolment, Payment
from coverage_ledger.domain.months import Month

ENROLMENT = InformalEnrolment(
    event_id="bpu-1",
    programs=("JKK", "JKM"),
    declared_income=1_000_000,
    region_code="16.71.01",
    valid_from=date(2025, 1, 1),
    registered_on=date(2025, 1, 1),
    sector="other",
    payer_budget=None,
)
"""A member of 16.71.01 from 1 Jan 2025 on Rp1,000,000 (Rp16,800 a month), paying self."""


def paid_months(event_id: str, first: str, last: str, on: date) -> Payment:
    """A payment of JKK and JKM for the months `first` to `last`, Rp16,800 each, paid `on`."""
    return Payment(event_id, ("JKK", "JKM"), Month.parse(first), Month.parse(last), 16_800, on)
