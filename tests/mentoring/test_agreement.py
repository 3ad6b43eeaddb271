"""Both members of a published pair accept the program's agreement, with their own expectations."""

from __future__ import annotations

import html

from flask import Flask

from lti_tool.extensions import db
from lti_tool.programs.models import Program
from tests.mentoring.conftest import Pair
from tests.mentoring.test_sessions import name_of
from tests.profiles.helpers import outbox_events


def _set_agreement(app: Flask, program_id: int, text: str) -> None:
    with app.app_context():
        program = db.session.get(Program, program_id)
        program.agreement_text = text
        db.session.commit()


def test_pair_page_says_who_the_agreement_waits_on_until_both_accept(pair: Pair) -> None:
    _set_agreement(pair.app, pair.cohort.program_id, "Meet every two weeks. What we discuss stays between us.")
    page = pair.page(pair.mentee)
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Meet every two weeks." in text
    mentor_name = name_of(pair.app, pair.mentor)
    # The viewer comes first, as "you", in a sentence that reads as one.
    assert f"Waiting for you and {mentor_name} to accept the agreement." in text

    accepted = pair.post(pair.mentee, "/agreement", {"expectations": "Code review first, <script>x()</script>"})
    assert accepted.status_code == 200
    assert f"You accepted the agreement. Waiting for {mentor_name} to accept it." in html.unescape(accepted.text)
    assert f"Waiting for {mentor_name} to accept the agreement." in html.unescape(pair.page(pair.mentee).text)
    assert pair.member(pair.mentee).accepted_at is not None

    mentor_view = pair.page(pair.mentor)
    assert "Waiting for you to accept the agreement." in mentor_view.text
    assert "&lt;script&gt;x()&lt;/script&gt;" in mentor_view.text  # shown as text, never run
    assert "<script>x()" not in mentor_view.text
    assert pair.post(pair.mentor, "/agreement").status_code == 200
    assert "Everyone has accepted the agreement." in pair.page(pair.mentee).text
    assert len(outbox_events(pair.app, "agreement-accepted")) == 2


def test_accepting_twice_is_refused_and_records_one_statement(pair: Pair) -> None:
    assert pair.post(pair.mentee, "/agreement").status_code == 200
    again = pair.post(pair.mentee, "/agreement")
    assert again.status_code == 422
    assert "already accepted" in again.text
    assert len(outbox_events(pair.app, "agreement-accepted")) == 1


def test_overlong_expectations_are_refused_with_nothing_saved(pair: Pair) -> None:
    refused = pair.post(pair.mentee, "/agreement", {"expectations": "x" * 2001})
    assert refused.status_code == 422
    assert "under 2000 characters" in refused.text
    assert pair.member(pair.mentee).accepted_at is None
    assert outbox_events(pair.app, "agreement-accepted") == []


def test_someone_outside_the_pair_gets_not_found(pair: Pair) -> None:
    assert pair.page(pair.outsider).status_code == 404
    assert pair.post(pair.outsider, "/agreement").status_code == 404
    assert pair.member(pair.mentee).accepted_at is None
    # The instructor sees pairs from the program's pages, never as a member.
    assert pair.page("instructor").status_code == 404


def test_learner_home_links_to_the_pair_page(pair: Pair) -> None:
    home = pair.browser(pair.mentee).get(f"/courses/{pair.course_id}/me")
    assert f"/pairs/{pair.relationship_id}" in home.text
