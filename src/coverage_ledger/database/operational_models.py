"""Operational tables as SQLAlchemy models: API keys, web sessions and uploads with their row
errors and invoices. Not ledger knowledge: none is chained, and none is read as of a past tx."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from coverage_ledger.database.models import Base


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
