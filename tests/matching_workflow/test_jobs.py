"""Runs and publishes as matching jobs: done by a jobs worker while the review page, over real HTTP, shows their
progress; one at a time per program; a `mentor-lti jobs worker` process killed mid-job leaves nothing half done,
and another takes the job over after its lease and does it once."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.matching import jobs
from lti_tool.matching.models import MatchingJob
from lti_tool.mentoring.models import Relationship, RelationshipMember
from lti_tool.programs.models import Match, MatchingRun, MatchStatus
from lti_tool.runtime import runtime
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import CSRF, Cohort
from tests.processes import jobs_worker
from tests.scale.builder import CourseSize, build_course

LEASE_SECONDS = 1
# Mentors of 10 places and as many drafts of an earlier run as mentees waiting; see `large_cohort`.
KILLED_SIZE = CourseSize(pairs=0, mentors=200, waiting=2000, sessions_per_pair=0, goals_per_pair=0, rounds=0,
                         self_assessed=0, survey_answers=0, drafts=2000)  # fmt: skip


@pytest.fixture
def tool_settings(tool_settings: dict[str, Any]) -> dict[str, Any]:
    # Every run and publish goes to the worker, however small the program.
    return {**tool_settings, "matching_jobs_from": 0, "jobs_lease_seconds": LEASE_SECONDS,
            "jobs_poll_interval_seconds": 0.05}  # fmt: skip


@contextmanager
def worker_thread(app: Flask) -> Iterator[None]:
    """`mentor-lti jobs worker`'s loop in a thread of this process (quicker to start), stopped at the end."""
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


