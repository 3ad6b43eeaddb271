"""Covering indexes for program health: a pair's sessions with status, start and duration; ratings with levels

The session index is (relationship_id, status, started_at, duration_minutes), the rating one (assessment_id,
skill_key, level). At 4,000 pairs the health page adds up 20,000 sessions and groups 77,000 ratings on every view;
with these indexes SQLite reads neither table's rows (their topics, notes and JSON): about 9 ms of the page's
~155 ms of CPU (PostgreSQL measured no change). Each replaces the single-column index on its first column,
which it serves as well.

Revision ID: b2ff55574ea7
Revises: 5d1e0c7a9b3f
Create Date: 2026-12-02 12:40:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "b2ff55574ea7"
down_revision = "5d1e0c7a9b3f"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("mentoring_session", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mentoring_session_pair_figures",
            ["relationship_id", "status", "started_at", "duration_minutes"],
            unique=False,
        )
        batch_op.drop_index("ix_mentoring_session_relationship_id")
    with op.batch_alter_table("skill_rating", schema=None) as batch_op:
        batch_op.create_index("ix_skill_rating_levels", ["assessment_id", "skill_key", "level"], unique=False)
        batch_op.drop_index("ix_skill_rating_assessment_id")


def downgrade():
    with op.batch_alter_table("skill_rating", schema=None) as batch_op:
        batch_op.create_index("ix_skill_rating_assessment_id", ["assessment_id"], unique=False)
        batch_op.drop_index("ix_skill_rating_levels")
    with op.batch_alter_table("mentoring_session", schema=None) as batch_op:
        batch_op.create_index("ix_mentoring_session_relationship_id", ["relationship_id"], unique=False)
        batch_op.drop_index("ix_mentoring_session_pair_figures")
