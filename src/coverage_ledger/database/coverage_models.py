"""The coverage projection as SQLAlchemy models (migration 0004 and later): each person's
coverage spans, and the regional counts (deltas, checkpoints) that the ratios sum."""

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from coverage_ledger.database.models import Base


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
