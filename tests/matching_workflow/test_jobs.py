"""Runs and publishes as matching jobs: done by a real jobs worker (a thread of this process) while the review
page, over real HTTP, shows their progress; one at a time per program; a dead worker's job is taken over."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from lti_tool.extensions import db, utcnow
from lti_tool.matching import jobs
from lti_tool.matching.models import MatchingJob
from lti_tool.mentoring.models import Relationship
from lti_tool.programs.models import Match, MatchStatus
from lti_tool.runtime import runtime
from lti_tool.statements.models import StatementOutbox
from tests.matching_workflow.conftest import CSRF, Cohort

LEASE_SECONDS = 2


@pytest.fixture
def tool_settings(tool_settings: dict[str, Any]) -> dict[str, Any]:
    # Every run and publish goes to the worker, however small the program.
    return {**tool_settings, "matching_jobs_from": 0, "jobs_lease_seconds": LEASE_SECONDS,
            "jobs_poll_interval_seconds": 0.05}  # fmt: skip


@contextmanager
def jobs_worker(app: Flask) -> Iterator[None]:
    """`mentor-lti jobs worker`'s loop in a thread, stopped at the end."""
    stop = threading.Event()

    def work() -> None:
        with app.app_context():
            jobs.run_jobs_worker(runtime().settings, stop)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _jobs(cohort: Cohort) -> list[MatchingJob]:
    with cohort.app.app_context():
        found = db.session.execute(
            select(MatchingJob).where(MatchingJob.program_id == cohort.program_id).order_by(MatchingJob.id)
        ).scalars()
        return list(found)


def _wait(condition: Callable[[], bool], message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def _status(cohort: Cohort) -> dict[str, Any]:
    browser = cohort.browsers["instructor"]
    answer = browser.http.get(
        f"{browser.tool_url}/courses/{cohort.course_id}/program/matching/job", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 200
    return dict(answer.json())


def _rows(cohort: Cohort) -> tuple[int, int, int]:
    """(published matches, relationships, `matched` statements) of the program."""
    with cohort.app.app_context():
        return (
            db.session.execute(
                select(func.count(Match.id)).where(
                    Match.program_id == cohort.program_id, Match.status == MatchStatus.PUBLISHED.value
                )
            ).scalar_one(),
            db.session.execute(
                select(func.count(Relationship.id)).where(Relationship.program_id == cohort.program_id)
            ).scalar_one(),
            db.session.execute(
                select(func.count(StatementOutbox.id)).where(StatementOutbox.event == "match-published")
            ).scalar_one(),
        )


def test_a_run_and_a_publish_wait_for_the_worker_with_their_progress_on_the_page_then_are_done(
    cohort: Cohort,
) -> None:
    review = f"/courses/{cohort.course_id}/program/matching"
    started = cohort.post("instructor", "/run")
    assert "the progress is shown below" in started.text
    # A reload while the job waits shows it, with a progress bar and a way to follow it without JavaScript.
    page = cohort.browsers["instructor"].get(review).text
    assert '<progress id="job-progress"' in page and "waiting for a worker" in page
    assert '<meta http-equiv="refresh"' in page and "matching-job.js" in page
    assert _status(cohort)["state"] == "queued"
    with jobs_worker(cohort.app):
        _wait(lambda: _status(cohort)["state"] == "done", "the run did not finish")
        assert _status(cohort)["percent"] == 100
        page = cohort.browsers["instructor"].get(review).text
        assert "Matching proposed 2 matches" in page and '<progress id="job-progress"' not in page
        assert "Publish all 2 drafts" in page
        cohort.post("instructor", "/publish")
        _wait(lambda: _status(cohort)["state"] == "done" and _status(cohort)["kind"] == "publish", "no publish")
    assert "Published 2 matches." in _status(cohort)["text"]
    assert _rows(cohort) == (2, 2, 2)


def test_a_second_run_or_publish_while_one_waits_is_refused_and_drafts_stay_as_they_are(cohort: Cohort) -> None:
    cohort.post("instructor", "/run")
    refused = cohort.post("instructor", "/publish")
    assert "Running matching is in progress" in refused.text and "Wait until it has finished" in refused.text
    assert len(_jobs(cohort)) == 1
    with jobs_worker(cohort.app):
        _wait(lambda: _jobs(cohort)[-1].state == "done", "the run did not finish")
    assert len(_jobs(cohort)) == 1


def test_a_dead_workers_job_is_taken_over_after_its_lease_and_done_once(cohort: Cohort) -> None:
    cohort.post("instructor", "/run")
    with jobs_worker(cohort.app):
        _wait(lambda: _jobs(cohort)[-1].state == "done", "the run did not finish")
    cohort.post("instructor", "/publish")
    # A worker claims the publish and dies before it commits anything: its claim is all that is left.
    with cohort.app.app_context():
        claim = jobs._claim(runtime().settings)
        assert claim is not None
    dead = _jobs(cohort)[-1]
    assert dead.state == "running" and dead.attempts == 1 and dead.claimed_until is not None
    assert _status(cohort)["state"] == "running"  # the page shows it running meanwhile
    with jobs_worker(cohort.app):
        _wait(lambda: _jobs(cohort)[-1].state == "done", "the job was not taken over", timeout=LEASE_SECONDS + 30)
    done = _jobs(cohort)[-1]
    assert done.attempts == 2 and done.finished_at is not None and done.started_at is not None
    assert done.finished_at >= dead.claimed_until
    assert _rows(cohort) == (2, 2, 2)  # no match, relationship or statement twice
    assert utcnow() >= dead.claimed_until


def test_learners_cannot_start_jobs_nor_read_their_status(cohort: Cohort) -> None:
    learner = cohort.browsers["learner-03"]
    base = f"{learner.tool_url}/courses/{cohort.course_id}/program/matching"
    assert learner.http.get(f"{base}/job", headers={"Accept": "application/json"}).status_code == 403
    token = CSRF.search(learner.get(f"/courses/{cohort.course_id}/me/profile").text)
    assert token
    for action in ("/run", "/publish"):
        assert learner.http.post(f"{base}{action}", data={"csrf_token": token.group(1)}).status_code == 403
    assert learner.http.post(f"{base}/publish", data={}).status_code == 400  # and without a CSRF token
    assert _jobs(cohort) == []
