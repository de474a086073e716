"""The claim projections (migration 0005: each row a claim's or a payment's state during the
known-time interval `[tx_from, tx_to)`), the report access log (0006) and the enrolment terms
(0007) as SQLAlchemy models."""

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Identity, Index, PrimaryKeyConstraint, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from coverage_ledger.database.models import Base


class _KnownFromTo:
    tx_from: Mapped[int] = mapped_column(BigInteger)
    """First tx_seq at which the ledger knew this state."""
    tx_to: Mapped[int | None] = mapped_column(BigInteger)
    """First tx_seq at which it no longer did; NULL while current."""
    claim_id: Mapped[str] = mapped_column(Text)
    """The claim, as the office numbers it."""
    region_code: Mapped[str] = mapped_column(Text)
    """The region the claim counts for: that of the enrolment covering the incident date, else
    the domicile."""
    benefit: Mapped[str] = mapped_column(Text)
    """`JKM`, `JKK_DEATH`, … as filed."""


class ClaimRecord(_KnownFromTo, Base):
    """Projection: a claim's status and amounts as known during [tx_from, tx_to)."""

    __tablename__ = "claim_record"
    __table_args__ = (
        PrimaryKeyConstraint("claim_id", "tx_from"),
        Index("ix_claim_record_open", "claim_id", unique=True, postgresql_where=text("tx_to IS NULL")),
        Index("ix_claim_record_nik_open", "nik", postgresql_where=text("tx_to IS NULL")),
        Index(
            "ix_claim_record_region",
            "region_code",
            "tx_from",
            postgresql_ops={"region_code": "text_pattern_ops"},
        ),
    )

    nik: Mapped[str] = mapped_column(Text)
    """The insured person."""
    incident_date: Mapped[date] = mapped_column(Date)
    """Day of the death or accident (Asia/Jakarta)."""
    status: Mapped[str] = mapped_column(Text)
    """`filed`, `approved`, `rejected`, `partially_paid`, `paid` or `reversed`."""
    payable_amount: Mapped[int] = mapped_column(BigInteger)
    """Rupiah: the approved amount once decided, else what the rules give as known then."""
    paid_amount: Mapped[int] = mapped_column(BigInteger)
    """Rupiah paid and not reversed."""
    due_on: Mapped[date | None] = mapped_column(Date)
    """Last day of the service time (working days after the claim was complete)."""
    settled_on: Mapped[date | None] = mapped_column(Date)
    """Day the approved amount was fully paid; NULL while it is not."""
    reversed_on: Mapped[date | None] = mapped_column(Date)
    """For a claim a reversal made owed again (its payments all taken back, or enough of them
    that the approved amount, once paid in full, is not): the day from which it is owed, and can
    be overdue, again (Asia/Jakarta): that reversal's, or the due date for payments all taken back
    before they ever made the whole amount; NULL otherwise."""


class ClaimPayment(_KnownFromTo, Base):
    """Projection: a `claim.paid` in force and not reversed, during [tx_from, tx_to)."""

    __tablename__ = "claim_payment"
    __table_args__ = (
        PrimaryKeyConstraint("payment_event_id", "tx_from"),
        Index("ix_claim_payment_claim_open", "claim_id", postgresql_where=text("tx_to IS NULL")),
        Index(
            "ix_claim_payment_region",
            "region_code",
            "tx_from",
            postgresql_ops={"region_code": "text_pattern_ops"},
        ),
    )

    payment_event_id: Mapped[str] = mapped_column(Text)
    """The `claim.paid` event."""
    paid_on: Mapped[date] = mapped_column(Date)
    """Day paid (Asia/Jakarta)."""
    amount: Mapped[int] = mapped_column(BigInteger)
    """Rupiah."""
    first_of_claim: Mapped[bool] = mapped_column(Boolean)
    """The claim's earliest payment in force (by paid_on, then event id): payouts count a claim
    once, in the group and period of this payment."""


class ReportAccess(Base):
    """Operational (not a ledger event): one report or manifest pulled, for the auditors' access log."""

    __tablename__ = "report_access"

    access_id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    """Surrogate id, in request order."""
    key_name: Mapped[str] = mapped_column(Text)
    """The API key that asked."""
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    """When it was asked (the service's clock)."""
    report: Mapped[str] = mapped_column(Text)
    """The report's name, `…/manifest` for a manifest."""
    parameters: Mapped[dict[str, object]] = mapped_column(JSONB)
    """valid_at, known_at, tx_seq, region, format as resolved."""
    tx_seq: Mapped[int] = mapped_column(BigInteger)
    """The tx the report is as of."""
    rows: Mapped[int | None] = mapped_column(BigInteger)
    """Rows in the content; NULL if the download stopped before the end."""
    content_sha256: Mapped[str | None] = mapped_column(Text)
    """sha256 hex of the content delivered; NULL if the download stopped before the end."""
    software_version: Mapped[str | None] = mapped_column(Text)
    """The coverage-ledger version that made the content (a release may change a report's bytes,
    docs/changes.md); NULL for requests logged before migration 0021."""


class EnrolmentTerm(Base):
    """Projection: each officer term and BPU membership in force during [tx_from, tx_to), with the
    payload fields the coverage roster prints. Kept by statement-level triggers on event_knowledge
    (migration 0007), so every path that projects events keeps it too."""

    __tablename__ = "enrolment_term"
    __table_args__ = (
        PrimaryKeyConstraint("event_id", "tx_from"),
        Index(
            "ix_enrolment_term_nik",
            "nik",
            "type",
            "tx_from",
            postgresql_include=[
                "tx_to",
                "tx_id",
                "valid_from",
                "valid_to",
                "registered_on",
                "role",
                "committee",
                "programs",
                "payer",
                "region_code",
            ],
        ),
    )

    event_id: Mapped[str] = mapped_column(Text)
    """The `officer.enrolled` or `informal.enrolled` event."""
    tx_from: Mapped[int] = mapped_column(BigInteger)
    """As in event_knowledge."""
    tx_to: Mapped[int | None] = mapped_column(BigInteger)
    """As in event_knowledge."""
    nik: Mapped[str] = mapped_column(Text)
    """The person."""
    type: Mapped[str] = mapped_column(Text)
    """`officer.enrolled` or `informal.enrolled`."""
    tx_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The event's tx: its recording date is the registration date when none is given."""
    valid_from: Mapped[date] = mapped_column(Date)
    """First day of the term or membership."""
    valid_to: Mapped[date | None] = mapped_column(Date)
    """Officer terms: the day after the last day of duty; NULL for BPU memberships."""
    registered_on: Mapped[date | None] = mapped_column(Date)
    """As stated in the event; NULL: the recording date."""
    role: Mapped[str | None] = mapped_column(Text)
    """Officer role (NULL for BPU)."""
    committee: Mapped[str | None] = mapped_column(Text)
    """Enrolling committee (NULL for BPU)."""
    programs: Mapped[str] = mapped_column(Text)
    """Programs, space-separated in order (`JKK JKM`)."""
    payer: Mapped[str | None] = mapped_column(Text)
    """BPU payer as the roster prints it: `self`, `person <NIK>`, or the organisation and budget."""
    region_code: Mapped[str] = mapped_column(Text)
    """The region of the term or membership (migration 0018): a report names it only inside its own."""
