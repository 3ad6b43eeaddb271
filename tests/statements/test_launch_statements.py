"""Launching the tool from an LMS leaves a `launched` statement in the LRS: pseudonymous, valid, per profile."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lti_tool.devlrs import RalphLrs
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.statements.helpers import (
    accepted_launch,
    account_agent,
    assert_statement_in_lrs,
    deliver_all,
    delivered_statements_about,
    lrs_copies,
    lrs_settings,
    lrs_statements,
    once_each,
    outbox_rows,
)
from xapi.vocabulary import LAUNCHED


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def test_each_launch_is_in_the_lrs_as_launched_by_the_lti_account_only(
    app: Flask, browser: LtiBrowser, sandbox: Sandbox, lrs: RalphLrs
) -> None:
    people = ["learner-01", "learner-02", "instructor"]
    for person in people:
        accepted_launch(browser, person)
    queued = outbox_rows(app)
    assert [row.event for row in queued] == ["lti-launch"] * len(people)

    report = deliver_all(app)

    assert report.delivered == len(people) and not report.errors
    platform = sandbox.platform
    for person, row in zip(people, queued, strict=True):
        someone = platform.course("ment-101").person(person)
        actor = account_agent(platform.issuer, platform.sub(someone))
        # Read back the way an analyst would: everything the LRS holds about this person.
        assert [s["id"] for s in lrs_statements(lrs, agent=actor)] == [row.statement_id]
        # Only the platform's account: no name, no mbox, although the LMS sent both.
        stored = assert_statement_in_lrs(lrs, row.statement_id, verb=LAUNCHED, actor=actor)
        assert someone.name not in str(stored) and someone.email not in str(stored)
    ids = [row.statement_id for row in queued]
    assert lrs_copies(lrs, ids) == once_each(ids)


def test_a_teaching_assistants_launch_names_the_course_it_happened_in(
    app: Flask, browser: LtiBrowser, sandbox: Sandbox, lrs: RalphLrs
) -> None:
    platform = sandbox.platform
    actor = account_agent(platform.issuer, platform.sub(platform.course("ment-101").person("ta")))

    accepted_launch(browser, "ta")

    (launched,) = delivered_statements_about(app, lrs, agent=actor, verb=LAUNCHED)
    assert launched["actor"] == actor
    assert launched["context"]["contextActivities"]["parent"][0]["definition"]["name"] == {
        "en-US": "Mentoring Practice 101"
    }


def test_a_moodle_workplace_locale_reaches_the_lrs_as_a_valid_language_tag(
    app: Flask, browser: LtiBrowser, sandbox: Sandbox, lrs: RalphLrs
) -> None:
    platform = sandbox.platform
    actor = account_agent(platform.issuer, platform.sub(platform.course("ment-101").person("learner-01")))

    # Moodle Workplace sends "en_us_wp", which is no language tag: LRSs refuse statements that carry it.
    response = browser.signed_launch("ment-101", "learner-01", claims={"locale": "en_us_wp"})
    assert response.status_code == 303, response.text[:2000]

    (launched,) = delivered_statements_about(app, lrs, agent=actor, verb=LAUNCHED)
    assert launched["context"]["language"] == "en-US"
