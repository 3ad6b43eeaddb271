"""A pair logs its mentoring sessions: one member logs, the others confirm or dispute, edits keep a history, each
member rates it and keeps a private note, and action items are ticked off by their owners."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.courses.models import User
from lti_tool.extensions import db
from lti_tool.mentoring.goals import day_text
from lti_tool.mentoring.models import (
    ActionItem,
    ActionItemChange,
    CheckinRequest,
    MentoringSession,
    PrivateNote,
    Relationship,
    RelationshipMember,
    SessionRating,
    SessionResponse,
    SessionRevision,
)
from lti_tool.programs.models import Participant
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair
from tests.profiles.helpers import outbox_events

PAIR_STARTED = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
_FIELD_ERROR = re.compile(r'<p class="field-error" id="([^"]+)-error">(.*?)</p>', re.S)


# --- Helpers ------------------------------------------------------------------------------------------------------


@pytest.fixture
def paired(pair: Pair) -> Pair:
    """The published pair, started on 6 January 2025: sessions in a winter month can be logged."""
    with pair.app.app_context():
        relationship = db.session.get(Relationship, pair.relationship_id)
        assert relationship is not None
        relationship.created_at = PAIR_STARTED
        for member in relationship.members:
            member.joined_at = PAIR_STARTED
        db.session.commit()
    return pair


def field_errors(page: httpx.Response) -> dict[str, str]:
    """Error text by the id of the field it stands next to."""
    return {
        name: html.unescape(re.sub(r"<[^>]+>", "", body)).replace("Error: ", "").strip()
        for name, body in _FIELD_ERROR.findall(page.text)
    }


def text_of(page: httpx.Response) -> str:
    """The page's text, tags removed and whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


def participant_id(pair: Pair, person: str) -> int:
    return pair.cohort.participant(person)


def name_of(app: Flask, person: str) -> str:
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == f"{person}@sandbox.example")).scalar_one()
        return user.display_name


