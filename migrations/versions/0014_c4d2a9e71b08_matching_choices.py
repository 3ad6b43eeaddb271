"""Matching choices: a program's minimum pair score (participation or quality) and its time zone limit

`min_score` (0 to 1, default 0: match as many mentees as possible) leaves a mentee unmatched rather than give
them a pair scoring below it; `max_hours_apart` (NULL: no limit) never pairs people whose time zones are further
apart. The waking-hours weight lives in the existing `weights` JSON (missing: 0), so it needs no column.

Revision ID: c4d2a9e71b08
Revises: 7e1a9c2d4b60
Create Date: 2026-12-02 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c4d2a9e71b08"
down_revision = "7e1a9c2d4b60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_score", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("max_hours_apart", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("max_hours_apart")
        batch_op.drop_column("min_score")
