"""Matching runs keep their proof: the upper bound no matching of the run's cohort exceeds

The review page says "optimal" or "within N % of the best possible" from the run's objective and this bound.
Runs made before have none (NULL) and say neither.

Revision ID: 7c3e91a4d2f6
Revises: c3d1f0a7e9b2
Create Date: 2026-12-02 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c3e91a4d2f6"
down_revision = "c3d1f0a7e9b2"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("matching_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upper_bound", sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table("matching_run", schema=None) as batch_op:
        batch_op.drop_column("upper_bound")