def session_data(**changes: Any) -> dict[str, Any]:
    """The log form as a browser posts it: 14 January 2025 at 18:00, 45 minutes by video; `None` drops a field."""
    data: dict[str, Any] = {
        "session-day": "2025-01-14",
        "session-start": "18:00",
        "session-duration_minutes": "45",
        "session-format": "video",
        "session-topics": "Code review of my first pull request",
        "session-skill_keys": ["python", "communication"],
        "session-shared_notes": "We read the diff together.",
        "session-private_note": "",
        "session-actions-0-text": "",
        "session-actions-0-owner": "",
        "session-actions-0-due_on": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def log(pair: Pair, person: str, **changes: Any) -> int:
    """`person` logs a session on the pair page; answers its id."""
    response = pair.post(person, "/sessions", session_data(**changes))
    assert response.status_code == 200, text_of(response)[:3000]
    with pair.app.app_context():
        return int(db.session.execute(select(func.max(MentoringSession.id))).scalar_one())


def the_session(app: Flask, session_id: int) -> MentoringSession:
    with app.app_context():
        found = db.session.get(MentoringSession, session_id)
        assert found is not None
        db.session.expunge(found)
        return found


def rows(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.execute(select(func.count()).select_from(model)).scalar_one())


SESSION_TABLES = (
    MentoringSession,
    SessionRevision,
    SessionResponse,
    SessionRating,
    PrivateNote,
    ActionItem,
    ActionItemChange,
    StatementOutbox,
)


def everything(app: Flask) -> dict[str, Any]:
    """Every row a session action can write, as plain values: a refused action must leave this unchanged."""
    with app.app_context():
        state: dict[str, Any] = {}
        for model in SESSION_TABLES:
            columns = [c.key for c in model.__table__.columns]
            found = db.session.execute(select(model).order_by(model.id)).scalars()
            state[model.__tablename__] = [tuple(getattr(row, c) for c in columns) for row in found]
        return state


def session_path(session_id: int, action: str = "") -> str:
    return f"/sessions/{session_id}{action}"


# --- Logging ------------------------------------------------------------------------------------------------------


def test_a_session_logged_at_18_00_in_paris_in_winter_is_stored_as_17_00_utc(paired: Pair) -> None:
    mentor_id = participant_id(paired, paired.mentor)
    session_id = log(
        paired,
        paired.mentee,
        **{
            "session-private_note": "I felt lost in the async part.",
            "session-actions-0-text": "Send the reading list",
            "session-actions-0-owner": str(mentor_id),
            "session-actions-0-due_on": "2025-01-21",
            "session-actions-1-text": "",
            "session-actions-1-owner": str(mentor_id),  # an owner alone, without an action, is an empty row
            "session-actions-1-due_on": "",
        },
    )
    logged = the_session(paired.app, session_id)
    assert logged.started_at == datetime(2025, 1, 14, 17, 0, tzinfo=UTC)
    assert (logged.timezone, logged.duration_minutes, logged.format) == ("Europe/Paris", 45, "video")
    assert (logged.status, logged.version, logged.skill_keys) == ("logged", 1, ["python", "communication"])
    assert logged.logged_by_id == participant_id(paired, paired.mentee)
    with paired.app.app_context():
        items = [(i.text, i.owner_id, i.due_on, i.done_at) for i in db.session.execute(select(ActionItem)).scalars()]
        notes = [(n.author_id, n.text) for n in db.session.execute(select(PrivateNote)).scalars()]
    assert items == [("Send the reading list", mentor_id, date(2025, 1, 21), None)]
    assert notes == [(participant_id(paired, paired.mentee), "I felt lost in the async part.")]
    assert len(outbox_events(paired.app, "session-logged")) == 1

    mentor_view = text_of(paired.page(paired.mentor))
    assert "14 Jan 2025, 18:00" in mentor_view
    assert "Waiting for you to confirm or dispute it." in mentor_view
    assert "Waiting for you: confirm or dispute the session" in mentor_view
    mentee_view = text_of(paired.page(paired.mentee))
    assert f"Waiting for {name_of(paired.app, paired.mentor)} to confirm it." in mentee_view
    assert "Send the reading list" in mentee_view


def test_each_member_reads_the_time_on_their_own_clock(paired: Pair) -> None:
    with paired.app.app_context():
        mentor = db.session.get(Participant, participant_id(paired, paired.mentor))
        assert mentor is not None
        mentor.timezone = "America/New_York"
        db.session.commit()
    session_id = log(paired, paired.mentee)
    page = text_of(paired.page(paired.mentor, session_path(session_id)))
    assert "Session of 14 Jan 2025, 12:00" in page
    assert "(14 Jan 2025, 18:00 in Europe/Paris)" in page
    # The mentor logs on their own clock: 12:00 in New York is the same moment.
    log(paired, paired.mentor, **{"session-start": "12:00", "session-day": "2025-01-15"})
    with paired.app.app_context():
        latest = db.session.execute(select(MentoringSession).order_by(MentoringSession.id.desc())).scalars().first()
        assert latest is not None
        assert (latest.started_at, latest.timezone) == (datetime(2025, 1, 15, 17, 0, tzinfo=UTC), "America/New_York")


def test_the_log_form_is_on_the_pair_page_where_check_ins_link_to(paired: Pair) -> None:
    page = paired.page(paired.mentee)
    assert 'id="log-session"' in page.text
    assert f'action="/courses/{paired.course_id}/pairs/{paired.relationship_id}/sessions#log-session"' in page.text
    assert "in Europe/Paris" in text_of(page)


def test_a_duration_that_is_no_number_gets_one_plain_message(paired: Pair) -> None:
    response = paired.post(paired.mentee, "/sessions", session_data(**{"session-duration_minutes": "an hour"}))
    assert response.status_code == 422
    assert field_errors(response) == {
        "session-duration_minutes": "Enter how long you met as a number of minutes, such as 45."
    }
    assert "Not a valid" not in response.text


def test_a_form_with_errors_shows_each_next_to_its_field_with_422_and_writes_nothing(paired: Pair) -> None:
    before = everything(paired.app)
    response = paired.post(
        paired.mentee,
        "/sessions",
        session_data(
            **{
                "session-day": "",
                "session-start": "25:00",
                "session-duration_minutes": "3",
                "session-format": None,
                "session-topics": "   ",
                "session-skill_keys": ["python", "astrology"],
                "session-actions-0-text": "",
                "session-actions-0-due_on": "2025-01-20",
                "session-shared_notes": "x" * 5001,
            }
        ),
    )
    assert response.status_code == 422
    errors = field_errors(response)
    assert errors["session-day"] == "Enter the date you met."
    assert errors["session-start"] == "Enter a time such as 18:00."
    assert errors["session-duration_minutes"] == "Enter a whole number of minutes from 5 to 600."
    assert errors["session-format"] == "Choose how you met."
    assert errors["session-topics"] == "Say in a few words what you talked about."
    assert errors["session-skill_keys"] == "Choose skills from the program's list."
    assert errors["session-actions-0-text"] == "Say what is to be done, or clear the due date."
    assert errors["session-shared_notes"].startswith("Use at most 5000 characters")
    assert "Please correct these" in response.text
    assert 'aria-describedby="session-topics-hint session-topics-error"' in response.text
    assert everything(paired.app) == before


def test_sessions_in_the_future_or_before_the_pair_started_are_refused_with_the_reason(paired: Pair) -> None:
    before = everything(paired.app)
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    future = paired.post(paired.mentee, "/sessions", session_data(**{"session-day": tomorrow}))
    assert future.status_code == 422
    assert field_errors(future)["session-day"].startswith(
        "That is in the future: log a session once it has taken place."
    )

    early = paired.post(paired.mentee, "/sessions", session_data(**{"session-day": "2025-01-04"}))
    assert early.status_code == 422
    assert field_errors(early)["session-day"].startswith(
        f"This pair started on {day_text(date(2025, 1, 6))}: log sessions from {day_text(date(2025, 1, 5))}, 10:00 on"
    )
    # The day before the pair started still counts: a first meeting on the day pairs were announced.
    assert (
        paired.post(
            paired.mentee, "/sessions", session_data(**{"session-day": "2025-01-05", "session-start": "11:00"})
        ).status_code
        == 200
    )
    assert rows(paired.app, MentoringSession) == 1
    before = everything(paired.app)

    gap = paired.post(
        paired.mentee, "/sessions", session_data(**{"session-day": "2025-03-30", "session-start": "02:30"})
    )
    assert gap.status_code == 422
    assert "02:30 does not exist on 30 Mar 2025 in Europe/Paris" in field_errors(gap)["session-start"]
    assert everything(paired.app) == before


def test_action_items_need_an_owner_in_the_pair_and_a_due_date_after_the_session(paired: Pair) -> None:
    before = everything(paired.app)
    outsider = participant_id(paired, paired.outsider)
    response = paired.post(
        paired.mentee,
        "/sessions",
        session_data(
            **{
                "session-actions-0-text": "Read chapter 3",
                "session-actions-0-owner": "",
                "session-actions-1-text": "Pair on the parser",
                "session-actions-1-owner": str(outsider),  # not in this pair: a forged choice
                "session-actions-1-due_on": "2025-01-10",
            }
        ),
    )
    assert response.status_code == 422
    errors = field_errors(response)
    assert errors["session-actions-0-owner"] == "Choose who in the pair will do it."
    assert errors["session-actions-1-owner"] == "Choose who in the pair will do it."
    assert errors["session-actions-1-due_on"] == (
        f"Choose a due date on or after the session's date, {day_text(date(2025, 1, 14))}."
    )
    assert everything(paired.app) == before


def test_logging_a_session_answers_the_pairs_open_check_in_requests(paired: Pair) -> None:
    with paired.app.app_context():
        db.session.add(
            CheckinRequest(
                relationship_id=paired.relationship_id,
                requested_by_id=participant_id(paired, paired.mentor),
                message="Shall we meet?",
            )
        )
        db.session.commit()
    log(paired, paired.mentee)
    with paired.app.app_context():
        assert db.session.execute(select(CheckinRequest.answered_at)).scalar_one() is not None


# --- Confirming and disputing -------------------------------------------------------------------------------------


def test_the_other_member_confirms_and_the_logger_cannot_confirm_their_own_log(paired: Pair) -> None:
    session_id = log(paired, paired.mentee)
    before = everything(paired.app)
    own = paired.post(paired.mentee, session_path(session_id, "/confirm"))
    assert own.status_code == 403
    assert "You logged this session, so you cannot confirm or dispute it yourself." in text_of(own)
    assert everything(paired.app) == before

    confirmed = paired.post(paired.mentor, session_path(session_id, "/confirm"), {"return_to": "pair"})
    assert confirmed.status_code == 200
    assert str(confirmed.url).endswith(f"/pairs/{paired.relationship_id}#session-{session_id}")
    assert the_session(paired.app, session_id).status == "confirmed"
    assert f"Confirmed by {name_of(paired.app, paired.mentor)}." in text_of(paired.page(paired.mentee))
    assert len(outbox_events(paired.app, "session-confirmed")) == 1

    before = everything(paired.app)
    again = paired.post(paired.mentor, session_path(session_id, "/confirm"))
    assert again.status_code == 422
    assert "You have already confirmed this session." in text_of(again)
    disputed = paired.post(paired.mentor, session_path(session_id, "/dispute"), {"dispute-reason": "Too short"})
    assert disputed.status_code == 422
    assert "You have confirmed this version of the session." in text_of(disputed)
    assert everything(paired.app) == before


def test_a_dispute_needs_a_reason_and_can_be_withdrawn_by_confirming(paired: Pair) -> None:
    session_id = log(paired, paired.mentee)
    before = everything(paired.app)
    empty = paired.post(paired.mentor, session_path(session_id, "/dispute"), {"dispute-reason": "  "})
    assert empty.status_code == 422
    assert field_errors(empty)["dispute-reason"] == "Say what is wrong, so it can be corrected."
    assert everything(paired.app) == before

    reason = "We met for 30 minutes, not 45. <script>alert(1)</script>"
    assert (
        paired.post(paired.mentor, session_path(session_id, "/dispute"), {"dispute-reason": reason}).status_code == 200
    )
    assert the_session(paired.app, session_id).status == "disputed"
    mentee_page = paired.page(paired.mentee, session_path(session_id))
    assert "We met for 30 minutes, not 45. &lt;script&gt;alert(1)&lt;/script&gt;" in mentee_page.text
    assert "<script>alert(1)" not in mentee_page.text
    pair_page = text_of(paired.page(paired.mentee))
    assert f"Disputed by {name_of(paired.app, paired.mentor)}. Waiting for you to correct it" in pair_page
    assert outbox_events(paired.app, "session-confirmed") == []

    assert paired.post(paired.mentor, session_path(session_id, "/confirm")).status_code == 200
    assert the_session(paired.app, session_id).status == "confirmed"
    with paired.app.app_context():
        answers = [(r.status, r.reason) for r in db.session.execute(select(SessionResponse)).scalars()]
    assert answers == [("confirmed", "")]


def test_in_a_group_each_other_member_answers_for_themself(paired: Pair) -> None:
    third = paired.outsider
    with paired.app.app_context():
        db.session.add(
            RelationshipMember(
                relationship_id=paired.relationship_id,
                participant_id=participant_id(paired, third),
                role="mentee",
                joined_at=PAIR_STARTED,
            )
        )
        db.session.commit()
    session_id = log(paired, paired.mentor)
    mentee_name, third_name = name_of(paired.app, paired.mentee), name_of(paired.app, third)
    assert f"Waiting for {mentee_name} and {third_name} to confirm it." in text_of(paired.page(paired.mentor))

    assert paired.post(paired.mentee, session_path(session_id, "/confirm")).status_code == 200
    assert the_session(paired.app, session_id).status == "confirmed"
    assert f"Confirmed by {mentee_name}. {third_name} has not answered yet." in text_of(paired.page(paired.mentor))

    assert (
        paired.post(third, session_path(session_id, "/dispute"), {"dispute-reason": "I was not there."}).status_code
        == 200
    )
    assert the_session(paired.app, session_id).status == "disputed"
    assert len(outbox_events(paired.app, "session-confirmed")) == 1


# --- Editing and its history --------------------------------------------------------------------------------------


def test_an_edit_keeps_the_history_and_asks_the_other_to_confirm_again(paired: Pair) -> None:
    mentor_id, mentee_id = participant_id(paired, paired.mentor), participant_id(paired, paired.mentee)
    session_id = log(
        paired,
        paired.mentee,
        **{"session-actions-0-text": "Read chapter 3", "session-actions-0-owner": str(mentee_id)},
    )
    assert paired.post(paired.mentor, session_path(session_id, "/confirm")).status_code == 200

    before = everything(paired.app)
    assert paired.page(paired.mentor, session_path(session_id, "/edit")).status_code == 403
    forged = paired.post(
        paired.mentor, session_path(session_id, "/edit"), session_data(**{"session-duration_minutes": "90"})
    )
    assert forged.status_code == 403
    assert "Only" in text_of(forged) and "who logged this session, can edit it." in text_of(forged)
    assert everything(paired.app) == before

    form = paired.page(paired.mentee, session_path(session_id, "/edit"))
    assert form.status_code == 200
    assert "Saving your changes asks the others to confirm this session again." in text_of(form)
    assert 'value="18:00"' in form.text and 'value="Read chapter 3"' in form.text

    unchanged = paired.post(
        paired.mentee,
        session_path(session_id, "/edit"),
        session_data(**{"session-actions-0-text": "Read chapter 3", "session-actions-0-owner": str(mentee_id)}),
    )
    assert "Nothing changed, so nothing was saved." in text_of(unchanged)
    assert everything(paired.app) == before

    edited = paired.post(
        paired.mentee,
        session_path(session_id, "/edit"),
        session_data(
            **{
                "session-duration_minutes": "60",
                "session-actions-0-text": "Read chapters 3 and 4",
                "session-actions-0-owner": str(mentee_id),
                "session-actions-1-text": "Review the test plan",
                "session-actions-1-owner": str(mentor_id),
                "session-actions-1-due_on": "",
            }
        ),
    )
    assert edited.status_code == 200
    assert f"Saved as version 2. {name_of(paired.app, paired.mentor)} will be asked to confirm it again." in text_of(
        edited
    )
    logged = the_session(paired.app, session_id)
    assert (logged.duration_minutes, logged.version, logged.status) == (60, 2, "logged")
    with paired.app.app_context():
        revision = db.session.execute(select(SessionRevision)).scalar_one()
        assert (revision.version, revision.edited_by_id) == (1, mentee_id)
        assert revision.fields["duration_minutes"] == 45
        assert revision.fields["responses"] == [{"participant_id": mentor_id, "status": "confirmed", "reason": ""}]
        assert [i.text for i in db.session.execute(select(ActionItem).order_by(ActionItem.id)).scalars()] == [
            "Read chapters 3 and 4",
            "Review the test plan",
        ]
        assert db.session.execute(select(func.count()).select_from(SessionResponse)).scalar_one() == 0

    pair_page = paired.page(paired.mentor)
    assert "edited (version 2)" in text_of(pair_page)
    assert "Waiting for you to confirm or dispute it." in text_of(pair_page)
    history = paired.page(paired.mentor, session_path(session_id, "/history"))
    assert history.status_code == 200
    history_text = text_of(history)
    assert "Version 2 (current)" in history_text and "Version 1" in history_text
    assert "Duration 45 minutes 60 minutes" in history_text
    assert "you confirmed it" in history_text
    # Both members read the same history; each sees the other by name.
    mentee_history = text_of(paired.page(paired.mentee, session_path(session_id, "/history")))
    assert f"{name_of(paired.app, paired.mentor)} confirmed it" in mentee_history
    assert "Edited by you on" in mentee_history

    # In the LRS: the first version's statements are voided; the mentor confirms the new one afresh.
    assert len(outbox_events(paired.app, "session-voided")) == 2
    assert paired.post(paired.mentor, session_path(session_id, "/confirm")).status_code == 200
    attended = outbox_events(paired.app, "session-logged") + outbox_events(paired.app, "session-confirmed")
    assert len(attended) == 4
    assert len({row.statement_id for row in attended}) == 4


def test_an_edit_that_breaks_a_rule_is_refused_with_nothing_changed(paired: Pair) -> None:
    session_id = log(paired, paired.mentee)
    before = everything(paired.app)
    response = paired.post(
        paired.mentee,
        session_path(session_id, "/edit"),
        session_data(**{"session-day": "2024-12-01", "session-duration_minutes": "601"}),
    )
    assert response.status_code == 422
    errors = field_errors(response)
    assert errors["session-duration_minutes"] == "Enter a whole number of minutes from 5 to 600."
    assert everything(paired.app) == before
    early = paired.post(paired.mentee, session_path(session_id, "/edit"), session_data(**{"session-day": "2024-12-01"}))
    assert early.status_code == 422
    assert field_errors(early)["session-day"].startswith(f"This pair started on {day_text(date(2025, 1, 6))}")
    assert everything(paired.app) == before


# --- Private notes, free text, ratings, action items --------------------------------------------------------------


def test_a_private_note_is_shown_to_its_author_only(paired: Pair) -> None:
    secret = "I worry my mentor is bored <script>steal()</script>"
    session_id = log(paired, paired.mentee, **{"session-private_note": secret})
    own = paired.page(paired.mentee, session_path(session_id))
    assert "I worry my mentor is bored &lt;script&gt;steal()&lt;/script&gt;" in own.text
    assert "you have a private note" in text_of(paired.page(paired.mentee))

    for page in (paired.page(paired.mentor), paired.page(paired.mentor, session_path(session_id))):
        assert "I worry my mentor is bored" not in html.unescape(page.text)
    assert (
        paired.post(
            paired.mentor, session_path(session_id, "/note"), {"note-text": "Mentor's own thoughts"}
        ).status_code
        == 200
    )
    assert "Mentor's own thoughts" not in html.unescape(paired.page(paired.mentee, session_path(session_id)).text)

    instructor = paired.browser("instructor")
    staff_pages = [
        "/program",
        "/program/health",
        f"/program/pairs/{paired.relationship_id}",
        "/program/exports/sessions.csv",
    ]
    for path in staff_pages:
        staff_page = instructor.get(f"/courses/{paired.course_id}{path}")
        assert staff_page.status_code == 200, path
        assert "I worry my mentor is bored" not in html.unescape(staff_page.text), path
    # The staff's per-pair page does show the session itself: only the private note stays out.
    assert "Code review of my first pull request" in text_of(
        instructor.get(f"/courses/{paired.course_id}/program/pairs/{paired.relationship_id}")
    )
    assert paired.page("instructor", session_path(session_id)).status_code == 404

    with paired.app.app_context():
        notes = sorted((n.author_id, n.text) for n in db.session.execute(select(PrivateNote)).scalars())
    assert notes == sorted(
        [
            (participant_id(paired, paired.mentee), secret),
            (participant_id(paired, paired.mentor), "Mentor's own thoughts"),
        ]
    )
    # Emptying the note removes it.
    assert paired.post(paired.mentee, session_path(session_id, "/note"), {"note-text": ""}).status_code == 200
    assert rows(paired.app, PrivateNote) == 1


def test_free_text_is_shown_as_text_never_run(paired: Pair) -> None:
    script = "<script>alert('x')</script>"
    session_id = log(
        paired,
        paired.mentee,
        **{
            "session-topics": f"Topics {script}",
            "session-shared_notes": f"Notes {script}",
            "session-actions-0-text": f"Action {script}",
            "session-actions-0-owner": str(participant_id(paired, paired.mentor)),
        },
    )
    paired.post(
        paired.mentor,
        session_path(session_id, "/rating"),
        {"rating-rating": "4", "rating-comment": f"Comment {script}"},
    )
    for page in (paired.page(paired.mentor), paired.page(paired.mentee, session_path(session_id))):
        assert "<script>alert" not in page.text
    detail = paired.page(paired.mentee, session_path(session_id)).text
    for label in ("Topics", "Notes", "Action", "Comment"):
        assert f"{label} &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in detail


def test_each_member_rates_a_session_once_and_may_change_it(paired: Pair) -> None:
    session_id = log(paired, paired.mentee)
    before = everything(paired.app)
    wrong = paired.post(paired.mentor, session_path(session_id, "/rating"), {"rating-rating": "7"})
    assert wrong.status_code == 422
    assert field_errors(wrong)["rating-rating"] == "Not a valid choice."
    assert everything(paired.app) == before

    assert (
        paired.post(
            paired.mentor, session_path(session_id, "/rating"), {"rating-rating": "4", "rating-comment": "Useful"}
        ).status_code
        == 200
    )
    assert paired.post(paired.mentor, session_path(session_id, "/rating"), {"rating-rating": "2"}).status_code == 200
    assert paired.post(paired.mentee, session_path(session_id, "/rating"), {"rating-rating": "5"}).status_code == 200
    with paired.app.app_context():
        ratings = sorted(
            (r.participant_id, r.rating, r.comment) for r in db.session.execute(select(SessionRating)).scalars()
        )
    assert ratings == sorted(
        [(participant_id(paired, paired.mentor), 2, ""), (participant_id(paired, paired.mentee), 5, "")]
    )
    assert f"{name_of(paired.app, paired.mentor)}: 2 out of 5" in text_of(
        paired.page(paired.mentee, session_path(session_id))
    )


def test_only_its_owner_ticks_an_action_item(paired: Pair) -> None:
    mentor_id = participant_id(paired, paired.mentor)
    session_id = log(
        paired, paired.mentee, **{"session-actions-0-text": "Share slides", "session-actions-0-owner": str(mentor_id)}
    )
    with paired.app.app_context():
        item_id = db.session.execute(select(ActionItem.id)).scalar_one()
    before = everything(paired.app)
    refused = paired.post(paired.mentee, session_path(session_id, f"/actions/{item_id}"), {"done": "1"})
    assert refused.status_code == 403
    assert everything(paired.app) == before

    assert (
        paired.post(
            paired.mentor, session_path(session_id, f"/actions/{item_id}"), {"done": "1", "return_to": "pair"}
        ).status_code
        == 200
    )
    with paired.app.app_context():
        assert db.session.get(ActionItem, item_id).done_at is not None
    assert paired.post(paired.mentor, session_path(session_id, f"/actions/{item_id}"), {"done": "0"}).status_code == 200
    with paired.app.app_context():
        assert db.session.get(ActionItem, item_id).done_at is None


def test_the_pair_page_lists_only_open_action_items_and_counts_the_done_ones(paired: Pair) -> None:
    mentor_id = str(participant_id(paired, paired.mentor))
    rows = {"session-actions-0-text": "Share slides", "session-actions-0-owner": mentor_id,
            "session-actions-1-text": "Book a room", "session-actions-1-owner": mentor_id}  # fmt: skip
    session_id = log(paired, paired.mentee, **rows)
    with paired.app.app_context():
        slides = db.session.execute(select(ActionItem.id).where(ActionItem.text == "Share slides")).scalar_one()
    ticked = paired.post(
        paired.mentor, session_path(session_id, f"/actions/{slides}"), {"done": "1", "return_to": "pair"}
    )
    assert ticked.status_code == 200

    card = text_of(paired.page(paired.mentee)).split("Open action items:")[1].split("Open the session")[0]
    assert "Book a room" in card and "Share slides" not in card
    assert "1 action item done" in card
    detail = text_of(paired.page(paired.mentee, session_path(session_id)))
    assert "Share slides" in detail and "Book a room" in detail  # the session page keeps both, each with its state


# --- Who may reach a session --------------------------------------------------------------------------------------


POSTS: list[tuple[str, dict[str, Any]]] = [
    ("/confirm", {}),
    ("/dispute", {"dispute-reason": "Not me"}),
    ("/rating", {"rating-rating": "3"}),
    ("/note", {"note-text": "mine"}),
    ("/edit", session_data(**{"session-duration_minutes": "90"})),
]


def test_outsiders_and_guessed_ids_get_not_found_with_nothing_changed(paired: Pair) -> None:
    session_id = log(
        paired,
        paired.mentee,
        **{
            "session-actions-0-text": "Share slides",
            "session-actions-0-owner": str(participant_id(paired, paired.mentee)),
        },
    )
    with paired.app.app_context():
        item_id = db.session.execute(select(ActionItem.id)).scalar_one()
        other_relationship = db.session.execute(
            select(RelationshipMember.relationship_id).where(
                RelationshipMember.participant_id == participant_id(paired, paired.outsider)
            )
        ).scalar_one()
    before = everything(paired.app)
    for person in (paired.outsider, "instructor"):
        for path in ("", "/edit", "/history"):
            assert paired.page(person, session_path(session_id, path)).status_code == 404, (person, path)
        for path, data in [*POSTS, (f"/actions/{item_id}", {"done": "1"})]:
            assert paired.post(person, session_path(session_id, path), data).status_code == 404, (person, path)
        assert paired.post(person, "/sessions", session_data()).status_code == 404
    # The outsider, in their own pair, guessing this pair's session id: not found either.
    outsider = paired.browser(paired.outsider)
    own_pair = f"/courses/{paired.course_id}/pairs/{other_relationship}"
    assert outsider.get(f"{own_pair}/sessions/{session_id}").status_code == 404
    # A member guessing an id that is no session, or an action item of no session of theirs.
    assert paired.page(paired.mentee, session_path(session_id + 1000)).status_code == 404
    assert (
        paired.post(paired.mentee, session_path(session_id, f"/actions/{item_id + 1000}"), {"done": "1"}).status_code
        == 404
    )
    assert everything(paired.app) == before


def test_someone_from_another_course_is_refused(paired: Pair, new_browser: Callable[[], LtiBrowser]) -> None:
    session_id = log(paired, paired.mentee)
    intruder = new_browser()
    intruder.launch("lead-202", "learner-13")
    before = everything(paired.app)
    base = f"{intruder.tool_url}/courses/{paired.course_id}/pairs/{paired.relationship_id}"
    assert intruder.get(f"{base}/sessions/{session_id}").status_code == 403
    # CSRF is checked before anything else: a forged post without a token of this course is refused too.
    assert intruder.http.post(f"{base}/sessions/{session_id}/confirm").status_code in (400, 403)
    assert everything(paired.app) == before


def test_an_ended_pair_keeps_its_sessions_read_only(paired: Pair) -> None:
    session_id = log(paired, paired.mentee)
    with paired.app.app_context():
        relationship = db.session.get(Relationship, paired.relationship_id)
        assert relationship is not None
        relationship.ended_at = datetime.now(UTC)
        db.session.commit()
    page = paired.page(paired.mentor)
    assert "Log this session" not in page.text and ">Confirm<" not in page.text
    assert "This pair has ended: its sessions stay here as a record" in text_of(page)
    assert paired.page(paired.mentor, session_path(session_id)).status_code == 200
    before = everything(paired.app)
    assert paired.post(paired.mentee, "/sessions", session_data()).status_code == 403
    for path, data in POSTS:
        person = paired.mentee if path == "/edit" else paired.mentor
        assert paired.post(person, session_path(session_id, path), data).status_code == 403, path
    assert everything(paired.app) == before
