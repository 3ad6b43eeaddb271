"""Matching jobs: a run of matching or a publish of a large program, done by a jobs worker with its progress

At most one queued or running job per program (a partial unique index), claimed by a worker under a lease.

Revision ID: 5d1e0c7a9b3f
Revises: 4b6ce15423b5
Create Date: 2026-12-02 09:20:00.000000

"""

import sqlalchemy as sa
from alembic import op

import lti_tool.extensions

# revision identifiers, used by Alembic.
revision = "5d1e0c7a9b3f"
down_revision = "4b6ce15423b5"
branch_labels = None
depends_on = None

ACTIVE = sa.text("state IN ('queued', 'running')")


def upgrade():
    op.create_table(
        "matching_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("tool_base", sa.String(length=1000), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_matching_job_program_id_program"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matching_job")),
    )
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        batch_op.create_index("ix_matching_job_due", ["state", "claimed_until", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_matching_job_program_id"), ["program_id"], unique=False)
        batch_op.create_index(
            "uq_matching_job_active_program", ["program_id"], unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE
        )


def downgrade():
    with op.batch_alter_table("matching_job", schema=None) as batch_op:
        batch_op.drop_index("uq_matching_job_active_program", sqlite_where=ACTIVE, postgresql_where=ACTIVE)
        batch_op.drop_index(batch_op.f("ix_matching_job_program_id"))
        batch_op.drop_index("ix_matching_job_due")
    op.drop_table("matching_job")
