"""What a member who left a pair still sees: milestone times and ticks, action item ticks, goal progress, expectations

Revision ID: 4b6ce15423b5
Revises: 4c8f020d6e4d
Create Date: 2026-12-02 08:05:26.543408

"""

import sqlalchemy as sa
from alembic import op

import lti_tool.extensions

# revision identifiers, used by Alembic.
revision = "4b6ce15423b5"
down_revision = "4c8f020d6e4d"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "expectations_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("expectations", sa.Text(), nullable=False),
        sa.Column("changed_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["relationship_member.id"],
            name=op.f("fk_expectations_change_member_id_relationship_member"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expectations_change")),
    )
    with op.batch_alter_table("expectations_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expectations_change_member_id"), ["member_id"], unique=False)

    op.create_table(
        "goal_progress_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("goal_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("completed_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["goal_id"],
            ["mentoring_goal.id"],
            name=op.f("fk_goal_progress_change_goal_id_mentoring_goal"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_goal_progress_change")),
    )
    with op.batch_alter_table("goal_progress_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goal_progress_change_goal_id"), ["goal_id"], unique=False)

    with op.batch_alter_table("goal_milestone", schema=None) as batch_op:
        batch_op.add_column(sa.Column("created_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True))

    # Existing rows: when each was made is not known, so each gets the last moment it is known to have existed by.
    # A milestone was added no earlier than its goal was set.
    op.execute(
        "UPDATE goal_milestone SET created_at ="
        " (SELECT mentoring_goal.created_at FROM mentoring_goal WHERE mentoring_goal.id = goal_milestone.goal_id)"
    )
    # A goal that moved on from how it was set was last updated at its updated_at: one change, to how it is now.
    # (Someone who left between an earlier update and that one sees the goal as it was set.)
    op.execute(
        "INSERT INTO goal_progress_change (goal_id, status, progress, completed_at, changed_at)"
        " SELECT id, status, progress, completed_at, updated_at FROM mentoring_goal"
        " WHERE status <> 'not-started' OR progress <> 0 OR completed_at IS NOT NULL"
    )
    # Expectations are stated when accepting the agreement (the form to change them comes after): one change then.
    op.execute(
        "INSERT INTO expectations_change (member_id, expectations, changed_at)"
        " SELECT id, expectations, COALESCE(accepted_at, joined_at) FROM relationship_member WHERE expectations <> ''"
    )

    with op.batch_alter_table("goal_milestone", schema=None) as batch_op:
        batch_op.alter_column(
            "created_at", existing_type=lti_tool.extensions.UTCDateTime(timezone=True), nullable=False
        )

    # Made after the batch rebuild of goal_milestone above (SQLite copies and drops that table): its rows point at
    # the final table.
    op.create_table(
        "milestone_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("milestone_id", sa.Integer(), nullable=False),
        sa.Column("done_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["milestone_id"],
            ["goal_milestone.id"],
            name=op.f("fk_milestone_change_milestone_id_goal_milestone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestone_change")),
    )
    with op.batch_alter_table("milestone_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_milestone_change_milestone_id"), ["milestone_id"], unique=False)

    # A milestone ticked off now was last ticked at its done_at: one change then. (Earlier ticks and unticks are
    # not known; someone who left before that tick sees it open.)
    op.execute(
        "INSERT INTO milestone_change (milestone_id, done_at, changed_at)"
        " SELECT id, done_at, done_at FROM goal_milestone WHERE done_at IS NOT NULL"
    )

    # Nothing in this migration rebuilds action_item, so its changes may point at it from the start.
    op.create_table(
        "action_item_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_item_id", sa.Integer(), nullable=False),
        sa.Column("done_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column("changed_at", lti_tool.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_item_id"],
            ["action_item.id"],
            name=op.f("fk_action_item_change_action_item_id_action_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_item_change")),
    )
    with op.batch_alter_table("action_item_change", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_action_item_change_action_item_id"), ["action_item_id"], unique=False)

    # Likewise, an action item done now was last ticked at its done_at: one change then.
    op.execute(
        "INSERT INTO action_item_change (action_item_id, done_at, changed_at)"
        " SELECT id, done_at, done_at FROM action_item WHERE done_at IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table("action_item_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_item_change_action_item_id"))

    op.drop_table("action_item_change")

    with op.batch_alter_table("milestone_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_milestone_change_milestone_id"))

    op.drop_table("milestone_change")

    with op.batch_alter_table("goal_milestone", schema=None) as batch_op:
        batch_op.drop_column("created_at")

    with op.batch_alter_table("goal_progress_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goal_progress_change_goal_id"))

    op.drop_table("goal_progress_change")
    with op.batch_alter_table("expectations_change", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expectations_change_member_id"))

    op.drop_table("expectations_change")
