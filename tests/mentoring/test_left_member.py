"""A mentee who left a group keeps their own history of it, and sees nothing the group did after they left."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.matching import workflow
from lti_tool.mentoring.models import ActionItem, CheckinRequest, Goal, Milestone, Relationship, RelationshipMember
from lti_tool.programs.models import Match, MatchStatus, MentoringModel, Participant, Program
from lti_tool.runtime import runtime
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import build_cohort, mentor_profile
from tests.mentoring.conftest import Pair
from tests.mentoring.test_goals import goal_data
from tests.mentoring.test_sessions import PAIR_STARTED, everything, log, session_data, session_path, text_of


@dataclass
class Group:
    """learner-01's published group: `stayer` is still in it, `leaver`'s match has ended."""

    pair: Pair
    stayer: str
    leaver: str


@pytest.fixture
def group(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Group:
    """A group program: learner-01 mentors two of learner-03..05 in one relationship, published over HTTP."""
    cohort = build_cohort(app, new_browser)
    with app.app_context():
        db.session.get(Program, cohort.program_id).model = MentoringModel.GROUP.value  # type: ignore[union-attr]
        db.session.commit()
    cohort.profile("learner-01", mentor_profile(capacity=2))
    assert cohort.post("instructor", "/run").status_code == 200
    assert cohort.post("instructor", "/publish").status_code == 200
    mentor_id = cohort.participant("learner-01")
    people = {cohort.participant(p): p for p in cohort.browsers if p != "instructor"}
    with app.app_context():
        relationship = db.session.execute(
            select(Relationship)
            .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
            .where(Relationship.program_id == cohort.program_id, RelationshipMember.participant_id == mentor_id)
        ).scalar_one()
        # Started in January 2025, so that sessions on the log form's default day can be logged.
        relationship.created_at = PAIR_STARTED
        for member in relationship.members:
            member.joined_at = PAIR_STARTED
        mentees = [people[m.participant_id] for m in relationship.members if m.role == "mentee"]
        relationship_id = relationship.id
        db.session.commit()
    assert len(mentees) == 2
    outsider = next(p for p in ("learner-03", "learner-04", "learner-05") if p not in mentees)
    pair = Pair(cohort, relationship_id, mentor="learner-01", mentee=mentees[0], outsider=outsider)
    return Group(pair, stayer=mentees[0], leaver=mentees[1])


def end_match(group: Group) -> None:
    """The leaver asks for a rematch and the instructor grants it: their match ends and they leave the group."""
    pair = group.pair
    with pair.app.app_context():
        program = db.session.get(Program, pair.cohort.program_id)
        assert program is not None
        leaver = db.session.get(Participant, pair.cohort.participant(group.leaver))
        match = db.session.execute(
            select(Match).where(Match.mentee_id == leaver.id, Match.status == MatchStatus.PUBLISHED.value)  # type: ignore[union-attr]
        ).scalar_one()
        settings, base = runtime().settings, "http://tool.test/"
        request = workflow.request_rematch(
            program, match, leaver, "We want different things.", settings=settings, tool_base=base
        )
        workflow.resolve_request(program, request.id, rematch=True)
        db.session.commit()


def test_a_mentee_who_left_the_group_sees_only_what_happened_before_they_left(group: Group) -> None:
    pair, leaver, stayer = group.pair, group.leaver, group.stayer
    before = log(pair, pair.mentor, **{"session-topics": "Our first meeting"})
    assert pair.post(leaver, session_path(before, "/confirm")).status_code == 200
    end_match(group)
    # After they left: the mentor edits that session and logs another, the others answer and rate, set a goal,
    # comment on it and ask for a check-in.
    edited = pair.post(
        pair.mentor, session_path(before, "/edit"), session_data(**{"session-topics": "Rewritten after you left"})
    )
    assert edited.status_code == 200, text_of(edited)[:2000]
    assert (
        pair.post(stayer, session_path(before, "/rating"), {"rating-rating": "2", "rating-comment": "Meh"}).status_code
        == 200
    )
    after = log(pair, pair.mentor, **{"session-topics": "The group without them"})
    assert pair.post(stayer, session_path(after, "/confirm")).status_code == 200
    assert pair.post(stayer, "/goals", goal_data(**{"new-goal-title": "A goal set later"})).status_code == 200
    with pair.app.app_context():
        goal_id = db.session.execute(select(Goal.id)).scalar_one()
    comment = {f"goal-{goal_id}-comment-text": "A comment made later"}
    assert pair.post(pair.mentor, f"/goals/{goal_id}/comments", comment).status_code == 200
    assert pair.post(stayer, "/checkin-requests", {"message": "See you next week?"}).status_code == 200
    with pair.app.app_context():
        assert db.session.execute(select(CheckinRequest.id)).first() is not None

    page = pair.page(leaver)
    assert page.status_code == 200
    text = text_of(page)
    assert "Our first meeting" in text  # their own history stays
    assert "Rewritten after you left" not in text
    assert "The group without them" not in text and f"session-{after}" not in page.text
    assert "A goal set later" not in text and "A comment made later" not in text
    assert "See you next week?" not in text and "Meh" not in text
    # The later session, and the later version of theirs, are not theirs to open.
    assert pair.page(leaver, session_path(after)).status_code == 404
    history = text_of(pair.page(leaver, session_path(before, "/history")))
    assert "Our first meeting" in history and "Rewritten after you left" not in history
    assert pair.post(leaver, f"/goals/{goal_id}/comments", comment).status_code == 404

    # The others still see everything.
    stayer_text = text_of(pair.page(stayer))
    assert "Rewritten after you left" in stayer_text and "The group without them" in stayer_text
    assert "A goal set later" in stayer_text and "See you next week?" in stayer_text


def test_a_mentee_who_left_can_no_longer_act_on_the_group(group: Group) -> None:
    pair, leaver = group.pair, group.leaver
    session_id = log(pair, pair.mentor)
    end_match(group)
    before = everything(pair.app)
    with pair.app.app_context():
        acceptances = db.session.execute(select(RelationshipMember.accepted_at, RelationshipMember.expectations)).all()
    for path, data in (
        ("/sessions", session_data()),
        (session_path(session_id, "/confirm"), {}),
        (session_path(session_id, "/rating"), {"rating-rating": "5"}),
        ("/agreement", {"expectations": "Changed my mind"}),
        ("/expectations", {"expectations": "Changed my mind"}),
        ("/checkin-requests", {"message": "Hello?"}),
        ("/goals", goal_data()),
    ):
        refused = pair.post(leaver, path, data)
        assert refused.status_code in (403, 404), (path, refused.status_code)
    assert everything(pair.app) == before
    with pair.app.app_context():
        assert (
            db.session.execute(select(RelationshipMember.accepted_at, RelationshipMember.expectations)).all()
            == acceptances
        )
        assert db.session.execute(select(CheckinRequest.id)).first() is None
        assert db.session.execute(select(Goal.id)).first() is None


def goal_card(page: httpx.Response, goal_id: int) -> str:
    """One goal's card on a pair page, as text."""
    found = re.search(rf'<article class="goal" id="goal-{goal_id}".*?</article>', page.text, re.S)
    assert found, page.text[:2000]
    return html.unescape(found.group(0))


