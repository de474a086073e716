"""Shapes of Kemendagri region codes (`16`, `16.71`, `16.71.01`, `16.71.01.1001`)."""

REGION_CODE_PATTERN = r"^[0-9]{2}(\.[0-9]{2}(\.[0-9]{2}(\.[0-9]{4})?)?)?$"
"""A code of any level, as requests and events must write it ([0-9]: ASCII digits only)."""


def region_level(code: str) -> int:
    """1 province, 2 regency/city, 3 district, 4 village."""
    return code.count(".") + 1


def region_parent(code: str) -> str | None:
    """The enclosing region's code, None for a province."""
    return code.rsplit(".", 1)[0] if "." in code else None


def child_code_length(code: str | None) -> int:
    """The length of a child's code under `code` (None: the nation, whose children are
    provinces): 16 → 16.71 → 16.71.01 → 16.71.01.1001; a village's is its own."""
    return {None: 2, 1: 5, 2: 8}.get(None if code is None else region_level(code), 13)
