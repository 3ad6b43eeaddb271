"""Goals of a mentoring relationship: the mentee sets them, every member tracks and comments on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lti_tool.errors import NotAuthorised, NotFound
from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.models import (
    Goal,
    GoalComment,
    GoalProgressChange,
    GoalStatus,
    MemberRole,
    Milestone,
    MilestoneChange,
)
from lti_tool.mentoring.relationships import MentoringError, PairAccess, require_open
from lti_tool.profiles.services import BAR_STEP, ContributionBar
from lti_tool.programs.models import Participant
from lti_tool.settings import Settings
from lti_tool.statements.events import record_goal_completed, record_goal_set

if TYPE_CHECKING:
    from lti_tool.mentoring import goal_forms

MAX_TITLE = 200
MAX_MEASURE = 2000
MAX_COMMENT = 2000
MAX_DAYS_AHEAD = 2 * 365  # a goal further off than two years is not one a mentoring cohort can track
GOAL_SETTER_ROLES = frozenset({MemberRole.MENTEE.value, MemberRole.PEER.value})
CLOSED = frozenset({GoalStatus.COMPLETED.value, GoalStatus.DROPPED.value})


def day_text(day: date) -> str:
    """A date as the pair pages write it: 03 Nov 2025."""
    return f"{day:%d %b %Y}"


def moment_text(when: datetime, timezone: str) -> str:
    """A stored UTC time as someone reads it in their own time zone: 03 Nov 2025, 14:05."""
    local = when.astimezone(ZoneInfo(timezone))
    return f"{day_text(local.date())}, {local:%H:%M}"


def local_today(participant: Participant) -> date:
    """Today in the participant's own time zone: what "not in the past" means to them."""
    return utcnow().astimezone(ZoneInfo(participant.timezone)).date()


@dataclass(frozen=True)
class DateWindow:
    """The dates a goal or milestone may fall on: from the member's today to two years ahead."""

    earliest: date
    latest: date

    @classmethod
    def for_member(cls, participant: Participant) -> DateWindow:
        today = local_today(participant)
        return cls(today, today + timedelta(days=MAX_DAYS_AHEAD))

    def error(self, day: date) -> str | None:
        if day < self.earliest:
            return f"Choose a date that is not in the past: {day_text(self.earliest)} or later."
        if day > self.latest:
            return f"Choose a date within two years, by {day_text(self.latest)} at the latest."
        return None


@dataclass(frozen=True)
class GoalDraft:
    title: str
    skill_key: str
    measure: str
    target_on: date


@dataclass(frozen=True)
class GoalState:
    """What a status and progress update changes."""

    status: str
    progress: int
    completed_at: datetime | None

    @classmethod
    def of(cls, goal: Goal) -> GoalState:
        return cls(goal.status, goal.progress, goal.completed_at)

    @classmethod
    def after(cls, change: GoalProgressChange) -> GoalState:
        return cls(change.status, change.progress, change.completed_at)


GOAL_AS_SET = GoalState(GoalStatus.NOT_STARTED.value, 0, None)  # how every goal is set


class GoalChange(StrEnum):
    """What a status and progress update did, for the message that confirms it."""

    COMPLETED = "completed"
    REOPENED = "reopened"
    UPDATED = "updated"


def _clean(text: str) -> str:
    # Browsers send CRLF line ends from a textarea; store one kind.
    return text.replace("\r\n", "\n").strip()


def may_set_goals(access: PairAccess) -> bool:
    return access.me.role in GOAL_SETTER_ROLES


def require_goal_setter(access: PairAccess) -> None:
    require_open(access)
    if not may_set_goals(access):
        raise NotAuthorised(
            "Mentees set their own goals.",
            hint="As the mentor, help your mentee shape theirs, then update their progress and comment on them.",
        )


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise MentoringError(message)


def set_goal(access: PairAccess, draft: GoalDraft, *, settings: Settings, tool_base: str) -> Goal:
    """The viewer (a mentee, or a peer) sets a goal for themself; its statement is queued with it."""
    require_goal_setter(access)
    title, measure = _clean(draft.title), _clean(draft.measure)
    _check(0 < len(title) <= MAX_TITLE, f"Give the goal a title of at most {MAX_TITLE} characters.")
    _check(0 < len(measure) <= MAX_MEASURE, f"Say how you will know it is reached, in at most {MAX_MEASURE}.")
    skill_keys = {skill.key for skill in access.relationship.program.skills}
    _check(draft.skill_key in skill_keys, "Choose one of the program's skills.")
    date_error = DateWindow.for_member(access.me.participant).error(draft.target_on)
    _check(date_error is None, f"Target date: {date_error}")
    goal = Goal(
        relationship=access.relationship,
        owner=access.me.participant,
        title=title,
        skill_key=draft.skill_key,
        measure=measure,
        target_on=draft.target_on,
        status=GOAL_AS_SET.status,
        progress=GOAL_AS_SET.progress,
        completed_at=GOAL_AS_SET.completed_at,
        created_at=utcnow(),
    )
    db.session.add(goal)
    db.session.flush()
    record_goal_set(goal, settings=settings, tool_base=tool_base)
    return goal