def expectations_shown(page: httpx.Response) -> str:
    found = re.search(r"<h3>Pair-specific expectations</h3>(.*?)<h3>", page.text, re.S)
    assert found, page.text[:2000]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))))


def progress(goal_id: int, status: str, percent: int) -> dict[str, str]:
    return {f"goal-{goal_id}-status": status, f"goal-{goal_id}-progress": str(percent)}


def milestone(goal_id: int, title: str) -> dict[str, str]:
    return {f"goal-{goal_id}-milestone-title": title}


def test_a_mentee_who_left_sees_goals_and_milestones_as_they_were_when_they_left(group: Group) -> None:
    pair, leaver, stayer = group.pair, group.leaver, group.stayer
    assert pair.post(leaver, "/goals", goal_data(**{"new-goal-title": "The leaver's goal"})).status_code == 200
    assert pair.post(stayer, "/goals", goal_data(**{"new-goal-title": "The stayer's goal"})).status_code == 200
    with pair.app.app_context():
        own, theirs = db.session.execute(select(Goal.id).order_by(Goal.id)).scalars()
    # Before they left: the leaver moves their own goal on, the stayer adds a milestone to theirs.
    assert pair.post(leaver, f"/goals/{own}/progress", progress(own, "in-progress", 30)).status_code == 200
    assert pair.post(stayer, f"/goals/{theirs}/milestones", milestone(theirs, "A step from before")).status_code == 200
    with pair.app.app_context():
        step = db.session.execute(select(Milestone.id)).scalar_one()
    end_match(group)
    # After they left: their goal is completed for them, the stayer's is moved on and gets a new milestone, and the
    # old milestone is ticked off.
    assert pair.post(pair.mentor, f"/goals/{own}/progress", progress(own, "completed", 100)).status_code == 200
    assert pair.post(stayer, f"/goals/{theirs}/progress", progress(theirs, "in-progress", 70)).status_code == 200
    assert pair.post(stayer, f"/goals/{theirs}/milestones", milestone(theirs, "A step added later")).status_code == 200
    assert pair.post(pair.mentor, f"/goals/{theirs}/milestones/{step}", {"done": "y"}).status_code == 200

    page = pair.page(leaver)
    mine, stayers = goal_card(page, own), goal_card(page, theirs)
    assert "In progress" in mine and "30%" in mine and "Completed" not in mine  # their own history stays
    assert "Not started" in stayers and "0%" in stayers and "70%" not in stayers
    assert "A step from before" in stayers and "A step added later" not in stayers
    assert 'class="done"' not in stayers  # ticked off after they left: still open for them
    # Open goals come first: a goal completed after they left does not move down for them.
    assert page.text.index(f'id="goal-{own}"') < page.text.index(f'id="goal-{theirs}"')

    # The others see the goals as they are now.
    now = pair.page(stayer)
    mine_now, stayers_now = goal_card(now, own), goal_card(now, theirs)
    assert "Completed on" in mine_now and "100%" in mine_now
    assert "70%" in stayers_now and "A step added later" in stayers_now and 'class="done"' in stayers_now


