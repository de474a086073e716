"""The claim projections (migration 0005: each row a claim's or a payment's state during the
known-time interval `[tx_from, tx_to)`) and the report access log (0006) as SQLAlchemy models."""

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Identity, Index, PrimaryKeyConstraint, Text, text
from sqlalchemy.dialects.postgresql import JSONB
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
