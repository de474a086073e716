"""Indexes that let a person search by region or committee walk only that region's (or that
committee's) events in NIK order. Before, the search walked every person's events in NIK order and
dropped those elsewhere: a regional office's page took 0.9 s on a ledger of 200,000 officers in
another regency, and would grow with the whole nation's ledger.

The region index is keyed by the regency part of the event's region code (a province's search
merges its regencies' walks); the committee index covers officer enrolments, the only events
that name a committee.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ledger_event_regency_nik",
        "ledger_event",
        [sa.text("left(payload ->> 'region_code', 5)"), "nik"],
        postgresql_where=sa.text("(payload ->> 'region_code') IS NOT NULL"),
    )
    op.create_index(
        "ix_ledger_event_committee_nik",
        "ledger_event",
        [sa.text("(payload ->> 'committee')"), "nik"],
        postgresql_where=sa.text("type = 'officer.enrolled'"),
    )


def downgrade() -> None:
    op.drop_index("ix_ledger_event_committee_nik", table_name="ledger_event")
    op.drop_index("ix_ledger_event_regency_nik", table_name="ledger_event")
