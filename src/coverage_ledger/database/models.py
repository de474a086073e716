"""The schema as SQLAlchemy models. Alembic migrations create it; tests check both agree.

The event log (`ledger_tx`, `ledger_event`) is append-only: a trigger and revoked privileges make
PostgreSQL refuse UPDATE, DELETE and TRUNCATE. Every other ledger table is a projection of the
log, stamped with the `[tx_from, tx_to)` of the knowledge it belongs to, and can be rebuilt.

One module, longer than most, on purpose: it is the whole schema, read side by side with the
migrations that must produce it.
"""

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Text,
    UniqueConstraint,
    text,
    true,
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


class ApiKey(Base):
    """An API key: only the sha256 of the secret is stored. Operational, not a ledger event."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    """Surrogate id."""
    name: Mapped[str] = mapped_column(Text, unique=True)
    """Human name, shown in tx headers as `key:<name>`."""
    secret_sha256: Mapped[str] = mapped_column(Text, unique=True)
    """sha256 hex of the secret; the secret itself is shown once at creation."""
    role: Mapped[str] = mapped_column(Text)
    """admin, auditor, regional_office, committee or sponsor."""
    region_prefix: Mapped[str | None] = mapped_column(Text)
    """Region code the key is limited to; NULL = national."""
    organisation: Mapped[str | None] = mapped_column(Text)
    """Committee or sponsor name for those roles."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the key was created."""
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """After this instant the key is refused; NULL = no expiry."""
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When the key was revoked; NULL while valid."""


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


class WebSession(Base):
    """A signed-in browser: its cookie holds a random token, this row only the token's sha256.
    Operational, not a ledger event; signing out deletes the row."""

    __tablename__ = "web_session"

    token_sha256: Mapped[str] = mapped_column(Text, primary_key=True)
    """sha256 hex of the cookie's token."""
    key_id: Mapped[int] = mapped_column(Integer, ForeignKey("api_key.id", ondelete="CASCADE"))
    """The API key the visitor signed in with; its revocation or expiry ends the session too."""
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the visitor signed in."""
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    """After this instant the cookie is refused (a working day after `started_at`)."""


class Upload(Base):
    """A roster file submitted by a committee or sponsor, and what became of it. Operational:
    the rows it committed are ledger events of the tx `tx_seq` (source `upload:<upload_id>`)."""

    __tablename__ = "upload"
    __table_args__ = (Index(None, "committee", "kind", "file_sha256"), Index(None, "submitted_at"))

    upload_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    """Id given to the uploader in the 202 answer."""
    kind: Mapped[str] = mapped_column(Text)
    """`officer_roster` or `sponsor_roster`."""
    committee: Mapped[str] = mapped_column(Text)
    """The committee (or sponsor) whose roster this is."""
    key_name: Mapped[str] = mapped_column(Text)
    """Name of the API key that submitted it (`system` from the CLI)."""
    key_region_prefix: Mapped[str | None] = mapped_column(Text)
    """Region prefix of that key, which the rows must lie within; NULL = national."""
    dry_run: Mapped[bool] = mapped_column(Boolean)
    """Validate only, write nothing to the ledger."""
    policy: Mapped[str] = mapped_column(Text)
    """`all_or_nothing` or `accept_valid`."""
    mode: Mapped[str] = mapped_column(Text)
    """`append` or `replace_roster`."""
    filename: Mapped[str] = mapped_column(Text)
    """File name as the client sent it."""
    file_format: Mapped[str] = mapped_column(Text)
    """`csv` or `xlsx`, from the file's first bytes."""
    file_sha256: Mapped[str] = mapped_column(Text)
    """sha256 hex of the file bytes: the same file again is recognised by it."""
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    """Size of the file in bytes."""
    stored_path: Mapped[str | None] = mapped_column(Text)
    """Where the file waits on disk until processed; NULL once done."""
    status: Mapped[str] = mapped_column(Text)
    """queued, validating, committing, succeeded or failed."""
    problem: Mapped[dict[str, object] | None] = mapped_column(JSONB)
    """Why the upload failed as a whole: `{code, message}`; NULL otherwise."""
    rows_total: Mapped[int] = mapped_column(BigInteger)
    """Data rows in the file (header excluded, blank lines skipped)."""
    rows_done: Mapped[int] = mapped_column(BigInteger)
    """Rows read and checked so far (progress)."""
    rows_accepted: Mapped[int] = mapped_column(BigInteger)
    """Rows that are (or, for a dry run or a failed all-or-nothing upload, would be) written."""
    rows_rejected: Mapped[int] = mapped_column(BigInteger)
    """Rows with at least one error (see upload_error)."""
    rows_duplicate: Mapped[int] = mapped_column(BigInteger)
    """Rows the ledger already holds as they are: nothing written for them."""
    outcome: Mapped[dict[str, object]] = mapped_column(JSONB)
    """Counts by effect: registered, enrolled, corrected, retracted, unchanged; the invoice total."""
    phase_seconds: Mapped[dict[str, object]] = mapped_column(JSONB)
    """Wall-clock seconds spent receiving, parsing, validating and committing."""
    tx_seq: Mapped[int | None] = mapped_column(BigInteger)
    """The tx that committed the rows; NULL until then (and for dry runs and failures)."""
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When the file was received."""
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When processing began."""
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When it succeeded or failed."""


class UploadError(Base):
    """One complaint about one row (or the file, row 0) of an upload."""

    __tablename__ = "upload_error"
    __table_args__ = (Index(None, "upload_id", "row"),)

    error_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    """Surrogate id (insertion order)."""
    upload_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The upload."""
    row: Mapped[int] = mapped_column(BigInteger)
    """The line number a person sees in Excel: the header is row 1, the first data row 2."""
    column: Mapped[str | None] = mapped_column(Text)
    """The column at fault, when one is."""
    code: Mapped[str] = mapped_column(Text)
    """Stable machine code, e.g. `nik_scientific_notation`."""
    message: Mapped[str] = mapped_column(Text)
    """What is wrong, for the person fixing the file."""


