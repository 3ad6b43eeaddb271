"""A mentee's requests of mentors reach the LRS: requested, declined, accepted, expired, approved and cancelled,
each read back from the real LRS, valid, in the Profile, with the mentee's registration and the mentor named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import db, utcnow
from lti_tool.matching.models import MentorRequest, RequestState
from lti_tool.programs.models import Participant, Program
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import build_cohort
from tests.statements.helpers import delivered_statements_about, lrs_settings, sandbox_agent
from xapi.profile import check_statement_against_profile, load_profile

AS = "http://activitystrea.ms/schema/1.0/"
EXPIRED = "https://mentor-lti.example/xapi/verbs/expired"
MATCHED = "https://mentor-lti.example/xapi/verbs/matched"
REQUEST_TYPE = "https://mentor-lti.example/xapi/activity-types/mentor-request"


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def test_every_step_of_a_request_arrives_in_the_lrs(
    app: Flask, lrs: RalphLrs, new_browser: Callable[[], LtiBrowser]
) -> None:
    cohort = build_cohort(app, new_browser)
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.self_match, program.mentor_accepts = True, True
        db.session.commit()

    def latest(mentee: str) -> int:
        with app.app_context():
            return db.session.execute(
                select(MentorRequest.id)
                .where(MentorRequest.mentee_id == cohort.participant(mentee))
                .order_by(MentorRequest.id.desc())
                .limit(1)
            ).scalar_one()

    def ask(mentee: str, mentor: str) -> None:
        cohort.post(mentee, "/choose", {"mentor": cohort.participant(mentor)})

    # learner-03: declined by learner-01, then accepted by learner-02.
    ask("learner-03", "learner-01")
    cohort.post("learner-01", f"/mentor-requests/{latest('learner-03')}/answer", {"decision": "decline"})
    ask("learner-03", "learner-02")
    cohort.post("learner-02", f"/mentor-requests/{latest('learner-03')}/answer", {"decision": "accept"})
    # learner-04: left unanswered past the deadline, then cancelled by staff when asking again.
    ask("learner-04", "learner-01")
    with app.app_context():
        db.session.execute(
            update(MentorRequest)
            .where(MentorRequest.state == RequestState.PENDING.value)
            .values(expires_at=utcnow())  # the deadline is now: the next read expires it
        )
        db.session.commit()
    ask("learner-04", "learner-01")  # the choose page expires the old one first
    cohort.post("instructor", f"/mentor-requests/{latest('learner-04')}/step-in", {"decision": "cancel"})
    # learner-05: approved by staff in learner-01's stead.
    ask("learner-05", "learner-01")
    cohort.post("instructor", f"/mentor-requests/{latest('learner-05')}/step-in", {"decision": "approve"})

    profile = load_profile()
    steps: dict[str, list[str]] = {}
    for mentee in ("learner-03", "learner-04", "learner-05"):
        about = delivered_statements_about(app, lrs, agent=sandbox_agent(app, mentee))
        with app.app_context():
            registration = db.session.execute(
                select(Participant.registration).where(Participant.id == cohort.participant(mentee))
            ).scalar_one()
        of_requests = sorted(
            (s for s in about if s["object"]["definition"]["type"] == REQUEST_TYPE), key=lambda s: s["timestamp"]
        )
        for statement in of_requests:
            assert check_statement_against_profile(statement, profile) == []
            assert statement["context"]["registration"] == registration
        steps[mentee] = [s["verb"]["id"] for s in of_requests]
        if mentee != "learner-04":
            assert MATCHED in {s["verb"]["id"] for s in about}
    # The LRS finds statements by their actor: the mentee's are their requests and their expiry.
    assert steps["learner-03"] == [AS + "request", AS + "request"]
    assert steps["learner-04"] == [AS + "request", EXPIRED, AS + "request"]
    assert steps["learner-05"] == [AS + "request"]

    about_mentor = delivered_statements_about(app, lrs, agent=sandbox_agent(app, "learner-01"))
    mentor_steps = [s["verb"]["id"] for s in about_mentor if s["object"]["definition"]["type"] == REQUEST_TYPE]
    # The mentor is the actor of their decline and the context instructor of every request made of them.
    assert AS + "reject" in mentor_steps
    about_mentor_2 = delivered_statements_about(app, lrs, agent=sandbox_agent(app, "learner-02"))
    assert AS + "accept" in [s["verb"]["id"] for s in about_mentor_2]
    about_staff = delivered_statements_about(app, lrs, agent=sandbox_agent(app, "instructor"))
    staff_steps = sorted(s["verb"]["id"] for s in about_staff if s["object"]["definition"]["type"] == REQUEST_TYPE)
    assert staff_steps == [AS + "approve", AS + "cancel"]
    for statement in about_staff:
        if statement["object"]["definition"]["type"] == REQUEST_TYPE:
            assert statement["context"]["instructor"] == sandbox_agent(app, "learner-01")
