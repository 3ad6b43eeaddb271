"""Two-sided self-match through real launches: a mentee requests a suggested mentor, who accepts or declines by the
program's deadline; declines and expiry give the place back and tell the mentee; staff see what waits and step in."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from lti_tool.extensions import db, utcnow
from lti_tool.matching.jobs import run_jobs_worker
from lti_tool.matching.models import MentorRequest, RequestState
from lti_tool.mentoring.models import Relationship
from lti_tool.programs.models import Match, Program
from lti_tool.runtime import runtime
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort

PRIYA, LUKAS, AMARA, CHEN = "Priya Natarajan", "Lukas Becker", "Amara Diallo", "Chen Wei"


@pytest.fixture
def two_sided(cohort: Cohort, app: Flask) -> Cohort:
    """The cohort's program runs two-sided self-match with a 3-day deadline; both mentors take one mentee."""
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.self_match, program.mentor_accepts, program.request_days = True, True, 3
        db.session.commit()
    return cohort


def text_of(markup: str) -> str:
    """A page's words as a reader sees them: no tags, one space between words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def page(cohort: Cohort, person: str, path: str) -> str:
    response = cohort.browsers[person].get(f"/courses/{cohort.course_id}{path}")
    assert response.status_code == 200, response.text[:2000]
    return text_of(response.text)


def choices(cohort: Cohort, person: str) -> str:
    return page(cohort, person, "/program/matching/choose")


def ask(cohort: Cohort, mentee: str, mentor: str) -> str:
    return text_of(cohort.post(mentee, "/choose", {"mentor": cohort.participant(mentor)}).text)


def requests_of(cohort: Cohort) -> list[tuple[str, str, str]]:
    """(mentor, mentee, state) of every request, oldest first, by sandbox id."""
    with cohort.app.app_context():
        found = db.session.execute(select(MentorRequest).order_by(MentorRequest.id)).scalars()
        return [
            (r.mentor.membership.user.email.split("@")[0], r.mentee.membership.user.email.split("@")[0], r.state)
            for r in found
        ]


def request_id(cohort: Cohort, mentee: str) -> int:
    with cohort.app.app_context():
        return db.session.execute(
            select(MentorRequest.id)
            .where(MentorRequest.mentee_id == cohort.participant(mentee))
            .order_by(MentorRequest.id.desc())
            .limit(1)
        ).scalar_one()


def events(app: Flask) -> list[str]:
    """The verbs of the outbox's request statements, in order."""
    with app.app_context():
        bodies = db.session.execute(
            select(StatementOutbox.body).where(StatementOutbox.event == "mentor-request").order_by(StatementOutbox.id)
        ).scalars()
        return [json.loads(body)["verb"]["display"]["en-US"] for body in bodies]


