"""What a launch costs: its SQL statements, its redirects, and two first launches of one learner at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from flask import Flask
from sqlalchemy import Connection, event, insert, select

from lti_tool.courses.models import Course, Membership, ResourceLink, User
from lti_tool.extensions import db, utcnow
from lti_tool.lti.models import Deployment
from tests.conftest import POSTGRES_URL, Sandbox, row_counts
from tests.lti_browser import LtiBrowser, heading
from tests.scale.queries import count_statements

LAUNCH_BUDGET = 12


@pytest.mark.parametrize(
    ("course", "person"),
    [("ment-101", "learner-01"), ("ment-101", "instructor"), ("lead-202", "learner-01")],
    ids=["first-launch", "relaunch", "first-launch-into-a-new-course"],
)
def test_login_and_launch_together_run_at_most_12_sql_statements(
    app: Flask, browser: LtiBrowser, course: str, person: str
) -> None:
    browser.launch("ment-101", "instructor")  # the platform's keys are cached, as in any running tool
    with count_statements(app) as login:
        auth = browser.login(course, person)
    fields = browser.authorize(auth)  # the LMS's part: no statement of the tool's
    with count_statements(app) as launch:
        response = browser.post_launch(fields)
    assert response.status_code == 303, response.text
    total = login.total + launch.total
    assert total <= LAUNCH_BUDGET, login.report(repeated_at_least=1) + "\n" + launch.report(repeated_at_least=1)


@contextmanager
def statements_compiled(app: Flask) -> Iterator[list[str]]:
    """The SQL of each statement the app's engine runs in the block that SQLAlchemy compiled instead of taking
    from its compiled cache (a PRAGMA sent as it is compiles nothing)."""
    compiled: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context.compiled is not None and context.cache_hit is not context.dialect.CACHE_HIT:
            compiled.append(sql)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        yield compiled
    finally:
        event.remove(engine, "after_cursor_execute", record)


@pytest.mark.parametrize("person", ["learner-02", "instructor"], ids=["first-launch", "relaunch"])
def test_a_warm_tool_compiles_no_sql_for_a_login_and_launch(app: Flask, browser: LtiBrowser, person: str) -> None:
    # Building and compiling its statements anew was most of a launch's CPU (issue 12): SQLAlchemy 2.0 caches no
    # INSERT ... ON CONFLICT of its own, and an ORM upsert is built again on each execution.
    browser.launch("ment-101", "instructor")
    browser.launch("ment-101", "learner-01")  # a first launch of a learner into the known course
    with statements_compiled(app) as compiled:
        response = browser.post_launch(browser.authorize(browser.login("ment-101", person)))
    assert response.status_code == 303, response.text
    assert compiled == []


@pytest.mark.parametrize(("person", "heading_text"), [("instructor", "Program setup"), ("learner-01", "My mentorship")])
def test_the_launch_redirects_straight_to_the_page_it_shows(
    browser: LtiBrowser, person: str, heading_text: str
) -> None:
    launched = browser.post_launch(browser.authorize(browser.login(person=person)))
    assert launched.status_code == 303
    page = browser.http.get(f"{browser.tool_url}{launched.headers['location']}")  # no redirect followed
    assert page.status_code == 200
    assert heading(page) == heading_text


PG_ONLY = pytest.mark.skipif(not POSTGRES_URL, reason="on SQLite one writer at a time: the launches cannot overlap")


def first_launch_under_way(app: Flask, sandbox: Sandbox, person: str) -> Callable[[Connection], None]:
    """What a first launch of `person` into ment-101 has written, uncommitted, by the time another launch runs."""
    platform = sandbox.platform
    with app.app_context():
        deployment = db.session.execute(select(Deployment.id)).scalar_one()

    def hold(connection: Connection) -> None:
        user = connection.execute(
            insert(User).values(issuer=platform.issuer, sub=platform.sub(platform.course("ment-101").person(person)))
        ).inserted_primary_key[0]
        course = connection.execute(
            insert(Course).values(deployment_id=deployment, context_id="ment-101", ags_scopes=[])
        ).inserted_primary_key[0]
        connection.execute(insert(ResourceLink).values(course_id=course, resource_link_id="ment-101-link-1", custom={}))
        connection.execute(
            insert(Membership).values(
                user_id=user, course_id=course, roles=[], course_role="learner", active=True, last_launch_at=utcnow()
            )
        )

    return hold


def launch_while(app: Flask, hold: Callable[[Connection], None], launch: Callable[[], httpx.Response]) -> int:
    """Run `launch` while another transaction has done `hold` without committing; commit it while the launch
    waits on its rows; answer the launch's status."""
    with app.app_context():
        holder = db.engine.connect()
    answers: list[int] = []
    request = threading.Thread(target=lambda: answers.append(launch().status_code))
    try:
        transaction = holder.begin()
        hold(holder)
        request.start()
        request.join(1.0)
        assert request.is_alive(), f"the launch did not wait for the other one: {answers}"
        transaction.commit()
    finally:
        holder.close()
    request.join(20)
    assert not request.is_alive()
    return answers[0]


@PG_ONLY
@pytest.mark.parametrize("other", ["learner-01", "learner-02"], ids=["same-learner", "same-new-course"])
def test_two_first_launches_at_once_both_succeed(app: Flask, sandbox: Sandbox, browser: LtiBrowser, other: str) -> None:
    fields = browser.authorize(browser.login("ment-101", "learner-01"))
    status = launch_while(app, first_launch_under_way(app, sandbox, other), lambda: browser.post_launch(fields))
    assert status == 303
    counts = row_counts(app)
    assert (counts["lti_user"], counts["course"], counts["resource_link"]) == (
        1 if other == "learner-01" else 2,
        1,
        1,
    )
    assert counts["membership"] == (1 if other == "learner-01" else 2)
    assert heading(browser.get(f"{browser.tool_url}/courses/1/")) == "My mentorship"
