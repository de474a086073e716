"""The schema as SQLAlchemy models. Alembic migrations create it; tests check both agree.

The event log (`ledger_tx`, `ledger_event`) is append-only: a trigger and revoked privileges make
PostgreSQL refuse UPDATE, DELETE and TRUNCATE. Every other ledger table is a projection of the
log, stamped with the `[tx_from, tx_to)` of the knowledge it belongs to, and can be rebuilt.

This module holds the log and its bookkeeping; the other tables are in `operational_models`
(keys, web sessions, uploads), `coverage_models` (coverage spans and regional counts) and
`reporting_models` (claims, report access, enrolment terms), each imported at the end of this
one so that `Base.metadata` is the whole schema wherever it is read.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base with stable constraint names, so migrations and models agree."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class LedgerTx(Base):
    """One committed append: a batch of events sharing one tx_seq, one recorded_at, one hash."""

    __tablename__ = "ledger_tx"

    tx_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """Known-time coordinate: strictly increasing in commit order, from 1."""
    tx_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    """Provisional id under which the events were written before the append lock."""
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), unique=True)
    """When the ledger learned it; strictly increasing with tx_seq (microsecond resolution)."""
    prev_hash: Mapped[str] = mapped_column(Text)
    """Hash of the previous tx (64 zeros for the first)."""
    hash: Mapped[str] = mapped_column(Text, unique=True)
    """sha256 hex of the canonical JSON tx header."""
    actor: Mapped[str] = mapped_column(Text)
    """Who appended: `key:<name>` or `system`."""
    source: Mapped[str] = mapped_column(Text)
    """Through what: `api`, `cli:import`, `genesis:<dataset>`, `upload:<id>`…"""
    backfill: Mapped[bool] = mapped_column(Boolean)
    """True when recorded_at was given explicitly (genesis, history imports), not read from the clock."""
    event_count: Mapped[int] = mapped_column(Integer)
    """Number of events in the tx (the length of the header's event_digests)."""


class LedgerEvent(Base):
    """One immutable assertion. The digest covers event_id, type and payload."""

    __tablename__ = "ledger_event"
    __table_args__ = (
        UniqueConstraint("tx_id", "position"),
        Index(None, "nik"),
        Index(None, "carried_by", postgresql_where=text("carried_by IS NOT NULL")),
        Index(
            "ix_ledger_event_claim_id",
            text("(payload ->> 'claim_id')"),
            postgresql_where=text("type LIKE 'claim.%'"),
        ),
        # a person search by region walks one regency's events in NIK order (migration 0022)
        Index(
            "ix_ledger_event_regency_nik",
            text("left(payload ->> 'region_code', 5)"),
            "nik",
            postgresql_where=text("(payload ->> 'region_code') IS NOT NULL"),
        ),
        Index(
            "ix_ledger_event_committee_regency_nik",
            text("(payload ->> 'committee')"),
            text("left(payload ->> 'region_code', 5)"),
            "nik",
            postgresql_where=text("type = 'officer.enrolled'"),
        ),
    )

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    """Caller-chosen id (a UUID is recommended); resending the same event is idempotent."""
    tx_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The tx the event belongs to (`ledger_tx.tx_id`)."""
    position: Mapped[int] = mapped_column(Integer)
    """0-based order of the event inside its tx; the order of event_digests in the header."""
    type: Mapped[str] = mapped_column(Text)
    """Event type, e.g. `officer.enrolled`."""
    nik: Mapped[str | None] = mapped_column(Text)
    """The person the event is about, when it is about one (copied from the payload for indexing)."""
    carried_by: Mapped[str | None] = mapped_column(Text)
    """For a replacement: the `event.corrected` that introduced it."""
    payload: Mapped[dict[str, object]] = mapped_column(JSONB)
    """The event's fields beyond event_id and type; personal fields only as a salted digest."""
    digest: Mapped[str] = mapped_column(Text)
    """sha256 hex of the RFC 8785 canonical JSON of {event_id, type, **payload}."""


class EventKnowledge(Base):
    """Projection: the known-time intervals during which each event was in force."""

    __tablename__ = "event_knowledge"
    __table_args__ = (
        PrimaryKeyConstraint("event_id", "tx_from"),
        Index(None, "nik", "tx_from"),
        Index("ix_event_knowledge_rules", "tx_from", postgresql_where=text("type = 'rule.defined'")),
        Index(
            "ix_event_knowledge_potential", "tx_from", postgresql_where=text("type = 'potential.estimated'")
        ),
        Index("ix_event_knowledge_nik_type_open", "nik", "type", postgresql_where=text("tx_to IS NULL")),
        Index(
            "ix_event_knowledge_event_id_open",
            "event_id",
            unique=True,
            postgresql_where=text("tx_to IS NULL"),
        ),
    )

    event_id: Mapped[str] = mapped_column(Text)
    """The event (or replacement) this interval is about."""
    tx_from: Mapped[int] = mapped_column(BigInteger)
    """First tx_seq at which the event is in force."""
    tx_to: Mapped[int | None] = mapped_column(BigInteger)
    """First tx_seq at which it no longer is; NULL while still in force."""
    superseded_by: Mapped[str | None] = mapped_column(Text)
    """The correction that ended the interval."""
    nik: Mapped[str | None] = mapped_column(Text)
    """Copied from the event for person reads."""
    type: Mapped[str] = mapped_column(Text)
    """Copied from the event."""


class CorrectionLink(Base):
    """Projection: which correction supersedes which event (the edges of the supersession graph)."""

    __tablename__ = "correction_link"
    __table_args__ = (
        PrimaryKeyConstraint("target_event_id", "correction_event_id"),
        Index(None, "correction_event_id"),
    )

    target_event_id: Mapped[str] = mapped_column(Text)
    """An event named in `supersedes`."""
    correction_event_id: Mapped[str] = mapped_column(Text)
    """The `event.corrected` naming it."""
    tx_seq: Mapped[int] = mapped_column(BigInteger)
    """The tx of the correction."""


class Region(Base):
    """Projection: Kemendagri regions as known at each tx (from `region.defined` events)."""

    __tablename__ = "region"
    __table_args__ = (
        PrimaryKeyConstraint("event_id", "tx_from"),
        Index(None, "code", "tx_from"),
        Index(None, "parent_code", "tx_from"),
    )

    event_id: Mapped[str] = mapped_column(Text)
    """The `region.defined` event."""
    tx_from: Mapped[int] = mapped_column(BigInteger)
    """First tx_seq at which this definition is in force."""
    tx_to: Mapped[int | None] = mapped_column(BigInteger)
    """First tx_seq at which it no longer is; NULL while in force."""
    code: Mapped[str] = mapped_column(Text)
    """Dotted Kemendagri code: `16`, `16.71`, `16.71.01`, `16.71.01.1001`."""
    parent_code: Mapped[str | None] = mapped_column(Text)
    """The enclosing region; NULL for provinces."""
    name: Mapped[str] = mapped_column(Text)
    """Official name under the decree."""
    level: Mapped[int] = mapped_column(Integer)
    """1 province, 2 regency/city, 3 district, 4 village."""
    decree: Mapped[str] = mapped_column(Text)
    """The Kemendagri decree the definition comes from."""
    valid_from: Mapped[date | None] = mapped_column(Date)
    """First day the region exists in the world; NULL when no earlier version is known."""
    valid_to: Mapped[date | None] = mapped_column(Date)
    """First day it no longer exists (split, renumbered); NULL while it exists."""


class PersonVault(Base):
    """Personal fields kept outside the chained log; erasure deletes the row and its salt."""

    __tablename__ = "person_vault"
    __table_args__ = (Index(None, "nik"),)

    event_id: Mapped[str] = mapped_column(Text, primary_key=True)
    """The `person.registered` event whose `personal_digest` these fields produce."""
    nik: Mapped[str] = mapped_column(Text)
    """The person (the NIK stays in the log: it is the legal identifier)."""
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    """32 random bytes mixed into the digest so that it cannot be guessed from public data."""
    fields: Mapped[dict[str, object]] = mapped_column(JSONB)
    """name, birth_date, phone as submitted."""


class PendingReprojection(Base):
    """A projection to rebuild from the log at the next `db upgrade`: written by a migration that
    changed how the projection is computed in Python, which SQL cannot redo. Operational."""

    __tablename__ = "pending_reprojection"

    projection: Mapped[str] = mapped_column(Text, primary_key=True)
    """Which projection: `claims` (claim_record and claim_payment)."""
    reason: Mapped[str] = mapped_column(Text)
    """The migration that asked for it, and why."""


class AnsweredMoment(Base):
    """The latest moment past the head that a read has answered for (one row). A backfill must be
    stamped later: stamped within it, it would change an answer already given for that moment.
    Operational, not a ledger event."""

    __tablename__ = "answered_moment"
    __table_args__ = (CheckConstraint("singleton", name="answered_moment_one_row"),)

    singleton: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    """Always true: the table holds one row."""
    answered_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """The latest `known_at` instant (a timestamp, or the end of a date) answered as of the head
    while it lay after the head's recorded_at and was already past; -infinity before any."""


# The other tables live in their own modules; importing them here registers them on Base.metadata
# wherever the schema is read (Alembic's env, the drift test).
from coverage_ledger.database import coverage_models as coverage_models  # noqa: E402  (needs Base above)
from coverage_ledger.database import operational_models as operational_models  # noqa: E402  (same)
from coverage_ledger.database import reporting_models as reporting_models  # noqa: E402  (same)
