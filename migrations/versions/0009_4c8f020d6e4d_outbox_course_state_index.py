"""Outbox course state index: a course's statements counted by state from the index, (course_id, state)

A large course has some 100,000 outbox rows; its statements page counts them per state. Without this index the
count reads every row of the course (or of the table). It replaces the single-column course_id index, which is its
prefix.

Revision ID: 4c8f020d6e4d
Revises: 16d7a6ee3b49
Create Date: 2026-12-02 08:13:48.432845

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "4c8f020d6e4d"
down_revision = "16d7a6ee3b49"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("statement_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_statement_outbox_course_state", ["course_id", "state"], unique=False)
        batch_op.drop_index("ix_statement_outbox_course_id")


def downgrade():
    with op.batch_alter_table("statement_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_statement_outbox_course_id", ["course_id"], unique=False)
        batch_op.drop_index("ix_statement_outbox_course_state")