def _wait(condition: Callable[[], bool], message: str, timeout: float = 30, poll: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(poll)


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
    with worker_thread(cohort.app):
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
    with worker_thread(cohort.app):
        _wait(lambda: _jobs(cohort)[-1].state == "done", "the run did not finish")
    assert len(_jobs(cohort)) == 1


@pytest.fixture
def large_cohort(app: Flask, browser: LtiBrowser) -> Cohort:
    """People with complete profiles and drafts of an earlier run, built in bulk by tests/scale/builder.py. On
    SQLite, 2,200 people and 2,000 drafts: a job there runs long enough (a few tenths of a second) to be killed
    midway. PostgreSQL stops the job with a lock (`_kill_mid_job`), so a tenth of that does."""
    browser.launch(person="instructor")
    with app.app_context():
        course = db.session.execute(select(Course).where(Course.context_id == "ment-101")).scalar_one()
        size = KILLED_SIZE
        if db.engine.dialect.name == "postgresql":
            size = replace(size, mentors=size.mentors // 10, waiting=size.waiting // 10, drafts=size.drafts // 10)
        built = build_course(course, size)
    return Cohort(app, built.course_id, built.program_id, {"instructor": browser})


def _drafts(cohort: Cohort) -> list[tuple[Any, ...]]:
    """(id, mentor, mentee, created) of every draft of the program."""
    with cohort.app.app_context():
        rows = db.session.execute(
            select(Match.id, Match.mentor_id, Match.mentee_id, Match.created_at)
            .where(Match.program_id == cohort.program_id, Match.status == MatchStatus.DRAFT.value)
            .order_by(Match.id)
        )
        return [tuple(row) for row in rows]


def _runs(cohort: Cohort) -> list[tuple[int, int]]:
    """(id, matches proposed) of every run of matching of the program."""
    with cohort.app.app_context():
        rows = db.session.execute(
            select(MatchingRun.id, MatchingRun.matched)
            .where(MatchingRun.program_id == cohort.program_id)
            .order_by(MatchingRun.id)
        )
        return [tuple(row) for row in rows]


def _members(cohort: Cohort) -> int:
    with cohort.app.app_context():
        return db.session.execute(
            select(func.count(RelationshipMember.participant_id))
            .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
            .where(Relationship.program_id == cohort.program_id)
        ).scalar_one()


def _kill_mid_job(cohort: Cohort, job_id: int, held: type[db.Model], settings: dict[str, Any], log: Path) -> None:  # type: ignore[name-defined]
    """A real `mentor-lti jobs worker` takes the queued job and is SIGKILLed while it runs.

    PostgreSQL: the test locks `held`'s table (SHARE: reads go on, writes wait), so the job stops at its write
    there with its earlier writes made and not committed, and is killed then. SQLite has one writer at a time,
    so nothing stops a job halfway through its writes: once the job reports progress, the test takes the write
    lock (the job then stops at its next write) or, when the job is writing at that moment, kills it midway."""
    with cohort.app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as holder:
                holder.execute(text(f'LOCK TABLE "{held.__tablename__}" IN SHARE MODE'))
                holder_pid = holder.execute(text("SELECT pg_backend_pid()")).scalar_one()
                with jobs_worker(settings, log) as worker:
                    _wait(lambda: _waiting_for(holder_pid) > 0, f"the job never wrote to {held.__tablename__}")
                    worker.kill()
                holder.rollback()
            return
        watcher = sqlite3.connect(db.engine.url.database or "", isolation_level=None, timeout=0)
    try:
        with jobs_worker(settings, log) as worker:
            started = "SELECT state = 'running' AND total > 0 FROM matching_job WHERE id = ?"
            _wait(lambda: bool(watcher.execute(started, (job_id,)).fetchone()[0]), "the job never started", poll=0.002)
            with contextlib.suppress(sqlite3.OperationalError):  # locked: the job is writing, and dies midway
                watcher.execute("BEGIN IMMEDIATE")
            worker.kill()
        if watcher.in_transaction:
            watcher.execute("ROLLBACK")
    finally:
        watcher.close()


def _waiting_for(pid: int) -> int:
    """How many PostgreSQL sessions wait for a lock the session `pid` holds."""
    with db.engine.connect() as probe:
        query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
        return int(probe.execute(query, {"pid": pid}).scalar_one())


@pytest.mark.parametrize("action", ["run", "publish"])
def test_a_worker_killed_mid_job_leaves_nothing_half_done_and_another_worker_does_the_job_once(
    large_cohort: Cohort, tool_settings: dict[str, Any], tmp_path: Path, action: str
) -> None:
    drafts, runs = _drafts(large_cohort), _runs(large_cohort)
    large_cohort.post("instructor", f"/{action}")
    queued = _jobs(large_cohort)[-1]
    assert queued.state == "queued"
    held = MatchingRun if action == "run" else Match  # the run's last write, and the publish's
    _kill_mid_job(large_cohort, queued.id, held, tool_settings, tmp_path / "killed-worker.log")
    killed = _jobs(large_cohort)[-1]
    assert killed.state == "running" and killed.attempts == 1, f"the job ended before its worker was killed: {killed}"
    # Nothing half done: the drafts and runs are as they were, nothing is published, no statement is queued.
    assert _drafts(large_cohort) == drafts and _runs(large_cohort) == runs
    assert _rows(large_cohort) == (0, 0, 0) and _members(large_cohort) == 0
    assert _status(large_cohort)["state"] == "running"  # the page shows it running until a worker takes it over
    with jobs_worker(tool_settings, tmp_path / "second-worker.log"):
        _wait(lambda: _jobs(large_cohort)[-1].state == "done", "the job was not taken over", timeout=60)
    done = _jobs(large_cohort)[-1]
    assert done.attempts == 2 and done.claimed_until is None and killed.claimed_until is not None
    assert done.finished_at is not None and done.finished_at >= killed.claimed_until  # after the lease ran out
    if action == "publish":
        # Every draft published once, with one relationship of two members and one statement each.
        assert _drafts(large_cohort) == [] and _runs(large_cohort) == runs
        assert _rows(large_cohort) == (len(drafts),) * 3 and _members(large_cohort) == 2 * len(drafts)
        return
    # The earlier drafts replaced once: by one new run's drafts, a mentee in one draft at most.
    new_drafts, new_runs = _drafts(large_cohort), _runs(large_cohort)
    assert new_runs[:-1] == runs and len(new_runs) == len(runs) + 1 and new_runs[-1][1] == len(new_drafts) > 0
    assert done.started_at is not None and all(draft[3] >= done.started_at for draft in new_drafts)
    assert len({d[2] for d in new_drafts}) == len(new_drafts)
    assert _rows(large_cohort) == (0, 0, 0)


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
