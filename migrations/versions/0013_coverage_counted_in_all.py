"""Coverage spans say whether they count for `segment=all`: a BPU member counts for the informal
segment in the region of the membership, also while an officer term elsewhere covers them.

Before, a person covered as an officer in one regency and as a BPU member in another counted in
the officer's regency for every segment, so the informal ratio of the member's own regency missed
them. Such a person now has two spans for those days: one in the officer's region (officer, and
`all`), one in the membership's (informal only, `in_all` false), so `all` still counts them once.
The deltas and checkpoints carry the flag too, and it joins their primary keys (and the spans').

Existing rows get `in_all` true, which is right for everyone but those persons; if the ledger
ever knew a person with both an officer term and a BPU membership (past knowledge counts: ratios
are read as known then), the coverage projection is emptied, and `db upgrade` (which `serve` runs)
rebuilds it from the log tx by tx. The downgrade empties it the same way for the older code.

The same release projects `claim_record.reversed_on` for a claim reopened by a partial reversal
too, so the claim projection is recorded as due for rebuilding, as 0010 and 0012 did.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = {
    "coverage_span": ("nik", "valid_from", "tx_from"),
    "coverage_delta": ("parent_code", "tx_seq", "child_code", "day", "officer", "informal"),
    "coverage_checkpoint": ("parent_code", "tx_seq", "child_code", "day", "officer", "informal"),
}
"""Each table's primary key before this migration."""


def _with_in_all(columns: tuple[str, ...]) -> list[str]:
    # the span's key takes the flag before tx_from; the others after their segment flags
    return [*columns[:-1], "in_all", columns[-1]] if columns[-1] == "tx_from" else [*columns, "in_all"]


EMPTY_WHERE_BOTH = """
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM event_knowledge o JOIN event_knowledge i ON i.nik = o.nik
                WHERE o.type = 'officer.enrolled' AND i.type = 'informal.enrolled') THEN
        TRUNCATE coverage_span, coverage_delta, coverage_checkpoint, coverage_checkpoint_tx,
                 coverage_delta_parent;
    END IF;
END $$
"""
"""Empty the coverage projection if some person ever had both kinds of enrolment: `db upgrade`
then replays it from the log."""


def upgrade() -> None:
    for table, key in KEYS.items():
        op.add_column(table, sa.Column("in_all", sa.Boolean(), nullable=False, server_default=sa.true()))
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, _with_in_all(key))
    op.execute(EMPTY_WHERE_BOTH)
    op.execute(
        "INSERT INTO pending_reprojection (projection, reason) "
        "SELECT 'claims', 'migration 0013: reversed_on of claims reopened by a partial reversal' "
        "WHERE EXISTS (SELECT 1 FROM claim_record) ON CONFLICT (projection) DO NOTHING"
    )


def downgrade() -> None:
    op.execute(EMPTY_WHERE_BOTH)
    for table, key in KEYS.items():
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, list(key))
        op.drop_column(table, "in_all")
