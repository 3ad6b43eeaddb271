"""Session events reach the LRS: logged and confirmed attendance, and an edit that voids and re-sends them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.models import MentoringSession
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import publish_pairs
from tests.profiles.helpers import outbox_events
from tests.statements.helpers import (
    assert_statement_in_lrs,
    delivered_statements_about,
    lrs_settings,
    sandbox_agent,
)

ATTENDED = "http://adlnet.gov/expapi/verbs/attended"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
RECORD = "https://mentor-lti.example/xapi/extensions/attendance-record"


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def _ids(app: Flask, event: str) -> list[str]:
    """The statement ids of an event, in the order they were recorded."""
    return [row.statement_id for row in sorted(outbox_events(app, event), key=lambda row: row.id)]


def test_a_logged_confirmed_then_edited_session_is_in_the_lrs_once_as_it_now_stands(
    app: Flask, lrs: RalphLrs, new_browser: Callable[[], LtiBrowser]
) -> None:
    pair = publish_pairs(app, new_browser)
    # An hour ago on the learners' clock (their profiles are in Paris).
    started = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Europe/Paris")).replace(second=0, microsecond=0)
    form = {
        "session-day": started.date().isoformat(),
        "session-start": f"{started:%H:%M}",
        "session-duration_minutes": "45",
        "session-format": "in-person",
        "session-topics": "Career plans",
        "session-private_note": "Not for the LRS",
    }
    assert pair.post(pair.mentee, "/sessions", form).status_code == 200
    with app.app_context():
        session_id = db.session.execute(select(MentoringSession.id)).scalar_one()
    path = f"/sessions/{session_id}"
    assert pair.post(pair.mentor, f"{path}/confirm").status_code == 200
    assert pair.post(pair.mentee, f"{path}/edit", {**form, "session-duration_minutes": "60"}).status_code == 200

    mentee, mentor = sandbox_agent(app, pair.mentee), sandbox_agent(app, pair.mentor)
    about_mentee = delivered_statements_about(app, lrs, agent=mentee)
    logged_v1, logged_v2 = _ids(app, "session-logged")
    (confirmed_v1,) = _ids(app, "session-confirmed")
    assert len(set(_ids(app, "session-voided"))) == 2

    # The current version: the mentee's attendance, 60 minutes, at the time they met, with the mentor as context.
    current = assert_statement_in_lrs(lrs, logged_v2, verb=ATTENDED, actor=mentee)
    assert current["result"]["duration"] == "PT1H"
    assert current["timestamp"].startswith(started.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M"))
    assert current["context"]["instructor"] == mentor
    assert current["context"]["extensions"][RECORD] == "logged"

    # The first version and its confirmation are voided, each by its own actor: the attended statements left
    # standing are the current version's. (Ralph still lists voided statements; a reader applies the voidings.)
    voided = {s["object"]["id"] for s in about_mentee if s["verb"]["id"] == VOIDED}
    assert voided == {logged_v1}
    assert [s["id"] for s in about_mentee if s["verb"]["id"] == ATTENDED and s["id"] not in voided] == [logged_v2]
    about_mentor = delivered_statements_about(app, lrs, agent=mentor, verb=VOIDED)
    assert [s["object"]["id"] for s in about_mentor] == [confirmed_v1]
    assert about_mentor[0]["object"]["objectType"] == "StatementRef"

    # What the voided confirmation had said: the mentor's own attendance, of the first version's 45 minutes.
    confirmed = json.loads(outbox_events(app, "session-confirmed")[0].body)
    assert (confirmed["actor"], confirmed["result"]["duration"]) == (mentor, "PT45M")
    assert confirmed["context"]["extensions"][RECORD] == "confirmed"
    for statement in about_mentee + about_mentor:
        assert "Not for the LRS" not in json.dumps(statement)  # a private note never leaves the tool
        assert "Career plans" not in json.dumps(statement)  # nor the topics
