"""A published pair with an open graded round, and the gradebook as the sandbox LMS holds it."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from flask import Flask
from sqlalchemy import Connection, select, update

from lti_tool.courses.models import Membership, User
from lti_tool.extensions import db, utcnow
from lti_tool.gradebook.delivery import ScoreReport, deliver_scores, seconds_to_a_new_version
from lti_tool.gradebook.models import ScoreOutbox
from lti_tool.runtime import runtime
from lti_tool.sandbox.advantage import LineItem, Score
from tests.assessments.conftest import Assessing, assessing  # noqa: F401  (the fixture)
from tests.conftest import Sandbox

COURSE = "ment-101"
SCORE_PATH = re.compile(r"/api/courses/ment-101/line_items/[0-9a-f]+/scores")


@dataclass(frozen=True)
class Queued:
    """A score outbox row as stored."""

    score_given: float | None
    activity_progress: str
    grading_progress: str
    scored_at: datetime
    version: int
    delivered_version: int | None
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None


@pytest.fixture
def graded(assessing: Assessing) -> int:  # noqa: F811  (the fixture above)
    """An open baseline round graded by average level: its id."""
    round_id = assessing.create_round("Baseline", graded="y", grade_rule="average-level")
    assessing.open_round(round_id)
    return round_id


def deliver(app: Flask) -> ScoreReport:
    """Delivery rounds as a worker runs them, until a round finds nothing due (a new version's own timestamp
    waited for, as a worker's next polls would: see `wait_for_new_versions`)."""
    total = ScoreReport()
    with app.app_context(), httpx.Client(timeout=10) as http:
        wait_for_new_versions()
        while (report := deliver_scores(runtime().settings, http)).claimed:
            total.add(report)
            wait_for_new_versions()
    return total


def wait_for_new_versions() -> None:
    """Sleep until a new version stepped ahead of the clock is due, as a worker's next polls would."""
    if (wait := seconds_to_a_new_version()) is not None:
        time.sleep(wait)


def queued(app: Flask, sandbox: Sandbox, person: str) -> Queued | None:
    with app.app_context():
        row = db.session.execute(
            select(ScoreOutbox)
            .join(Membership, Membership.id == ScoreOutbox.membership_id)
            .join(User, User.id == Membership.user_id)
            .where(User.sub == sub_of(sandbox, person))
        ).scalar_one_or_none()
        if row is None:
            return None
        return Queued(
            row.score_given,
            row.activity_progress,
            row.grading_progress,
            row.scored_at,
            row.version,
            row.delivered_version,
            row.state,
            row.attempts,
            row.next_attempt_at,
            row.last_error,
        )


def make_due(app: Flask) -> None:
    """Time passes: every waiting score's next attempt comes."""
    with app.app_context():
        db.session.execute(update(ScoreOutbox).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def sub_of(sandbox: Sandbox, person: str) -> str:
    return sandbox.platform.sub(sandbox.platform.course(COURSE).person(person))


def columns(sandbox: Sandbox) -> list[LineItem]:
    return sandbox.platform.advantage.find_line_items(COURSE, {})


def lms_score(sandbox: Sandbox, person: str) -> Score | None:
    """The score the LMS gradebook holds for `person` (in the course's only column)."""
    found = columns(sandbox)
    assert len(found) <= 1, [item.label for item in found]
    return found[0].scores.get(sub_of(sandbox, person)) if found else None


def score_posts(sandbox: Sandbox) -> int:
    """Score POSTs the LMS received (accepted or not)."""
    return sum(count for path, count in sandbox.requests.items() if SCORE_PATH.fullmatch(path))


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def deleted_column_is_made_again(app: Flask, sandbox: Sandbox, people: Assessing, round_id: int) -> LineItem:
    """Delete the course's gradebook column in the LMS, then change the mentee's score (the mentor rates 4 and 4):
    the post fails (404) and is retried; the retry makes a new column for the round, which it answers."""
    (old,) = columns(sandbox)
    del sandbox.platform.advantage.line_items[old.id]
    assert people.rate(people.mentor, round_id, people.mentee, {"python": 4, "sql": 4}).status_code == 200
    assert deliver(app).retrying == 1
    make_due(app)
    assert deliver(app).delivered == 1
    (new,) = columns(sandbox)
    assert new.id != old.id and new.resource_id == f"assessment-{round_id}"
    score = lms_score(sandbox, people.mentee)
    assert score is not None and score.score_given == 80.0
    return new


def waits_for(app: Flask, hold: Callable[[Connection], None], act: Callable[[], httpx.Response]) -> None:
    """`act` (a request to the tool) made while another transaction has done `hold` and not committed yet: the
    request waits for that transaction (still unanswered after 2 s), then succeeds once it commits."""
    with app.app_context():
        holder = db.engine.connect()
    answers: list[int] = []
    request = threading.Thread(target=lambda: answers.append(act().status_code))
    try:
        transaction = holder.begin()
        hold(holder)
        request.start()
        request.join(2.0)
        assert request.is_alive() and answers == [], answers
        transaction.commit()
    finally:
        holder.close()
    request.join(20)
    assert answers == [200]
