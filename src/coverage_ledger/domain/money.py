"""Integer rupiah. Amounts derived from percentages round half up to the whole rupiah."""

BASIS_POINTS = 10_000
"""Rates are integers in basis points (1% = 100), so no float ever enters the ledger."""


def percent_of(amount: int, basis_points: int) -> int:
    """`amount` × `basis_points` / 10,000, rounded half up (amounts are never negative)."""
    return percent_of_percent(amount, basis_points, BASIS_POINTS)


def percent_of_percent(amount: int, first_bp: int, second_bp: int) -> int:
    """`amount` × `first_bp` / 10,000 × `second_bp` / 10,000, rounded half up once (rounding
    the first share before taking the second could move the result by a rupiah)."""
    if amount < 0 or first_bp < 0 or second_bp < 0:
        raise ValueError("amounts and rates are not negative")
    scale = BASIS_POINTS * BASIS_POINTS
    return (amount * first_bp * second_bp * 2 + scale) // (2 * scale)


def rupiah(amount: int) -> str:
    """`Rp42,000,000`: how messages and bases write an amount."""
    return f"Rp{amount:,}"
