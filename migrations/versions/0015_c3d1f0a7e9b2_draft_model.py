"""The mentoring model a match was made under, so drafts of an earlier model are flagged and never published

Existing matches take their program's current model: before this, nothing recorded what they were made under.

Revision ID: c3d1f0a7e9b2
Revises: c4d2a9e71b08
Create Date: 2026-12-02 16:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c3d1f0a7e9b2"
down_revision = "c4d2a9e71b08"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mentor_match", schema=None) as batch_op:
        batch_op.add_column(sa.Column("model", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE mentor_match SET model = (SELECT program.model FROM program WHERE program.id = mentor_match.program_id)"
    )


def downgrade():
    with op.batch_alter_table("mentor_match", schema=None) as batch_op:
        batch_op.drop_column("model")
