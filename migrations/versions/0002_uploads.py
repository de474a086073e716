"""Uploads of committee and sponsor rosters; `ledger_commit` learns to enter a whole written tx.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SIGNATURE = (
    "ledger_commit(bigint, uuid, text, text, timestamptz, text[], bigint, text[], text[], text[], "
    "text[], text[], text[], text[], text[], text[], text[])"
)

# As in 0001, plus `p_enter_written`: every event written under the provisional tx id enters
# force and the digests are read from the log, so a million-row upload does not ship its event
# ids and digests through the client twice.
LEDGER_COMMIT = """
CREATE FUNCTION ledger_commit(
    p_lock_key bigint, p_tx_id uuid, p_actor text, p_source text, p_backfill_at timestamptz,
    p_digests text[], p_snapshot bigint,
    p_watch_events text[], p_watch_niks text[], p_watch_regions text[],
    p_leaving text[], p_causes text[],
    p_entering text[], p_entering_niks text[], p_entering_types text[],
    p_link_targets text[], p_link_corrections text[], p_enter_written boolean,
    OUT status text, OUT tx_seq bigint, OUT recorded_at timestamptz, OUT hash text,
    OUT head_recorded_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
    head_seq bigint;
    head_hash text;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_key);
    IF p_enter_written THEN
        SELECT coalesce(array_agg(e.digest ORDER BY e.position), '{}') INTO p_digests
          FROM ledger_event e WHERE e.tx_id = p_tx_id;
    END IF;
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
    IF p_enter_written THEN
        INSERT INTO event_knowledge (event_id, tx_from, nik, type)
        SELECT e.event_id, tx_seq, e.nik, e.type FROM ledger_event e WHERE e.tx_id = p_tx_id;
    END IF;
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


def _ledger_commit_of_0001() -> str:
    """The function 0001 installs, read from that migration: what downgrade restores."""
    spec = importlib.util.spec_from_file_location(
        "ledger_core_0001", Path(__file__).with_name("0001_ledger_core.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text: str = module.LEDGER_COMMIT
    return text


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {OLD_SIGNATURE}")
    op.execute(LEDGER_COMMIT)
    op.create_table(
        "upload",
        sa.Column("upload_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("committee", sa.Text(), nullable=False),
        sa.Column("key_name", sa.Text(), nullable=False),
        sa.Column("key_region_prefix", sa.Text(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("mode", sa.Text(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("file_format", sa.Text(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("stored_path", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("problem", postgresql.JSONB(), nullable=True),
        sa.Column("rows_total", sa.BigInteger(), nullable=False),
        sa.Column("rows_done", sa.BigInteger(), nullable=False),
        sa.Column("rows_accepted", sa.BigInteger(), nullable=False),
        sa.Column("rows_rejected", sa.BigInteger(), nullable=False),
        sa.Column("rows_duplicate", sa.BigInteger(), nullable=False),
        sa.Column("outcome", postgresql.JSONB(), nullable=False),
        sa.Column("phase_seconds", postgresql.JSONB(), nullable=False),
        sa.Column("tx_seq", sa.BigInteger(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("upload_id", name="pk_upload"),
    )
    op.create_index("ix_upload_committee_kind_file_sha256", "upload", ["committee", "kind", "file_sha256"])
    op.create_index("ix_upload_submitted_at", "upload", ["submitted_at"])
    op.create_table(
        "upload_error",
        sa.Column("error_id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("upload_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("row", sa.BigInteger(), nullable=False),
        sa.Column("column", sa.Text(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("error_id", name="pk_upload_error"),
    )
    op.create_index("ix_upload_error_upload_id_row", "upload_error", ["upload_id", "row"])
    op.create_table(
        "upload_invoice",
        sa.Column("upload_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("region_code", sa.Text(), nullable=False),
        sa.Column("officers", sa.BigInteger(), nullable=False),
        sa.Column("officer_months", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("upload_id", "region_code", name="pk_upload_invoice"),
    )


def downgrade() -> None:
    op.drop_table("upload_invoice")
    op.drop_table("upload_error")
    op.drop_table("upload")
    op.execute(
        "DROP FUNCTION ledger_commit(bigint, uuid, text, text, timestamptz, text[], bigint, text[], "
        "text[], text[], text[], text[], text[], text[], text[], text[], text[], boolean)"
    )
    op.execute(_ledger_commit_of_0001())
