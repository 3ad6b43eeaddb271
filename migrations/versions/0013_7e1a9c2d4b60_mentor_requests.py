"""Two-sided self-match: mentees request a mentor, who accepts or declines by the program's deadline

One pending request per mentee (a partial unique index); pending requests count against the mentor's capacity.

Revision ID: 7e1a9c2d4b60
Revises: b2ff55574ea7
Create Date: 2026-12-02 15:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

import lti_tool.extensions

# revision identifiers, used by Alembic.
revision = "7e1a9c2d4b60"
down_revision = "b2ff55574ea7"
branch_labels = None
depends_on = None

PENDING = sa.text("state = 'pending'")


def upgrade():
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mentor_accepts", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("request_days", sa.Integer(), server_default="7", nullable=False))
    op.create_table(
        "mentor_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("mentor_id", sa.Integer(), nullable=False),
        sa.Column("mentee_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("tool_base", sa.String(length=1000), nullable=False),
        sa.Column("created_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by_id", sa.Integer(), nullable=True),
        sa.Column("match_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by_id"],
            ["membership.id"],
            name=op.f("fk_mentor_request_answered_by_id_membership"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["match_id"], ["mentor_match.id"], name=op.f("fk_mentor_request_match_id_mentor_match"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["mentee_id"], ["participant.id"], name=op.f("fk_mentor_request_mentee_id_participant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["mentor_id"], ["participant.id"], name=op.f("fk_mentor_request_mentor_id_participant"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["program_id"], ["program.id"], name=op.f("fk_mentor_request_program_id_program"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentor_request")),
    )
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentor_request_due", ["expires_at"], unique=False, sqlite_where=PENDING, postgresql_where=PENDING
        )
        batch_op.create_index(batch_op.f("ix_mentor_request_mentee_id"), ["mentee_id"], unique=False)
        batch_op.create_index("ix_mentor_request_mentor_state", ["mentor_id", "state", "id"], unique=False)
        batch_op.create_index("ix_mentor_request_program_state", ["program_id", "state", "expires_at"], unique=False)
        batch_op.create_index(
            "uq_mentor_request_pending_mentee",
            ["mentee_id"],
            unique=True,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade():
    with op.batch_alter_table("mentor_request", schema=None) as batch_op:
        batch_op.drop_index("uq_mentor_request_pending_mentee", sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.drop_index("ix_mentor_request_program_state")
        batch_op.drop_index("ix_mentor_request_mentor_state")
        batch_op.drop_index(batch_op.f("ix_mentor_request_mentee_id"))
        batch_op.drop_index("ix_mentor_request_due", sqlite_where=PENDING, postgresql_where=PENDING)
    op.drop_table("mentor_request")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("request_days")
        batch_op.drop_column("mentor_accepts")