def past_deadline(app: Flask) -> None:
    """Every waiting request's deadline moves an hour into the past (as if the mentor had let the days pass)."""
    with app.app_context():
        db.session.execute(
            update(MentorRequest)
            .where(MentorRequest.state == RequestState.PENDING.value)
            .values(expires_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()


def test_a_mentee_asks_a_mentor_who_accepts_and_the_pair_is_published(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    offered = choices(cohort, "learner-03")
    assert f"Ask {PRIYA}" in offered and "they have 3 days to accept or decline" in offered
    sent = ask(cohort, "learner-03", "learner-01")
    assert f"Your request was sent to {PRIYA}. They have until " in sent
    assert requests_of(cohort) == [("learner-01", "learner-03", "pending")]
    assert cohort.matches() == []  # nothing is published before the mentor answers
    assert f"You asked {PRIYA} to be your mentor" in page(cohort, "learner-03", "/me")
    # One request at a time: the mentee waits for the answer.
    assert "You are already waiting for a mentor's answer." in ask(cohort, "learner-03", "learner-02")
    # The mentor sees it on their home page and in their list, with why they were asked.
    assert "1 mentee asked you to be their mentor" in page(cohort, "learner-01", "/me")
    inbox = page(cohort, "learner-01", "/program/matching/mentor-requests")
    assert f"Accept {AMARA}" in inbox and "Score:" in inbox
    accepted = text_of(
        cohort.post(
            "learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "accept"}
        ).text
    )
    assert f"You are now {AMARA}'s mentor" in accepted
    assert cohort.matches() == [("learner-01", "learner-03", "published", False)]
    assert requests_of(cohort) == [("learner-01", "learner-03", "accepted")]
    with app.app_context():
        match = db.session.execute(select(Match)).scalar_one()
        assert match.source == "self" and db.session.get(Relationship, match.relationship_id) is not None
    assert f"Your mentor: {PRIYA}" in page(cohort, "learner-03", "/me")
    assert events(app) == ["requested", "accepted"]
    # Accepting publishes the match the way publishing does: its `matched` statement too.
    with app.app_context():
        assert db.session.execute(
            select(StatementOutbox.id).where(StatementOutbox.event == "match-published")
        ).scalar_one()


def test_a_pending_request_holds_the_mentors_place_so_others_are_suggested_someone_else(two_sided: Cohort) -> None:
    cohort = two_sided
    assert f"Ask {PRIYA}" in choices(cohort, "learner-04")
    ask(cohort, "learner-03", "learner-01")
    offered = choices(cohort, "learner-04")
    assert f"Ask {PRIYA}" not in offered and f"Ask {LUKAS}" in offered
    # Asking her anyway (an old page) is refused: her one place is spoken for.
    assert "not among your suggestions any more" in ask(cohort, "learner-04", "learner-01")


def test_a_decline_frees_the_place_tells_the_mentee_and_the_pair_is_never_suggested_again(
    two_sided: Cohort, app: Flask
) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    declined = cohort.post(
        "learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "decline"}
    )
    assert f"Declined: {AMARA} is told" in text_of(declined.text)
    home = page(cohort, "learner-03", "/me")
    assert f"{PRIYA} declined your request. You can choose another mentor." in home
    again = choices(cohort, "learner-03")
    assert f"Ask {PRIYA}" not in again and f"Ask {LUKAS}" in again
    assert f"Ask {PRIYA}" in choices(cohort, "learner-04")  # her place is free for others
    assert cohort.matches() == []
    assert events(app) == ["requested", "rejected"]


def test_an_unanswered_request_expires_when_read_frees_the_place_and_tells_the_mentee(
    two_sided: Cohort, app: Flask
) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    past_deadline(app)
    assert f"Ask {PRIYA}" in choices(cohort, "learner-04")  # read: expired, the place is free
    assert requests_of(cohort) == [("learner-01", "learner-03", "expired")]
    home = page(cohort, "learner-03", "/me")
    assert f"{PRIYA} did not answer your request by" in home
    # The mentor can no longer answer it, and the mentee may ask her again (expiry is not a decline).
    late = cohort.post(
        "learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "accept"}
    )
    assert "That request was already expired." in late.text
    assert f"Ask {PRIYA}" in choices(cohort, "learner-03")
    assert events(app) == ["requested", "expired"]


def test_the_jobs_worker_expires_requests_without_anyone_reading_them(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    past_deadline(app)
    stop = threading.Event()

    def work() -> None:
        with app.app_context():
            run_jobs_worker(runtime().settings, stop)

    worker = threading.Thread(target=work)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while requests_of(cohort)[0][2] != "expired" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(10)
    assert requests_of(cohort) == [("learner-01", "learner-03", "expired")]
    assert events(app) == ["requested", "expired"]


def test_staff_see_waiting_requests_and_approve_or_cancel_them(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    ask(cohort, "learner-04", "learner-02")
    review = page(cohort, "instructor", "/program/matching")
    assert "Mentees' requests of mentors (2 waiting)" in review
    waiting = page(cohort, "instructor", "/program/matching/mentor-requests/waiting")
    assert f"{AMARA} asked {PRIYA}" in waiting and f"{CHEN} asked {LUKAS}" in waiting
    approved = cohort.post(
        "instructor", f"/mentor-requests/{request_id(cohort, 'learner-03')}/step-in", {"decision": "approve"}
    )
    assert f"Approved: {PRIYA} is now {AMARA}'s mentor." in text_of(approved.text)
    cancelled = cohort.post(
        "instructor", f"/mentor-requests/{request_id(cohort, 'learner-04')}/step-in", {"decision": "cancel"}
    )
    assert f"Cancelled: {CHEN} is told" in text_of(cancelled.text)
    assert cohort.matches() == [("learner-01", "learner-03", "published", False)]
    assert requests_of(cohort) == [
        ("learner-01", "learner-03", "accepted"),
        ("learner-02", "learner-04", "cancelled"),
    ]
    home = page(cohort, "learner-04", "/me")
    assert f"Your instructor cancelled your request to {LUKAS} . You can choose another mentor." in home
    assert events(app) == ["requested", "requested", "approved", "cancelled"]


def test_only_the_asked_mentor_answers_and_only_staff_of_the_course_step_in(
    two_sided: Cohort, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    asked = request_id(cohort, "learner-03")
    for person in ("learner-02", "learner-03"):  # another mentor; the mentee themself
        refused = cohort.post(person, f"/mentor-requests/{asked}/answer", {"decision": "accept"})
        assert "Only the mentor who was asked can answer this request." in refused.text
    assert cohort.post("learner-01", f"/mentor-requests/{asked}/step-in", {"decision": "approve"}).status_code == 403
    learner = cohort.browsers["learner-01"]
    assert learner.get(f"/courses/{cohort.course_id}/program/matching/mentor-requests/waiting").status_code == 403
    # Staff of another course reach nothing of this one.
    outsider: LtiBrowser = new_browser()
    outsider.launch("lead-202", "instructor-2")
    base = f"{outsider.tool_url}/courses/{cohort.course_id}/program/matching/mentor-requests"
    assert outsider.get(f"{base}/waiting").status_code == 403
    assert outsider.http.post(f"{base}/{asked}/step-in", data={"decision": "approve"}).status_code in (400, 403)
    # Without the session's CSRF token nothing is answered.
    no_token = learner.http.post(
        f"{learner.tool_url}/courses/{cohort.course_id}/program/matching/mentor-requests/{asked}/answer",
        data={"decision": "accept"},
    )
    assert no_token.status_code == 400
    # Bad input is refused with a message, never a 500.
    assert (
        "Choose to accept or decline."
        in cohort.post("learner-01", f"/mentor-requests/{asked}/answer", {"decision": "maybe"}).text
    )
    assert "does not exist" in cohort.post("learner-01", "/mentor-requests/999999/answer", {"decision": "accept"}).text
    assert requests_of(cohort) == [("learner-01", "learner-03", "pending")]
    assert cohort.matches() == []


def test_one_sided_self_match_still_publishes_at_once(cohort: Cohort, app: Flask) -> None:
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.self_match = True
        db.session.commit()
    assert f"Choose {PRIYA}" in choices(cohort, "learner-03")
    assert f"{PRIYA} is now your mentor." in ask(cohort, "learner-03", "learner-01")
    assert requests_of(cohort) == []


def test_accepting_is_refused_once_the_mentors_places_are_filled_by_published_matches(two_sided: Cohort) -> None:
    """Matching run by staff does not see waiting requests: if it fills the mentor's places meanwhile, accepting
    says so instead of going over capacity, and the request stays for the mentor to decline or staff to cancel."""
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    cohort.post(
        "instructor",
        "/manual",
        {"mentor": cohort.participant("learner-01"), "mentee": cohort.participant("learner-04")},
    )
    cohort.post("instructor", "/publish")
    assert ("learner-01", "learner-04", "published", False) in cohort.matches()
    refused = cohort.post(
        "learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "accept"}
    )
    assert "The mentor has no place left (1 of 1 taken). Decline or cancel instead." in text_of(refused.text)
    assert requests_of(cohort) == [("learner-01", "learner-03", "pending")]
    assert [m for m in cohort.matches() if m[1] == "learner-03"] == []


def test_running_matching_keeps_waiting_requests_and_never_proposes_a_declined_pair(two_sided: Cohort) -> None:
    """A waiting request holds the mentor's place and the mentee for a run of matching too; once declined, the run
    does not propose that pair either."""
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    made: list[Match] = []  # the run holds the waiting pair as a plain pair: no Match made that is never saved

    def made_one(match: Match, args: object, kwargs: object) -> None:
        made.append(match)

    event.listen(Match, "init", made_one)
    try:
        cohort.post("instructor", "/run")
    finally:
        event.remove(Match, "init", made_one)
    assert made == []  # the run's drafts are inserted in bulk, as rows
    drafts = [(m[0], m[1]) for m in cohort.matches() if m[2] == "draft"]
    assert len(drafts) == 1 and drafts[0][0] == "learner-02"  # Priya's one place is held for Amara
    assert all("learner-03" not in pair for pair in drafts)
    cohort.post("learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "decline"})
    cohort.post("instructor", "/run")
    drafts = [(m[0], m[1]) for m in cohort.matches() if m[2] == "draft"]
    assert len(drafts) == 2 and ("learner-01", "learner-03") not in drafts


def withdraw(cohort: Cohort, person: str, mentee: str) -> str:
    return text_of(cohort.post(person, f"/mentor-requests/{request_id(cohort, mentee)}/withdraw").text)


def test_a_mentee_withdraws_their_request_and_the_mentors_place_is_free_at_once(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    assert f"Withdraw my request to {PRIYA}" in page(cohort, "learner-03", "/me")
    assert f"Withdraw my request to {PRIYA}" in choices(cohort, "learner-03")
    assert f"Ask {PRIYA}" not in choices(cohort, "learner-04")  # held by the request
    # Only the mentee who asked takes it back: not the mentor, not another mentee, not staff.
    for person in ("learner-01", "learner-04", "instructor"):
        refused = cohort.post(person, f"/mentor-requests/{request_id(cohort, 'learner-03')}/withdraw")
        assert refused.status_code in (200, 403)
        if refused.status_code == 200:
            assert "Only the mentee who asked can withdraw this request." in text_of(refused.text)
    assert requests_of(cohort) == [("learner-01", "learner-03", "pending")]
    # Without the session's CSRF token nothing happens.
    mentee = cohort.browsers["learner-03"]
    no_token = mentee.http.post(
        f"{mentee.tool_url}/courses/{cohort.course_id}/program/matching/mentor-requests/"
        f"{request_id(cohort, 'learner-03')}/withdraw"
    )
    assert no_token.status_code == 400
    assert f"You withdrew your request to {PRIYA}. You can choose another mentor." in withdraw(
        cohort, "learner-03", "learner-03"
    )
    assert requests_of(cohort) == [("learner-01", "learner-03", "cancelled")]
    assert f"Ask {PRIYA}" in choices(cohort, "learner-04")  # her place is free at once
    assert f"You withdrew your request to {PRIYA} . You can choose another mentor." in page(cohort, "learner-03", "/me")
    # A withdrawal is not a decline: the mentee may ask her again; the old request cannot be answered.
    assert f"Ask {PRIYA}" in choices(cohort, "learner-03")
    late = cohort.post(
        "learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "accept"}
    )
    assert "That request was already cancelled." in late.text
    assert "That request was already cancelled." in withdraw(cohort, "learner-03", "learner-03")
    assert "does not exist" in text_of(cohort.post("learner-03", "/mentor-requests/999999/withdraw").text)
    assert cohort.matches() == []
    assert events(app) == ["requested", "retracted"]


def test_a_waiting_request_is_closed_when_staff_publish_a_match_for_its_mentee(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    pair = {"mentor": cohort.participant("learner-02"), "mentee": cohort.participant("learner-03")}
    cohort.post("instructor", "/manual", pair)
    cohort.post("instructor", "/publish")
    assert ("learner-02", "learner-03", "published", False) in cohort.matches()
    assert requests_of(cohort) == [("learner-01", "learner-03", "cancelled")]
    assert f"Ask {PRIYA}" in choices(cohort, "learner-04")  # her place is free again
    assert "Mentees asking for you" not in page(cohort, "learner-01", "/me")
    home = page(cohort, "learner-03", "/me")
    assert f"Your mentor: {LUKAS}" in home and "You asked" not in home
    assert events(app) == ["requested", "cancelled"]


def test_turning_two_sided_off_leaves_waiting_requests_answerable_until_answered_or_expired(
    two_sided: Cohort, app: Flask
) -> None:
    """No new requests are made, but the ones waiting keep holding their mentor's place and the mentee: the mentor
    still sees and answers them from their home page, the mentee may withdraw, and staff still find the list."""
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    ask(cohort, "learner-04", "learner-02")
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.mentor_accepts = False  # one-sided self-match from now on
        db.session.commit()
    assert "1 mentee asked you to be their mentor" in page(cohort, "learner-01", "/me")
    assert f"You asked {PRIYA} to be your mentor" in page(cohort, "learner-03", "/me")
    choose = choices(cohort, "learner-03")
    assert f"Withdraw my request to {PRIYA}" in choose and f"Choose {LUKAS}" not in choose
    assert "You are waiting for a mentor's answer. Withdraw that request first." in ask(
        cohort, "learner-03", "learner-02"
    )
    review = page(cohort, "instructor", "/program/matching")
    assert "Mentees' requests of mentors (2 waiting)" in review and "Two-sided self-match is off" in review
    assert f"{CHEN} asked {LUKAS}" in page(cohort, "instructor", "/program/matching/mentor-requests/waiting")
    accepted = cohort.post(
        "learner-01", f"/mentor-requests/{request_id(cohort, 'learner-03')}/answer", {"decision": "accept"}
    )
    assert f"You are now {AMARA}'s mentor" in text_of(accepted.text)
    assert f"You withdrew your request to {LUKAS}" in withdraw(cohort, "learner-04", "learner-04")
    # Nothing waits any more: the notices and the staff section go, and choosing is one-sided again.
    assert "Mentees asking for you" not in page(cohort, "learner-01", "/me")
    assert "Mentees' requests of mentors" not in page(cohort, "instructor", "/program/matching")
    assert f"{LUKAS} is now your mentor." in ask(cohort, "learner-04", "learner-02")
    assert events(app) == ["requested", "requested", "accepted", "retracted"]


def test_with_two_sided_off_an_old_request_still_expires_at_its_deadline(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.mentor_accepts = False
        db.session.commit()
    past_deadline(app)
    assert f"Choose {PRIYA}" in choices(cohort, "learner-03")  # expired on this visit: one-sided choosing again
    assert requests_of(cohort) == [("learner-01", "learner-03", "expired")]
    assert "You asked" not in page(cohort, "learner-03", "/me")
    assert events(app) == ["requested", "expired"]
