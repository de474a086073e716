"""Who may do what: roles, region prefixes and organisations of API keys (DESIGN.md, "Scope")."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The roles a key can have."""

    ADMIN = "admin"
    AUDITOR = "auditor"
    REGIONAL_OFFICE = "regional_office"
    COMMITTEE = "committee"
    SPONSOR = "sponsor"


WRITABLE_EVENT_TYPES: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({"*"}),
    Role.AUDITOR: frozenset(),
    Role.REGIONAL_OFFICE: frozenset(
        {
            "person.registered",
            "officer.enrolled",
            "informal.enrolled",
            "contribution.paid",
            "membership.reactivated",
            "potential.estimated",
            "claim.filed",
            "claim.approved",
            "claim.rejected",
            "claim.paid",
            "claim.reversed",
            "event.corrected",
        }
    ),
    Role.COMMITTEE: frozenset({"person.registered", "officer.enrolled", "event.corrected"}),
    Role.SPONSOR: frozenset(
        {"person.registered", "informal.enrolled", "contribution.paid", "event.corrected"}
    ),
}
"""Event types each role may append; reference data (regions, rules) is the admin's alone."""


CLAIM_READERS = frozenset({Role.ADMIN, Role.AUDITOR, Role.REGIONAL_OFFICE})
"""Roles that read claims and payouts (`Principal.reads_claims`)."""


def region_within(code: str, prefix: str | None) -> bool:
    """Whether a region code lies inside a key's region prefix (absent prefix = national)."""
    if prefix is None:
        return True
    return code == prefix or code.startswith(prefix + ".")


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its API key describes it."""

    key_name: str
    role: Role
    region_prefix: str | None = None
    organisation: str | None = None
    is_system: bool = False
    """The service itself (genesis, CLI maintenance), not an API key."""

    @property
    def actor(self) -> str:
        """How the ledger's tx headers name this caller: `key:<name>` or `system`."""
        return "system" if self.is_system else f"key:{self.key_name}"

    def may_append(self, event_type: str) -> bool:
        """Whether the role may append events of this type."""
        allowed = WRITABLE_EVENT_TYPES[self.role]
        return "*" in allowed or event_type in allowed

    @property
    def reads_claims(self) -> bool:
        """Whether the key reads claims and payouts: the offices that decide them and those who
        audit them. Committees and sponsors file none, and a region's deaths, injuries and
        amounts are not theirs to read (nor its reports)."""
        return self.role in CLAIM_READERS

    def sees(self, region_code: str) -> bool:
        """Whether data in this region is inside the key's scope."""
        return region_within(region_code, self.region_prefix)


SYSTEM = Principal(key_name="system", role=Role.ADMIN, is_system=True)
"""The principal of the CLI and of genesis: full rights, named in tx headers."""