class UploadInvoice(Base):
    """Contributions owed for a committed officer roster, per region of enrolment."""

    __tablename__ = "upload_invoice"
    __table_args__ = (PrimaryKeyConstraint("upload_id", "region_code"),)

    upload_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The upload."""
    region_code: Mapped[str] = mapped_column(Text)
    """Region code of the enrolments (as written in the roster)."""
    officers: Mapped[int] = mapped_column(BigInteger)
    """Officers enrolled by this upload in the region, less those a replacement retracted."""
    officer_months: Mapped[int] = mapped_column(BigInteger)
    """Calendar months their cover touches; a changed term counts the difference from its old
    one, a retracted one its months as negative."""
    amount: Mapped[int] = mapped_column(BigInteger)
    """Rupiah owed (negative: a credit): officer months × the monthly rate of the rule in force
    on each officer's first day of cover."""
    rule_id: Mapped[str] = mapped_column(Text)
    """The officer contribution rule applied."""


class CoverageSpan(Base):
    """Projection: a person's covered valid-time interval, with the region they count for, as
    the ledger knew it over [tx_from, tx_to). At one known time a person's spans counted for
    `all` do not overlap, so counting them counts distinct persons; a span not counted for `all`
    places a BPU member covered as an officer elsewhere in the membership's region."""

    __tablename__ = "coverage_span"
    __table_args__ = (
        PrimaryKeyConstraint("nik", "valid_from", "in_all", "tx_from"),
        Index("ix_coverage_span_nik_open", "nik", postgresql_where=text("tx_to IS NULL")),
        # a regional report's spans: one range of codes in byte order (raw.under_region)
        Index("ix_coverage_span_region", "region_code", postgresql_ops={"region_code": "text_pattern_ops"}),
    )

    nik: Mapped[str] = mapped_column(Text)
    """The person."""
    valid_from: Mapped[date] = mapped_column(Date)
    """First covered day (Asia/Jakarta)."""
    tx_from: Mapped[int] = mapped_column(BigInteger)
    """First tx_seq at which the ledger knew this span."""
    tx_to: Mapped[int | None] = mapped_column(BigInteger)
    """First tx_seq at which it no longer did; NULL while current."""
    valid_to: Mapped[date] = mapped_column(Date)
    """First day no longer covered (exclusive)."""
    region_code: Mapped[str] = mapped_column(Text)
    """The region the person counts for: the covering enrolment's."""
    officer: Mapped[bool] = mapped_column(Boolean)
    """Covered as an election officer during the span."""
    informal: Mapped[bool] = mapped_column(Boolean)
    """Covered as a BPU member during the span (counted for the informal segment here)."""
    in_all: Mapped[bool] = mapped_column(Boolean, server_default=true())
    """Counted for `segment=all` (false for a BPU member's span in the membership's region while
    an officer term in another region places them there for `all`)."""


