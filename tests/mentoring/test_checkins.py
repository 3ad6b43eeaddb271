"""Check-ins: the pair page and the learner's home say when a pair last met and whether it is overdue, and a
member can ask the others for a check-in."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
from flask import Flask
from sqlalchemy import func, select, update

from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.checkins import answer_open_requests
from lti_tool.mentoring.models import CheckinRequest, MentoringSession, Relationship, RelationshipMember
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair
from tests.mentoring.test_goals import set_goal
from tests.profiles.helpers import course_id, create_program, outbox_events

PARIS = ZoneInfo("Europe/Paris")  # the cohort's learners' time zone


def age_pair(pair: Pair, days: int) -> None:
    """The pair was published `days` ago."""
    with pair.app.app_context():
        db.session.execute(
            update(Relationship)
            .values(created_at=utcnow() - timedelta(days=days, hours=1))
            .where(Relationship.id == pair.relationship_id)
        )
        db.session.commit()


def met(pair: Pair, days_ago: int, *, status: str = "logged") -> str:
    """A session the mentor logged `days_ago` (sessions have their own pages; here only their dates matter).
    Returns the day as the pair page shows it."""
    started = utcnow() - timedelta(days=days_ago, hours=1)
    with pair.app.app_context():
        db.session.add(
            MentoringSession(
                relationship_id=pair.relationship_id,
                logged_by_id=pair.cohort.participant(pair.mentor),
                started_at=started,
                timezone="Europe/Paris",
                duration_minutes=45,
                format="video",
                status=status,
            )
        )
        db.session.commit()
    return started.astimezone(PARIS).strftime("%d %b %Y")


def home(pair: Pair, person: str) -> httpx.Response:
    return pair.browser(person).get(f"/courses/{pair.course_id}/me")


def text_of(response: httpx.Response) -> str:
    """The page's text as a reader sees it: no tags, entities decoded, white space collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", response.text)))


def requests_and_statements(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            int(db.session.execute(select(func.count(CheckinRequest.id))).scalar_one()),
            int(db.session.execute(select(func.count(StatementOutbox.id))).scalar_one()),
        )


def test_a_new_pair_is_not_overdue_and_is_told_when_the_next_check_in_is_due(pair: Pair) -> None:
    page = text_of(pair.page(pair.mentee))
    assert "every 14 days" in page
    assert "Next check-in due by" in page and "no session logged since the pair started on" in page
    assert 'href="#log-session"' in pair.page(pair.mentee).text
    assert "Overdue" not in page


def test_a_pair_that_never_met_is_overdue_after_the_programs_cadence(pair: Pair) -> None:
    age_pair(pair, 20)
    page = pair.page(pair.mentor)
    assert "Overdue by 6 days — no session logged since the pair started on" in text_of(page)
    assert 'class="checkin-overdue"' in page.text


def test_a_logged_session_resets_the_cadence_and_a_disputed_one_does_not(pair: Pair) -> None:
    age_pair(pair, 40)
    met(pair, 3, status="disputed")
    assert "Overdue by 26 days" in text_of(pair.page(pair.mentee))
    day = met(pair, 20)
    assert f"Overdue by 6 days — last met {day}" in text_of(pair.page(pair.mentee))
    day = met(pair, 2, status="confirmed")
    page = text_of(pair.page(pair.mentee))
    assert f"last met {day}" in page and "Next check-in due by" in page and "Overdue" not in page


def test_asking_for_a_check_in_shows_the_others_the_message_and_records_one_statement(pair: Pair) -> None:
    asked = pair.post(pair.mentee, "/checkin-requests", {"message": "Can we meet? <script>ping()</script>"})
    assert asked.status_code == 200
    assert "You asked" in text_of(asked) and "for a check-in" in text_of(asked)
    with pair.app.app_context():
        name = db.session.get(RelationshipMember, pair.member(pair.mentee).id).participant.membership.user.display_name
    mentor_view = pair.page(pair.mentor)
    assert f"{name} asked for a check-in on" in text_of(mentor_view)
    assert "Can we meet? &lt;script&gt;ping()&lt;/script&gt;" in mentor_view.text
    assert "<script>ping()" not in mentor_view.text
    # The one who asked sees their request, not the form to ask again.
    own_view = text_of(pair.page(pair.mentee))
    assert "You asked for a check-in on" in own_view and "Request a check-in" not in own_view
    statements = outbox_events(pair.app, "checkin-requested")
    assert len(statements) == 1 and "Can we meet" not in statements[0].body  # the message stays in the tool


def test_a_second_request_within_a_day_is_refused_with_nothing_written(pair: Pair) -> None:
    pair.post(pair.mentee, "/checkin-requests")
    before = requests_and_statements(pair.app)
    again = pair.post(pair.mentee, "/checkin-requests", {"message": "Hello again"})
    assert again.status_code == 422
    assert "You already asked for a check-in on" in text_of(again)
    assert "a day after asking" in text_of(again)
    assert requests_and_statements(pair.app) == before
    # The other member may ask too; a day later the first may ask again.
    assert pair.post(pair.mentor, "/checkin-requests").status_code == 200
    with pair.app.app_context():
        db.session.execute(update(CheckinRequest).values(created_at=utcnow() - timedelta(hours=25)))
        db.session.commit()
    assert pair.post(pair.mentee, "/checkin-requests").status_code == 200
    assert len(outbox_events(pair.app, "checkin-requested")) == 3