def goal_of(access: PairAccess, goal_id: int) -> Goal:
    """A goal of this pair; another pair's goal is not found, as if it did not exist."""
    goal = db.session.get(Goal, goal_id)
    if goal is None or goal.relationship_id != access.relationship.id or not access.sees(goal.created_at):
        raise NotFound("There is no such goal on this pair page.")
    return goal


def milestone_of(access: PairAccess, goal: Goal, milestone_id: int) -> Milestone:
    milestone = next((m for m in goal.milestones if m.id == milestone_id), None)
    if milestone is None or not access.sees(milestone.created_at):
        raise NotFound("There is no such milestone on this goal.")
    return milestone


def update_progress(
    access: PairAccess, goal: Goal, status: GoalStatus, progress: int, *, settings: Settings, tool_base: str
) -> GoalChange:
    """Any member updates a goal's status and progress. Reaching "completed" records the completion once
    (a repeated "completed" changes nothing); leaving it reopens the goal, so a later completion is a new one.
    The one writer of a goal's status and progress: each update is kept, for whoever left the pair before it."""
    require_open(access)
    _check(0 <= progress <= 100, "Progress is a whole number from 0 to 100.")
    now = utcnow()
    was_completed = goal.status == GoalStatus.COMPLETED.value
    goal.status, goal.progress = status.value, progress
    if status is GoalStatus.COMPLETED:
        goal.progress = 100
        change = GoalChange.UPDATED if was_completed else GoalChange.COMPLETED
        goal.completed_at = goal.completed_at if was_completed else now
    else:
        goal.completed_at = None
        change = GoalChange.REOPENED if was_completed else GoalChange.UPDATED
    state = GoalState.of(goal)
    goal.progress_changes.append(
        GoalProgressChange(
            status=state.status, progress=state.progress, completed_at=state.completed_at, changed_at=now
        )
    )
    if change is GoalChange.COMPLETED:
        record_goal_completed(goal, settings=settings, tool_base=tool_base)
    return change


def add_milestone(access: PairAccess, goal: Goal, title: str, due_on: date | None) -> Milestone:
    """The goal's owner breaks it into steps, each with an optional due date."""
    require_open(access)
    if goal.owner_id != access.me.participant_id:
        raise NotAuthorised("Only the person whose goal this is adds its milestones.")
    title = _clean(title)
    _check(0 < len(title) <= MAX_TITLE, f"Give the milestone a title of at most {MAX_TITLE} characters.")
    if due_on is not None:
        date_error = DateWindow.for_member(access.me.participant).error(due_on)
        _check(date_error is None, f"Due date: {date_error}")
    milestone = Milestone(title=title, due_on=due_on)
    goal.milestones.append(milestone)
    db.session.flush()
    return milestone


def mark_milestone(access: PairAccess, milestone: Milestone, done: bool) -> None:
    """Any member ticks a milestone off, or back on; ticking twice keeps the first time. The one writer of a
    milestone's ticks: each is kept, for whoever left the pair before it."""
    require_open(access)
    if done == (milestone.done_at is not None):
        return
    now = utcnow()
    milestone.done_at = now if done else None
    milestone.changes.append(MilestoneChange(done_at=milestone.done_at, changed_at=now))


def add_comment(access: PairAccess, goal: Goal, text: str) -> GoalComment:
    require_open(access)
    text = _clean(text)
    _check(0 < len(text) <= MAX_COMMENT, f"Write a comment of at most {MAX_COMMENT} characters.")
    comment = GoalComment(author=access.me.participant, text=text, created_at=utcnow())
    goal.comments.append(comment)
    db.session.flush()
    return comment


# --- The pair page's goals section ------------------------------------------------------------------------------


