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

# The part of an append that runs under the append lock, in one round trip (DESIGN.md, "Known
# time"): the caller validated against a snapshot at tx p_snapshot and wrote its events under a
# provisional tx id; here the lock is taken (held until COMMIT, so tx_seq order is commit order),
# anything committed since the snapshot that touches the watched events, persons or regions makes
# the call answer 'stale' (the caller re-reads under the lock and calls again), then the tx is
# numbered, stamped, projected and chained. The header hash is the canonical JSON of DESIGN.md,
# built here; `coverage-ledger verify` recomputes it independently in Python.
LEDGER_COMMIT = """
CREATE FUNCTION ledger_commit(
    p_lock_key bigint, p_tx_id uuid, p_actor text, p_source text, p_backfill_at timestamptz,
    p_digests text[], p_snapshot bigint,
    p_watch_events text[], p_watch_niks text[], p_watch_regions text[],
    p_leaving text[], p_causes text[],
    p_entering text[], p_entering_niks text[], p_entering_types text[],
    p_link_targets text[], p_link_corrections text[],
    OUT status text, OUT tx_seq bigint, OUT recorded_at timestamptz, OUT hash text,
    OUT head_recorded_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    SELECT t.tx_seq, t.recorded_at, t.hash INTO head_seq, head_recorded_at, head_hash
      FROM ledger_tx t ORDER BY t.tx_seq DESC LIMIT 1;
    head_seq := coalesce(head_seq, 0);
    IF head_seq > p_snapshot AND (
        EXISTS (SELECT 1 FROM event_knowledge k
                 WHERE k.event_id = ANY(p_watch_events)
                   AND (k.tx_from > p_snapshot OR k.tx_to > p_snapshot))
        OR EXISTS (SELECT 1 FROM event_knowledge k
                    WHERE k.nik = ANY(p_watch_niks)
                      AND (k.tx_from > p_snapshot OR k.tx_to > p_snapshot))
        OR EXISTS (SELECT 1 FROM correction_link l
                    WHERE l.target_event_id = ANY(p_watch_events) AND l.tx_seq > p_snapshot)
        OR EXISTS (SELECT 1 FROM region r
                    WHERE r.code = ANY(p_watch_regions)
                      AND (r.tx_from > p_snapshot OR r.tx_to > p_snapshot))
    ) THEN
        status := 'stale';
        RETURN;
    END IF;
    IF p_backfill_at IS NOT NULL AND p_backfill_at <= head_recorded_at THEN
        status := 'backfill_not_after_head';
        RETURN;
    END IF;
    tx_seq := head_seq + 1;
    recorded_at := coalesce(p_backfill_at,
                            greatest(clock_timestamp(), head_recorded_at + interval '1 microsecond'));

    UPDATE event_knowledge k SET tx_to = tx_seq, superseded_by = c.cause
      FROM unnest(p_leaving, p_causes) AS c(event_id, cause)
     WHERE k.event_id = c.event_id AND k.tx_to IS NULL;
    INSERT INTO event_knowledge (event_id, tx_from, nik, type)
    SELECT e, tx_seq, n, t FROM unnest(p_entering, p_entering_niks, p_entering_types) AS x(e, n, t);
    INSERT INTO correction_link (target_event_id, correction_event_id, tx_seq)
    SELECT t, c, tx_seq FROM unnest(p_link_targets, p_link_corrections) AS l(t, c);
    IF 'region.defined' = ANY(p_entering_types) THEN
        INSERT INTO region (event_id, tx_from, code, parent_code, name, level, decree, valid_from, valid_to)
        SELECT e.event_id, tx_seq, e.payload->>'code', e.payload->>'parent_code', e.payload->>'name',
               (e.payload->>'level')::int, e.payload->>'decree', (e.payload->>'valid_from')::date,
               (e.payload->>'valid_to')::date
          FROM ledger_event e
         WHERE e.event_id = ANY(p_entering) AND e.type = 'region.defined';
    END IF;
    UPDATE region r SET tx_to = tx_seq WHERE r.event_id = ANY(p_leaving) AND r.tx_to IS NULL;

    hash := encode(sha256(convert_to(
        '{"actor":' || to_json(p_actor)::text
        || ',"backfill":' || CASE WHEN p_backfill_at IS NULL THEN 'false' ELSE 'true' END
        || ',"event_digests":' || array_to_json(p_digests)::text
        || ',"prev_hash":' || to_json(coalesce(head_hash, repeat('0', 64)))::text
        || ',"recorded_at":' || to_json(to_char(recorded_at AT TIME ZONE 'UTC',
                                                'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
        || ',"source":' || to_json(p_source)::text
        || ',"tx_seq":' || tx_seq::text || '}', 'UTF8')), 'hex');
    INSERT INTO ledger_tx (tx_seq, tx_id, recorded_at, prev_hash, hash, actor, source, backfill,
                           event_count)
    VALUES (tx_seq, p_tx_id, recorded_at, coalesce(head_hash, repeat('0', 64)), hash, p_actor,
            p_source, p_backfill_at IS NOT NULL, cardinality(p_digests));
    status := 'ok';
END;
$$
"""


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

    op.execute(LEDGER_COMMIT)

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
    # a person's events in force now, by type (the checks of every append)
    op.create_index(
        "ix_event_knowledge_nik_type_open",
        "event_knowledge",
        ["nik", "type"],
        postgresql_where=sa.text("tx_to IS NULL"),
    )
    # the rule table as known at a tx: a few rows among millions
    op.create_index(
        "ix_event_knowledge_rules",
        "event_knowledge",
        ["tx_from"],
        postgresql_where=sa.text("type = 'rule.defined'"),
    )
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
    op.execute("DROP FUNCTION ledger_commit")
    op.execute("DROP FUNCTION ledger_refuse_change()")