def test_an_overlong_message_is_refused_with_nothing_written(pair: Pair) -> None:
    before = requests_and_statements(pair.app)
    refused = pair.post(pair.mentee, "/checkin-requests", {"message": "x" * 501})
    assert refused.status_code == 422
    assert "Keep your message under 500 characters." in text_of(refused)
    assert requests_and_statements(pair.app) == before


def test_logging_the_next_session_answers_open_requests(pair: Pair) -> None:
    pair.post(pair.mentee, "/checkin-requests", {"message": "Coffee?"})
    with pair.app.app_context():
        relationship = db.session.get(Relationship, pair.relationship_id)
        assert answer_open_requests(relationship) == 1  # what the sessions service calls when a session is logged
        db.session.commit()
        assert db.session.execute(select(CheckinRequest.answered_at)).scalar_one() is not None
    page = text_of(pair.page(pair.mentor))
    assert "Coffee?" not in page and "asked for a check-in" not in page
    # Answered, the request no longer holds back a new one.
    assert pair.post(pair.mentee, "/checkin-requests").status_code == 200


def test_the_learners_home_links_each_pair_with_what_waits_on_them(pair: Pair) -> None:
    page = home(pair, pair.mentee)
    pair_page = f"/courses/{pair.course_id}/pairs/{pair.relationship_id}"
    assert f'href="{pair_page}"' in page.text
    assert "The agreement waits on you" in text_of(page) and f'href="{pair_page}#agreement"' in page.text
    assert "Next check-in due by" in text_of(page) and "Overdue" not in text_of(page)
    assert pair.post(pair.mentee, "/agreement").status_code == 200
    assert "The agreement waits on you" not in text_of(home(pair, pair.mentee))
    assert "The agreement waits on you" in text_of(home(pair, pair.mentor))


def test_the_next_step_on_the_learners_home_follows_where_the_pair_stands(pair: Pair) -> None:
    def next_step() -> str:
        return text_of(home(pair, pair.mentee)).split("Next step:")[-1].split("Ask your instructor")[0].strip()

    assert next_step().startswith("read and accept your mentoring agreement")
    assert pair.post(pair.mentee, "/agreement").status_code == 200
    assert next_step().startswith("get in touch with")  # accepted, not met yet
    met(pair, 1)
    assert next_step() == "you have met: set your goals together on your pair page."
    set_goal(pair)
    assert re.fullmatch(r"meet .+ again by \d\d \w\w\w \d{4} and log the session\.", next_step()), next_step()


def test_the_learners_home_shows_an_overdue_pair_with_both_one_click_actions(pair: Pair) -> None:
    age_pair(pair, 30)
    day = met(pair, 16)
    page = home(pair, pair.mentor)
    text = text_of(page)
    pair_page = f"/courses/{pair.course_id}/pairs/{pair.relationship_id}"
    assert f"Overdue by 2 days — last met {day}" in text
    assert f'href="{pair_page}#log-session"' in page.text
    assert f'action="{pair_page}/checkin-requests"' in page.text
    # The outsider's own home says nothing of this pair.
    assert pair_page not in home(pair, pair.outsider).text

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    browser = pair.browser(pair.mentor)
    asked = browser.http.post(
        f"{browser.tool_url}{pair_page}/checkin-requests", data={"csrf_token": token.group(1)}, follow_redirects=True
    )
    assert asked.status_code == 200
    mentee_home = text_of(home(pair, pair.mentee))
    assert "asked for a check-in on" in mentee_home
    assert "You asked for a check-in on" in text_of(home(pair, pair.mentor))


def test_outsiders_the_instructor_and_another_course_cannot_ask_for_a_check_in(
    pair: Pair, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    before = requests_and_statements(app)
    for person in (pair.outsider, "instructor"):
        assert pair.post(person, "/checkin-requests", {"message": "Sneaky"}).status_code == 404
    guessed = Pair(pair.cohort, 99999, mentor=pair.mentor, mentee=pair.mentee, outsider=pair.outsider)
    assert guessed.post(pair.mentee, "/checkin-requests").status_code == 404

    intruder = new_browser()
    intruder.launch("lead-202", "learner-13")
    own_course = course_id(app, "lead-202")
    create_program(app, "lead-202")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', intruder.get(f"/courses/{own_course}/me/profile").text)
    assert token
    before = requests_and_statements(app)  # the launch itself is recorded
    for course, status in ((pair.course_id, 403), (own_course, 404)):
        response = intruder.http.post(
            f"{intruder.tool_url}/courses/{course}/pairs/{pair.relationship_id}/checkin-requests",
            data={"csrf_token": token.group(1), "message": "Sneaky"},
        )
        assert response.status_code == status
    assert requests_and_statements(app) == before


def test_an_ended_pair_is_never_overdue_and_takes_no_requests(pair: Pair) -> None:
    age_pair(pair, 60)
    with pair.app.app_context():
        db.session.execute(
            update(Relationship).values(ended_at=utcnow()).where(Relationship.id == pair.relationship_id)
        )
        db.session.execute(
            update(RelationshipMember)
            .values(left_at=utcnow())
            .where(RelationshipMember.relationship_id == pair.relationship_id)
        )
        db.session.commit()
    page = text_of(pair.page(pair.mentee))
    assert "This pair has ended: no more check-ins are due." in page
    assert "Overdue" not in page and "Request a check-in" not in page
    before = requests_and_statements(pair.app)
    assert pair.post(pair.mentee, "/checkin-requests").status_code == 403
    assert requests_and_statements(pair.app) == before
    assert f"/pairs/{pair.relationship_id}" not in home(pair, pair.mentee).text.split("Your matches")[0]
