"""What an append knows of the ledger before the append lock: the snapshot its checks read
(`snapshot_repository.read_snapshot`), all of one committed state (the snapshot's tx_seq)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from coverage_ledger.ledger.projections_repository import InForceEvent, Subgraph
from coverage_ledger.ledger.repository import StoredEvent


@dataclass(frozen=True, slots=True)
class RegionDefinition:
    """A region code's definition in force: the event and the valid time it gives the code."""

    event_id: str
    valid_from: date | None
    valid_to: date | None

    @classmethod
    def of(cls, event_id: str, fields: Mapping[str, Any]) -> "RegionDefinition":
        """From a definition's `valid_from` and `valid_to` as JSON gives them (ISO text or null)."""
        return cls(event_id, day_of(fields.get("valid_from")), day_of(fields.get("valid_to")))


@dataclass(slots=True)
class Snapshot:
    """What the ledger held at `tx_seq`, as far as one append needs to know."""

    tx_seq: int
    stored: dict[str, StoredEvent]
    """Committed events among the batch's own ids and its correction targets."""
    regions_in_force: set[str]
    districts_known: set[str]
    """District codes some decree defined (NIKs keep their issuing code)."""
    registered_niks: set[str]
    graph: Subgraph
    """The supersession graph downstream of the targets."""
    officer_terms: list[InForceEvent]
    """In-force officer enrolments of the persons the batch enrols."""
    informal_events: list[InForceEvent]
    """In-force BPU enrolments, payments and reactivations of the persons the batch pays for."""
    rules: list[dict[str, Any]]
    """In-force rule definitions (read when the batch holds BPU events)."""
    region_definitions: dict[str, list[RegionDefinition]] = field(default_factory=dict)
    """The in-force definitions of the codes the batch names or defines."""
    registrations: dict[str, tuple[str, date | None]] = field(default_factory=dict)
    """The registration in force of each person the batch enrols as an officer: its event id and
    the birth date it gives (in the vault; none when not given, or erased)."""


def day_of(value: str | None) -> date | None:
    """A date as JSON gives it (ISO text), or None."""
    return date.fromisoformat(value) if value is not None else None
