"""The ledger core: event log with its guard, projections, person vault and API keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOG_TABLES = ("ledger_tx", "ledger_event")


def upgrade() -> None:
    op.create_table(
        "ledger_tx",
        sa.Column("tx_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("tx_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.Text(), nullable=False),
        sa.Column("hash", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("backfill", sa.Boolean(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tx_seq", name="pk_ledger_tx"),
        sa.UniqueConstraint("tx_id", name="uq_ledger_tx_tx_id"),
        sa.UniqueConstraint("recorded_at", name="uq_ledger_tx_recorded_at"),
        sa.UniqueConstraint("hash", name="uq_ledger_tx_hash"),
    )
    op.create_table(
        "ledger_event",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("tx_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("nik", sa.Text(), nullable=True),
        sa.Column("carried_by", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_ledger_event"),
        sa.UniqueConstraint("tx_id", "position", name="uq_ledger_event_tx_id_position"),
    )
    op.create_index("ix_ledger_event_nik", "ledger_event", ["nik"])
    op.create_index(
        "ix_ledger_event_carried_by",
        "ledger_event",
        ["carried_by"],
        postgresql_where=sa.text("carried_by IS NOT NULL"),
    )

    # The log is append-only. The trigger stops everyone, the owner included; the revoked
    # privileges document the same for roles the service is deployed under.
    op.execute(
        """
        CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'insufficient_privilege',
                      HINT = 'append an event.corrected instead';
        END;
        $$
        """
    )
    for table in LOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_guard BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_guard_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()"
        )
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM PUBLIC")

    # Under the append lock: the head, and the next recorded_at (the clock, but strictly after the
    # head's), in one round trip. The lock is transaction-scoped: released by COMMIT/ROLLBACK, so
    # tx_seq order is commit order.
    op.execute(
        """
        CREATE FUNCTION ledger_lock_head(lock_key bigint,
            OUT head_seq bigint, OUT head_recorded_at timestamptz, OUT head_hash text,
            OUT next_recorded_at timestamptz)
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock(lock_key);
            SELECT t.tx_seq, t.recorded_at, t.hash INTO head_seq, head_recorded_at, head_hash
              FROM ledger_tx t ORDER BY t.tx_seq DESC LIMIT 1;
            next_recorded_at := greatest(clock_timestamp(),
                                         head_recorded_at + interval '1 microsecond');
        END;
        $$
        """
    )

    op.create_table(
        "event_knowledge",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=True),
        sa.Column("superseded_by", sa.Text(), nullable=True),
        sa.Column("nik", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", "tx_from", name="pk_event_knowledge"),
    )
    op.create_index("ix_event_knowledge_nik_tx_from", "event_knowledge", ["nik", "tx_from"])
    op.create_index("ix_event_knowledge_type_tx_from", "event_knowledge", ["type", "tx_from"])
    # at most one open interval per event; also the index of every "in force now" lookup
    op.create_index(
        "ix_event_knowledge_event_id_open",
        "event_knowledge",
        ["event_id"],
        unique=True,
        postgresql_where=sa.text("tx_to IS NULL"),
    )

    op.create_table(
        "correction_link",
        sa.Column("target_event_id", sa.Text(), nullable=False),
        sa.Column("correction_event_id", sa.Text(), nullable=False),
        sa.Column("tx_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("target_event_id", "correction_event_id", name="pk_correction_link"),
    )
    op.create_index("ix_correction_link_correction_event_id", "correction_link", ["correction_event_id"])

    op.create_table(
        "region",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("tx_from", sa.BigInteger(), nullable=False),
        sa.Column("tx_to", sa.BigInteger(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("parent_code", sa.Text(), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("decree", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", "tx_from", name="pk_region"),
    )
    op.create_index("ix_region_code_tx_from", "region", ["code", "tx_from"])
    op.create_index("ix_region_parent_code_tx_from", "region", ["parent_code", "tx_from"])

    op.create_table(
        "person_vault",
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("nik", sa.Text(), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.Column("fields", postgresql.JSONB(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_person_vault"),
    )
    op.create_index("ix_person_vault_nik", "person_vault", ["nik"])

    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_sha256", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("region_prefix", sa.Text(), nullable=True),
        sa.Column("organisation", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_key"),
        sa.UniqueConstraint("name", name="uq_api_key_name"),
        sa.UniqueConstraint("secret_sha256", name="uq_api_key_secret_sha256"),
    )


def downgrade() -> None:
    op.drop_table("api_key")
    op.drop_table("person_vault")
    op.drop_table("region")
    op.drop_table("correction_link")
    op.drop_table("event_knowledge")
    # DROP TABLE is not guarded (the trigger covers rows, not the table): downgrading to base
    # is an explicit, administrative act of throwing the whole ledger away.
    op.drop_table("ledger_event")
    op.drop_table("ledger_tx")
    op.execute("DROP FUNCTION ledger_lock_head(bigint)")
    op.execute("DROP FUNCTION ledger_refuse_change()")