def _as_seen(access: PairAccess, milestone: Milestone) -> Milestone:
    """The milestone as the viewer may see it: ticked off, or not, as its last tick up to their cut-off left it
    (a transient stand-in when that differs from now, never added to the database session)."""
    changes = ((change.changed_at, change.done_at) for change in milestone.changes)
    done_at = access.as_it_was(milestone.done_at, changes, None)
    if done_at == milestone.done_at:
        return milestone
    return Milestone(
        id=milestone.id, goal_id=milestone.goal_id, title=milestone.title, due_on=milestone.due_on, done_at=done_at
    )


@dataclass(frozen=True)
class GoalCard:
    """One goal as the pair page shows it, with the forms that act on it."""

    goal: Goal
    state: GoalState  # as the viewer sees it (see `PairAccess`), like the milestones and the comments
    milestones: list[Milestone]
    comments: list[GoalComment]
    skill_name: str
    owner_name: str
    mine: bool
    status_label: str
    bar: ContributionBar
    past_target: bool
    may_add_milestones: bool
    progress_form: goal_forms.ProgressForm
    milestone_form: goal_forms.MilestoneForm
    comment_form: goal_forms.CommentForm


def pair_goals(access: PairAccess) -> list[Goal]:
    """The pair's goals the viewer may see, by target date."""
    return list(
        db.session.execute(
            select(Goal)
            .where(Goal.relationship_id == access.relationship.id, access.visible(Goal.created_at))
            .order_by(Goal.target_on, Goal.id)
            .options(
                selectinload(Goal.milestones).selectinload(Milestone.changes),
                selectinload(Goal.progress_changes),
                selectinload(Goal.comments).selectinload(GoalComment.author).selectinload(Participant.membership),
                selectinload(Goal.owner).selectinload(Participant.membership),
            )
        ).scalars()
    )


def _state_seen(access: PairAccess, goal: Goal) -> GoalState:
    """A goal's status and progress as the viewer may see them."""
    changes = ((change.changed_at, GoalState.after(change)) for change in goal.progress_changes)
    return access.as_it_was(GoalState.of(goal), changes, GOAL_AS_SET)


def section(access: PairAccess, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The goals, their progress, milestones and comments, open ones first by target date, then completed and
    dropped ones; `forms` holds a submitted form that had errors."""
    from lti_tool.mentoring import goal_forms  # here, not at the top: the forms import this module's rules

    forms = forms or {}
    me = access.me.participant
    window = DateWindow.for_member(me)
    skill_names = {skill.key: skill.name for skill in access.relationship.program.skills}
    editable = access.is_open
    cards = [
        GoalCard(
            goal=goal,
            state=state,
            milestones=[_as_seen(access, m) for m in goal.milestones if access.sees(m.created_at)],
            comments=[comment for comment in goal.comments if access.sees(comment.created_at)],
            skill_name=skill_names.get(goal.skill_key or "", goal.skill_key or "no skill"),
            owner_name=goal.owner.membership.user.display_name,
            mine=goal.owner_id == me.id,
            status_label=goal_forms.STATUS_LABELS.get(state.status, state.status),
            bar=ContributionBar(
                label="Progress",
                value_text=f"{state.progress}%",
                width=round(state.progress / BAR_STEP) * BAR_STEP,
            ),
            past_target=state.status not in CLOSED and goal.target_on < window.earliest,
            may_add_milestones=editable and goal.owner_id == me.id,
            progress_form=forms.get(goal_forms.progress_prefix(goal.id)) or goal_forms.ProgressForm.of(goal),
            milestone_form=forms.get(goal_forms.milestone_prefix(goal.id))
            or goal_forms.MilestoneForm.blank(goal.id, window),
            comment_form=forms.get(goal_forms.comment_prefix(goal.id)) or goal_forms.CommentForm.blank(goal.id),
        )
        for goal, state in ((goal, _state_seen(access, goal)) for goal in pair_goals(access))
    ]
    cards.sort(key=lambda card: card.state.status in CLOSED)  # stable: by target date within each
    new_goal_form = None
    if editable and may_set_goals(access):
        new_goal_form = forms.get(goal_forms.NEW_GOAL) or goal_forms.GoalForm.blank(
            access.relationship.program.skills, window
        )
    setters = [m for m in access.active_members if m.role in GOAL_SETTER_ROLES]
    return {
        "goal_cards": cards,
        "goal_form": new_goal_form,
        "goals_open": editable,
        "goal_setters": [m.participant.membership.user.display_name for m in setters if m.id != access.me.id],
        "goal_moment": partial(moment_text, timezone=me.timezone),
    }
