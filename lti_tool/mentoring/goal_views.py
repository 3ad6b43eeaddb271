"""The pair page's goal actions: set a goal, update its status and progress, its milestones and comments."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.mentoring import goal_forms, goals
from lti_tool.mentoring.models import Goal, GoalStatus
from lti_tool.mentoring.relationships import MentoringError, PairAccess
from lti_tool.mentoring.views import open_pair, pair_url, render_pair
from lti_tool.runtime import runtime

Page = Response | tuple[str, int]


def _refused(access: PairAccess, key: str, form: FlaskForm, error: MentoringError | None = None) -> tuple[str, int]:
    """The pair page again, the submitted form showing its errors where it stands on the page."""
    db.session.rollback()
    if error is not None:
        form.form_errors.append(error.explanation)
    flash("Nothing was saved: correct what is marked in the Goals section.", "error")
    return render_pair(access, 422, **{key: form})


def _back_to(access: PairAccess, course_id: int, goal: Goal) -> Response:
    return redirect(pair_url(access, course_id, f"goal-{goal.id}"), 303)


def _submitted(
    access: PairAccess, course_id: int, key: str, form: FlaskForm, save: Callable[[], tuple[Goal, str]]
) -> Page:
    """A goal form's POST: validate it, `save` (answering the goal and what to tell), commit and go back to the
    goal; or the pair page again with the form's errors, nothing saved."""
    if not form.validate():
        return _refused(access, key, form)
    try:
        goal, message = save()
    except MentoringError as error:
        return _refused(access, key, form, error)
    db.session.commit()
    flash(message, "success")
    return _back_to(access, course_id, goal)


@course_member()
def set_goal(course_id: int, relationship_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    goals.require_goal_setter(access)
    form = goal_forms.GoalForm(access.relationship.program.skills, goals.DateWindow.for_member(access.me.participant))

    def save() -> tuple[Goal, str]:
        draft = goals.GoalDraft(
            title=form.title.data or "",
            skill_key=form.skill_key.data or "",
            measure=form.measure.data or "",
            target_on=form.target_on.data,
        )
        goal = goals.set_goal(access, draft, settings=runtime().settings, tool_base=public_base_url())
        return goal, f"Your goal “{goal.title}” is set. Break it into milestones, and update its progress as you go."

    return _submitted(access, course_id, goal_forms.NEW_GOAL, form, save)


@course_member()
def update_goal(course_id: int, relationship_id: int, goal_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    goal = goals.goal_of(access, goal_id)
    key = goal_forms.progress_prefix(goal.id)
    form = goal_forms.ProgressForm(prefix=key)

    def save() -> tuple[Goal, str]:
        change = goals.update_progress(
            access,
            goal,
            GoalStatus(form.status.data),
            form.progress.data,
            settings=runtime().settings,
            tool_base=public_base_url(),
        )
        return goal, {
            goals.GoalChange.COMPLETED: f"“{goal.title}” is completed. Well done!",
            goals.GoalChange.REOPENED: f"“{goal.title}” is open again, at {goal.progress}%.",
            goals.GoalChange.UPDATED: f"“{goal.title}” is now {goal_forms.STATUS_LABELS[goal.status].lower()}, "
            f"at {goal.progress}%.",
        }[change]

    return _submitted(access, course_id, key, form, save)


@course_member()
def add_milestone(course_id: int, relationship_id: int, goal_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    goal = goals.goal_of(access, goal_id)
    key = goal_forms.milestone_prefix(goal.id)
    form = goal_forms.MilestoneForm(goals.DateWindow.for_member(access.me.participant), prefix=key)

    def save() -> tuple[Goal, str]:
        milestone = goals.add_milestone(access, goal, form.title.data or "", form.due_on.data)
        return goal, f"Added the milestone “{milestone.title}” to “{goal.title}”."

    return _submitted(access, course_id, key, form, save)


@course_member()
def mark_milestone(course_id: int, relationship_id: int, goal_id: int, milestone_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    goal = goals.goal_of(access, goal_id)
    milestone = goals.milestone_of(access, goal, milestone_id)
    # A checkbox has nothing to get wrong: absent means "not done" (CSRF is checked for every POST).
    goals.mark_milestone(access, milestone, bool(goal_forms.MilestoneTickForm().done.data))
    db.session.commit()
    flash(
        f"Ticked off “{milestone.title}”." if milestone.done_at else f"“{milestone.title}” is marked not done.",
        "success",
    )
    return _back_to(access, course_id, goal)


@course_member()
def comment_on_goal(course_id: int, relationship_id: int, goal_id: int) -> Page:
    access = open_pair(course_id, relationship_id)
    goal = goals.goal_of(access, goal_id)
    key = goal_forms.comment_prefix(goal.id)
    form = goal_forms.CommentForm(prefix=key)

    def save() -> tuple[Goal, str]:
        goals.add_comment(access, goal, form.text.data or "")
        return goal, f"Your comment on “{goal.title}” is posted; everyone in the pair sees it."

    return _submitted(access, course_id, key, form, save)