def test_a_mentee_who_left_sees_everyones_expectations_as_they_were_when_they_left(group: Group) -> None:
    pair, leaver, stayer = group.pair, group.leaver, group.stayer
    assert pair.post(leaver, "/agreement", {"expectations": "Weekly calls, please"}).status_code == 200
    assert pair.post(stayer, "/agreement", {"expectations": "Code review first"}).status_code == 200
    end_match(group)
    assert pair.post(stayer, "/expectations", {"expectations": "Rewritten without them"}).status_code == 200
    assert pair.post(pair.mentor, "/agreement", {"expectations": "Stated after they left"}).status_code == 200

    shown = expectations_shown(pair.page(leaver))
    assert "Weekly calls, please" in shown and "Code review first" in shown  # their own and the stayer's, as they were
    assert "Rewritten without them" not in shown and "Stated after they left" not in shown

    now = expectations_shown(pair.page(stayer))
    assert "Rewritten without them" in now and "Stated after they left" in now and "Code review first" not in now


def milestones_done(card: str) -> set[str]:
    """The titles of a goal card's milestones shown as ticked off."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", card))
    return set(re.findall(r"Done: (.+?) done ", text))


def test_a_mentee_who_left_sees_each_milestone_ticked_as_it_was_when_they_left(group: Group) -> None:
    pair, leaver, stayer = group.pair, group.leaver, group.stayer
    assert pair.post(stayer, "/goals", goal_data(**{"new-goal-title": "The stayer's goal"})).status_code == 200
    with pair.app.app_context():
        goal_id = db.session.execute(select(Goal.id)).scalar_one()
    steps = ("Unticked later", "Ticked again later", "Ticked only later")
    for title in steps:
        assert pair.post(stayer, f"/goals/{goal_id}/milestones", milestone(goal_id, title)).status_code == 200
    with pair.app.app_context():
        unticked, reticked, ticked = db.session.execute(select(Milestone.id).order_by(Milestone.id)).scalars()
    tick = f"/goals/{goal_id}/milestones/"
    for step in (unticked, reticked):
        assert pair.post(stayer, f"{tick}{step}", {"done": "y"}).status_code == 200
    end_match(group)
    # After they left: one milestone ticked before is unticked, another unticked and ticked again, a third ticked.
    for step, done in ((unticked, False), (reticked, False), (reticked, True), (ticked, True)):
        assert pair.post(pair.mentor, f"{tick}{step}", {"done": "y"} if done else {}).status_code == 200

    assert milestones_done(goal_card(pair.page(leaver), goal_id)) == {"Unticked later", "Ticked again later"}
    assert milestones_done(goal_card(pair.page(stayer), goal_id)) == {"Ticked again later", "Ticked only later"}


def action_items_in(page: httpx.Response, wanted: str) -> set[str]:
    """The texts of a page's action items shown as `wanted` ("done" or "open")."""
    found = re.findall(r'<li class="(done|open)">\s*<span class="action-text">(.*?)</span>', page.text)
    assert found, page.text[:2000]
    return {html.unescape(text) for state, text in found if state == wanted}


