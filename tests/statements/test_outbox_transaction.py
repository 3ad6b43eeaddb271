"""A statement exists exactly when the change it records was committed: refused or failed actions leave none."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.extensions import db
from lti_tool.lti import views
from lti_tool.statements.models import StatementOutbox
from lti_tool.statements.outbox import emit
from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser, error_code
from tests.statements.helpers import launch_statement, outbox_rows


def test_a_replayed_launch_adds_no_statement(app: Flask, browser: LtiBrowser) -> None:
    fields = browser.authorize(browser.login(person="learner-05"))
    assert browser.post_launch(fields).status_code == 303
    first = outbox_rows(app)
    assert len(first) == 1

    replay = browser.post_launch(fields)

    assert replay.status_code == 400 and error_code(replay) == "replayed"
    assert outbox_rows(app) == first


def test_a_launch_with_a_forged_nonce_adds_no_statement(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    response = browser.signed_launch(person="learner-04", claims={"nonce": "forged-nonce"})
    assert response.status_code == 400
    assert row_counts(app) == before
    assert outbox_rows(app) == []


def test_a_launch_that_fails_after_its_statement_was_queued_leaves_neither(
    app: Flask, browser: LtiBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fails_after_queueing(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        db.session.flush()  # the statement is in the database, inside the launch's transaction
        raise RuntimeError("the launch fails after its statement was queued")

    original = views.record_lti_launch
    monkeypatch.setattr(views, "record_lti_launch", fails_after_queueing)
    before = row_counts(app)

    response = browser.post_launch(browser.authorize(browser.login(person="learner-03")))

    assert response.status_code == 500
    # Neither the user, course and membership the launch created, nor the statement about them.
    assert row_counts(app) == before
    assert outbox_rows(app) == []


def test_a_rolled_back_transaction_takes_its_statement_with_it(app: Flask) -> None:
    with app.app_context():
        emit(launch_statement("rolled-back"), event="test-event", platform_id=None, course_id=None)
        db.session.flush()
        assert db.session.execute(select(func.count(StatementOutbox.id))).scalar_one() == 1
        db.session.rollback()
        assert db.session.execute(select(func.count(StatementOutbox.id))).scalar_one() == 0
    assert outbox_rows(app) == []