class _RegionCountKey:
    """The key columns shared by coverage deltas and checkpoints."""

    parent_code: Mapped[str] = mapped_column(Text)
    """The region whose figure this counts toward (a prefix of the span's region)."""
    tx_seq: Mapped[int] = mapped_column(BigInteger)
    """Deltas: the tx whose knowledge changed the count. Checkpoints: deltas up to this tx are summed."""
    child_code: Mapped[str] = mapped_column(Text)
    """The child of `parent_code` the span's region lies in; '' when it is `parent_code` itself."""
    day: Mapped[date] = mapped_column(Date)
    """The valid-time day from which the change applies (Asia/Jakarta)."""
    officer: Mapped[bool] = mapped_column(Boolean)
    """The span covers an election officer."""
    informal: Mapped[bool] = mapped_column(Boolean)
    """The span covers a BPU member."""
    in_all: Mapped[bool] = mapped_column(Boolean, server_default=true())
    """The span counts for `segment=all`."""


class CoverageDelta(_RegionCountKey, Base):
    """Projection: the net change a tx made to the number of persons covered, per region and day.

    A span [valid_from, valid_to) known from tx T adds +1 on valid_from and -1 on valid_to at T;
    its end of knowledge at tx_to adds the opposite. Each change is written once for every
    ancestor of the span's region (`parent_code`) under the child it falls in, so a region's
    figure and its children's are one indexed sum: the persons covered on day V as known at tx T
    are the sum of `delta` over tx_seq <= T and day <= V."""

    __tablename__ = "coverage_delta"
    __table_args__ = (
        PrimaryKeyConstraint("parent_code", "tx_seq", "child_code", "day", "officer", "informal", "in_all"),
    )

    delta: Mapped[int] = mapped_column(Integer)
    """Persons, signed."""


class CoverageCheckpoint(_RegionCountKey, Base):
    """Projection: the deltas of one parent region summed over every tx up to a checkpoint, so a
    read sums the checkpoint and the few deltas after it, however long the history."""

    __tablename__ = "coverage_checkpoint"
    __table_args__ = (
        PrimaryKeyConstraint("parent_code", "tx_seq", "child_code", "day", "officer", "informal", "in_all"),
    )

    covered: Mapped[int] = mapped_column(Integer)
    """Persons, signed: the net change on `day` over every tx up to the checkpoint (rows summing
    to zero are left out); the persons covered on V are the sum over day <= V."""


class CoverageCheckpointTx(Base):
    """Projection: the checkpoints taken for each parent region (a checkpoint may have no rows)."""

    __tablename__ = "coverage_checkpoint_tx"
    __table_args__ = (PrimaryKeyConstraint("parent_code", "tx_seq"),)

    parent_code: Mapped[str] = mapped_column(Text)
    """As in coverage_delta."""
    tx_seq: Mapped[int] = mapped_column(BigInteger)
    """The checkpoint's tx."""


class CoverageDeltaParent(Base):
    """Projection bookkeeping: per parent region, its newest checkpoint and the delta rows since."""

    __tablename__ = "coverage_delta_parent"
    __table_args__ = (PrimaryKeyConstraint("parent_code"),)

    parent_code: Mapped[str] = mapped_column(Text)
    """As in coverage_delta."""
    checkpoint_tx: Mapped[int] = mapped_column(BigInteger)
    """The newest checkpoint's tx (0: none yet)."""
    checkpoint_rows: Mapped[int] = mapped_column(Integer)
    """Rows of that checkpoint."""
    pending: Mapped[int] = mapped_column(Integer)
    """Delta rows written after it; a checkpoint is taken when this passes a threshold."""


# The tables of claims and reports live in their own module; importing it here registers them on
# Base.metadata wherever the schema is read (Alembic's env, the drift test).
from coverage_ledger.database import reporting_models as reporting_models  # noqa: E402  (needs Base above)