def action_items_done(page: httpx.Response) -> set[str]:
    return action_items_in(page, "done")


def action_items_open(page: httpx.Response) -> set[str]:
    return action_items_in(page, "open")


def test_a_mentee_who_left_sees_each_action_item_ticked_as_it_was_when_they_left(group: Group) -> None:
    pair, leaver, stayer = group.pair, group.leaver, group.stayer
    mentor, stayer_id = str(pair.cohort.participant(pair.mentor)), str(pair.cohort.participant(stayer))
    texts = ("Reopened later", "Done only later", "Handed on before")
    rows = {
        key: value
        for row, text in enumerate(texts)
        for key, value in ((f"session-actions-{row}-text", text), (f"session-actions-{row}-owner", mentor))
    }
    session_id = log(pair, pair.mentor, **rows)
    with pair.app.app_context():
        reopened, later, handed_on = db.session.execute(select(ActionItem.id).order_by(ActionItem.id)).scalars()
    tick = session_path(session_id, "/actions/")
    for item in (reopened, handed_on):
        assert pair.post(pair.mentor, f"{tick}{item}", {"done": "1"}).status_code == 200
    # Still before they left: the mentor hands the third item on to the stayer, which opens it again.
    handed = session_data(**{**rows, "session-actions-2-owner": stayer_id})
    edit = pair.post(pair.mentor, session_path(session_id, "/edit"), handed)
    assert edit.status_code == 200, text_of(edit)[:2000]
    end_match(group)
    # After they left: the first item is opened again, the second ticked, the third ticked by its new owner.
    assert pair.post(pair.mentor, f"{tick}{reopened}", {"done": "0"}).status_code == 200
    assert pair.post(pair.mentor, f"{tick}{later}", {"done": "1"}).status_code == 200
    assert pair.post(stayer, f"{tick}{handed_on}", {"done": "1"}).status_code == 200

    assert action_items_done(pair.page(leaver, session_path(session_id))) == {"Reopened later"}
    # The pair page lists the open ones only, as they were when the leaver left.
    assert action_items_open(pair.page(leaver)) == {"Done only later", "Handed on before"}
    assert action_items_done(pair.page(stayer, session_path(session_id))) == {"Done only later", "Handed on before"}
