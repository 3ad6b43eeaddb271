"""What a participant sees of their matches: published ones with their explanation, never drafts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from lti_tool.extensions import db, utcnow
from lti_tool.programs.models import Match, MatchStatus, Participant
from tests.lti_browser import LtiBrowser
from tests.profiles.helpers import SKILLS, course_id, create_program, membership_id

PEOPLE = ("learner-01", "learner-02", "learner-03", "learner-04", "learner-05")


def _participant(app: Flask, program: int, person: str, **fields: Any) -> int:
    with app.app_context():
        participant = Participant(
            program_id=program,
            membership_id=membership_id(app, "ment-101", person),
            skill_levels={skill.key: 2 for skill in SKILLS},
            goals=["python"],
            availability=["mon-06"],
            timezone="Europe/Paris",
            languages=["fr"],
            completed_at=utcnow(),
            **fields,
        )
        db.session.add(participant)
        db.session.commit()
        return int(participant.id)


def _match(app: Flask, program: int, mentor: int, mentee: int, status: MatchStatus, **fields: Any) -> None:
    with app.app_context():
        published = utcnow() if status is not MatchStatus.DRAFT else None
        db.session.add(
            Match(
                program_id=program,
                mentor_id=mentor,
                mentee_id=mentee,
                status=status.value,
                published_at=published,
                **{"score": 0.5, **fields},
            )
        )
        db.session.commit()


def test_published_matches_are_shown_with_their_explanation_and_drafts_are_not(
    app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    browsers = {}
    for person in PEOPLE:
        browsers[person] = new_browser()
        browsers[person].launch("ment-101", person)
    program = create_program(app)
    priya = _participant(app, program, "learner-01", wants_to_be_mentored=True)
    lukas = _participant(
        app, program, "learner-02", wants_to_mentor=True, capacity=2, department="Data <team>", bio="Line one."
    )
    amara = _participant(app, program, "learner-03", wants_to_mentor=True)
    chen = _participant(app, program, "learner-04", wants_to_mentor=True)
    sofia = _participant(app, program, "learner-05", wants_to_be_mentored=True)
    _match(
        app,
        program,
        lukas,
        priya,
        MatchStatus.PUBLISHED,
        score=0.82,
        skill_key="python",
        explanation={
            "reasons": ["You both speak French.", "<b>Lukas</b> is strong in Python, your first goal."],
            "contributions": {"goal_gain": 0.4, "availability": 0.2, "language": "yes"},
        },
    )
    _match(app, program, amara, priya, MatchStatus.DRAFT, score=0.9, explanation={"reasons": ["Draft reason"]})
    _match(app, program, chen, priya, MatchStatus.ENDED, score=0.7)
    _match(app, program, lukas, sofia, MatchStatus.PUBLISHED, score=0.61)  # explanation left empty
    course = course_id(app, "ment-101")

    page = browsers["learner-01"].get(f"/courses/{course}/me")
    assert page.status_code == 200
    assert "Your mentor: Lukas Becker" in page.text
    assert "Match score: <strong>82 of 100 points</strong>" in page.text
    assert "For the skill <strong>Python</strong>" in page.text
    assert "You both speak French." in page.text
    assert "&lt;b&gt;Lukas&lt;/b&gt; is strong in Python" in page.text and "<b>Lukas</b>" not in page.text
    assert "Data &lt;team&gt;" in page.text and "Line one." in page.text
    assert "Help with your goals" in page.text and 'class="bar-fill w-40"' in page.text
    assert "Shared availability" in page.text and 'class="bar-fill w-20"' in page.text
    assert "Shared language" not in page.text  # not a number: left out
    assert "Amara Diallo" not in page.text and "Draft reason" not in page.text and "90 of 100" not in page.text
    assert "Chen Wei" not in page.text  # an ended match is history, not a current match
    assert "Matching has not been published yet" not in page.text

    mentor_page = browsers["learner-02"].get(f"/courses/{course}/me")
    assert "Your mentee: Priya Natarajan" in mentor_page.text
    assert "Your mentee: Sofia Rossi" in mentor_page.text and "61 of 100 points" in mentor_page.text

    draft_only = browsers["learner-03"].get(f"/courses/{course}/me")
    assert "Priya Natarajan" not in draft_only.text
    assert "Matching has not been published yet" in draft_only.text
