"""Matching workflow benchmark at the size of issue 12: the review page and its searches, then a run of matching
and a publish of 6,000 drafts as background jobs on an 11,001-member course, on SQLite and PostgreSQL in one run,
against the budgets.

    PYTHONPATH=. .venv/bin/python benchmarks/matching_workflow.py [--pairs 4000] [--databases sqlite,postgresql]
        [--postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

The course is built by tests/scale/builder.py (bulk inserts shaped like the real workflow): 1,000 mentors of
capacity 10, 4,000 published pairs with their sessions, goals and assessments, 6,000 late joiners waiting, each
with a draft from the latest run (`--pairs` scales it all). The tool is served on loopback beside the sandbox LMS
as in the tests, and the instructor really launches. Each page is requested twice; the second (warm) answer counts.

Then a real `mentor-lti jobs worker` process waits for jobs, as in production (default poll interval, 1 s), and
the instructor runs matching (6,000 waiting, 4,000 published pairs kept), then publishes the 6,000 drafts it
proposed. For each job:
- the request that queues it (the instructor's POST, answered with a redirect): a page's budget, ≤ 300 ms and
  ≤ 50 statements, whatever the program's size;
- the job from queued to done, from its row (created, claimed, finished), and within it the matching engine's own
  time: between the progress steps the run records before and after `engine.match`, read every 20 ms from a
  connection of this script's own. Budget: ≤ 5 s from queued to done besides the engine. The worker's CPU time
  (/proc), in all and while the engine ran, is printed beside it: on a loaded machine wall time stretches, CPU
  time much less (PostgreSQL's own work is in its server, not in the worker); and its peak resident memory;
- while the job runs, the status JSON the review page's script polls (every 0.5 s here) and the review page with
  its progress bar (every 1 s) until the job is done: the median against a page's budget, the slowest beside it.
A request's time is the tool's server time (the WSGI call), with its thread's CPU time beside it. PostgreSQL gets
a fresh schema, dropped after. The load average is printed at the start and the end. The exit status is 1 when a
budget is missed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from flask import Flask

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.matching.models import MatchingJob
from lti_tool.programs.models import Match, MatchStatus
from tests.conftest import loopback_settings, tool_environment
from tests.databases import postgresql_schema
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import CSRF
from tests.processes import ToolProcess, jobs_worker
from tests.scale.builder import ISSUE, CourseSize, build_course
from tests.scale.queries import count_statements

PAGE_SECONDS, PAGE_STATEMENTS, PAGE_BYTES = 0.3, 50, 300 * 1024
JOB_SECONDS = 5.0  # from queued to done, besides the engine's own time
CLOCK_SECONDS = 0.02  # how often the job's progress is read to time the engine
# The status JSON twice as often as the page's script asks for it (every second), and the review page every
# second (without JavaScript the page reloads itself every 5 s): samples enough, without crowding the worker out.
POLL_SECONDS = 0.5
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class Answer:
    """One request: the tool's server time and its thread's CPU time for it, its statements and bytes."""

    seconds: float
    cpu: float
    statements: int
    size: int


@dataclass
class Figure:
    """A page, or a request that queues a job: one answer, or the median of several (the slowest beside it)."""

    name: str
    answers: list[Answer]

    @property
    def seconds(self) -> float:
        return statistics.median(a.seconds for a in self.answers)

    @property
    def cpu(self) -> float:
        return statistics.median(a.cpu for a in self.answers)

    @property
    def statements(self) -> int:
        return max(a.statements for a in self.answers)

    @property
    def size(self) -> int:
        return max(a.size for a in self.answers)

    @property
    def passed(self) -> bool:
        return self.seconds <= PAGE_SECONDS and self.statements <= PAGE_STATEMENTS and self.size <= PAGE_BYTES

    def line(self) -> str:
        budget = f"≤ {PAGE_SECONDS * 1000:.0f} ms, ≤ {PAGE_STATEMENTS} statements, ≤ {PAGE_BYTES // 1024} KB"
        several = len(self.answers) > 1
        slowest = max(a.seconds for a in self.answers)
        median = f" (median of {len(self.answers)}, slowest {slowest * 1000:.0f} ms)" if several else ""
        return (
            f"  {self.name:<44} {self.seconds * 1000:7.0f} ms (CPU {self.cpu * 1000:4.0f}) {self.statements:5d} stmts "
            f"{self.size / 1024:8.1f} KB   {budget}{median}  {'PASS' if self.passed else 'FAIL'}"
        )


class TimedApp:
    """WSGI middleware: the latest request's server time and its thread's CPU time (the page is rendered by then;
    no page here streams)."""

    def __init__(self, wsgi: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi = wsgi
        self.seconds = self.cpu = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return self.wsgi(environ, start_response)
        finally:
            self.seconds, self.cpu = time.perf_counter() - started, time.thread_time() - cpu


@dataclass
class JobFigure:
    """A job as its row and its progress tell it, and the worker's CPU time while it ran."""

    name: str
    state: str
    message: str
    waited: float  # queued to claimed: the worker's poll interval at most, when it is idle
    ran: float  # claimed to done
    engine: float  # the matching engine's own time within `ran`
    cpu: float  # the worker process's user + system time from queued to done
    engine_cpu: float  # the worker's CPU time while the engine ran
    peak_mb: float  # the worker's highest resident memory while the job ran (VmHWM, reset before it)
    in_request: bool  # done by the request that queued it: a program below MATCHING_JOBS_FROM

    @property
    def total(self) -> float:
        return self.waited + self.ran

    @property
    def passed(self) -> bool:
        return self.state == "done" and self.total - self.engine <= JOB_SECONDS

    def line(self) -> str:
        where = "in the request (smaller than MATCHING_JOBS_FROM)" if self.in_request else "in the worker"
        return (
            f"  {self.name:<44} {self.total:7.2f} s queued to {self.state} {where} (waited {self.waited:.2f} s, "
            f"ran {self.ran:.2f} s, engine {self.engine:.2f} s): {self.total - self.engine:.2f} s besides the engine, "
            f"≤ {JOB_SECONDS:.0f} s  {'PASS' if self.passed else 'FAIL'}\n  {'':<44} worker CPU {self.cpu:.2f} s, "
            f"engine {self.engine_cpu:.2f} s, besides {self.cpu - self.engine_cpu:.2f} s; worker peak memory "
            f"{self.peak_mb:.0f} MB. {self.message}"
        )


class JobClock:
    """Reads a job's row every CLOCK_SECONDS through an engine of its own (not the app's, whose statements are
    counted), noting when each progress step was first seen, and the worker's CPU time then."""

    def __init__(self, url: str, job_id: int, worker_pid: int) -> None:
        self._engine = sa.create_engine(url)
        self._job_id = job_id
        self._worker_pid = worker_pid
        self.first_seen: dict[int, tuple[float, float]] = {}  # progress step (`done`) -> (when, worker CPU)
        self.state = "queued"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> JobClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._engine.dispose()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def _watch(self) -> None:
        query = sa.text("SELECT state, done FROM matching_job WHERE id = :id")
        with self._engine.connect() as connection:
            while not self._stop.wait(CLOCK_SECONDS):
                state, done = connection.execute(query, {"id": self._job_id}).one()
                connection.rollback()  # a fresh snapshot for the next read
                if done not in self.first_seen:
                    self.first_seen[done] = (time.perf_counter(), cpu_seconds(self._worker_pid))
                self.state = state

    def between(self, first: int, second: int) -> tuple[float, float]:
        """Seconds and worker CPU seconds from progress step `first` to `second` (0 when either was not seen)."""
        if first in self.first_seen and second in self.first_seen:
            (began, began_cpu), (ended, ended_cpu) = self.first_seen[first], self.first_seen[second]
            return ended - began, ended_cpu - began_cpu
        return 0.0, 0.0


def peak_mb(pid: int, *, reset: bool = False) -> float:
    """Process `pid`'s highest resident memory so far (VmHWM); `reset` starts it again from now (Linux)."""
    if reset:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def database(kind: str, postgresql: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/tool.sqlite3"
        return
    with postgresql_schema(postgresql, "bench") as url:
        yield url


class Measurement:
    """One database's run: the served tool, the instructor's browser, and the figures so far."""

    def __init__(self, app: Flask, browser: LtiBrowser, base: str) -> None:
        self.app = app
        self.timer = TimedApp(app.wsgi_app)
        app.wsgi_app = self.timer  # type: ignore[method-assign]
        self.browser = browser
        self.base = base
        self.pages: list[Figure] = []
        self.jobs: list[JobFigure] = []

    def request(self, request: Callable[[], httpx.Response]) -> Answer:
        """One request (that follows no redirect): its server time, CPU time, statements and bytes."""
        with count_statements(self.app) as counted:
            response = request()
        assert response.status_code in (200, 303), f"{response.status_code} {response.text[:500]}"
        return Answer(self.timer.seconds, self.timer.cpu, counted.total, len(response.content))

    def page(self, name: str, path: str, **options: Any) -> None:
        def get() -> httpx.Response:
            return self.browser.http.get(f"{self.browser.tool_url}{path}", **options)

        get()  # warm
        self.pages.append(Figure(name, [self.request(get)]))

    def job(self, name: str, action: str, url: str, worker: ToolProcess) -> None:
        """Queue a job as the instructor does, then follow it to its end as the review page does."""
        token = CSRF.search(self.browser.get(self.base).text)
        assert token
        cpu = cpu_seconds(worker.pid)
        peak_mb(worker.pid, reset=True)
        queued = self.request(
            lambda: self.browser.http.post(
                f"{self.browser.tool_url}{self.base}/{action}", data={"csrf_token": token[1]}
            )
        )
        self.pages.append(Figure(f"queue: {name}", [queued]))
        with self.app.app_context():
            job_id, queued_state = db.session.execute(
                sa.select(MatchingJob.id, MatchingJob.state).order_by(MatchingJob.id.desc()).limit(1)
            ).one()
        status: list[Answer] = []
        review: list[Answer] = []
        json = {"Accept": "application/json"}
        page = f"{self.browser.tool_url}{self.base}"
        with JobClock(url, job_id, worker.pid) as clock:
            deadline = time.monotonic() + 900
            for turn in itertools.count():
                if clock.finished or time.monotonic() > deadline:
                    break
                status.append(self.request(lambda: self.browser.http.get(f"{page}/job", headers=json)))
                if turn % 2 == 0:
                    review.append(self.request(lambda: self.browser.http.get(page)))
                time.sleep(POLL_SECONDS)
        cpu = cpu_seconds(worker.pid) - cpu
        # workflow.run_matching's progress: 1 once the pool is read, 2 once the engine has answered.
        engine, engine_cpu = clock.between(1, 2) if action == "run" else (0.0, 0.0)
        with self.app.app_context():
            job = db.session.get(MatchingJob, job_id)
            assert job is not None
            created, started, finished = job.created_at, job.started_at or job.created_at, job.finished_at
            state, message = job.state, job.message or job.error or ""
        self.jobs.append(
            JobFigure(
                name,
                state,
                message,
                waited=_seconds(created, started),
                ran=_seconds(started, finished or started),
                engine=engine,
                cpu=cpu,
                engine_cpu=engine_cpu,
                peak_mb=peak_mb(worker.pid),
                in_request=queued_state not in ("queued", "running"),
            )
        )
        for label, answers in (("review page", review), ("job status JSON", status)):
            if answers:
                self.pages.append(Figure(f"{label} while {name.split(' (')[0]} runs", answers))


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def measure(kind: str, url: str, size: CourseSize) -> Measurement:
    with tempfile.TemporaryDirectory() as instance:
        settings = loopback_settings(Path(instance), url)
        with tool_environment(settings) as env:
            browser = LtiBrowser(env.tool_url, env.sandbox.platform)
            browser.launch("ment-101", "instructor")
            app = env.app
            started = time.perf_counter()
            with app.app_context():
                course = db.session.execute(sa.select(Course).where(Course.context_id == "ment-101")).scalar_one()
                built = build_course(course, size)
                draft_id = db.session.execute(
                    sa.select(Match.id)
                    .where(Match.program_id == built.program_id, Match.status == MatchStatus.DRAFT.value)
                    .order_by(Match.id)
                    .limit(1)
                ).scalar_one()
            say(f"{kind}: built {sum(built.counts.values()):,} rows in {time.perf_counter() - started:.0f} s")
            base = f"/courses/{built.course_id}/program/matching"
            run = Measurement(app, browser, base)
            json = {"Accept": "application/json"}
            run.page("review page", base)
            run.page("review page 60 of drafts", f"{base}?page=60")
            run.page("review search by name", f"{base}?q=Mentee01234")
            run.page("mentor search page (no JS)", f"{base}/{draft_id}/mentors?q=mentor00")
            run.page("mentor search (JSON)", f"{base}/{draft_id}/mentors", params={"q": "Okafor"}, headers=json)
            run.page("manual match search", f"{base}/manual?mentor_q=mentor&mentee_q=Mentee0999")
            with jobs_worker(settings, Path(instance) / "jobs-worker.log") as worker:
                run.job(f"run matching ({size.waiting:,} waiting, {size.pairs:,} kept)", "run", url, worker)
                run.job(f"publish {size.drafts:,} drafts", "publish", url, worker)
            run.page("review page after publishing", base)
            browser.close()
            return run


def say(message: str = "") -> None:
    print(message, flush=True)


def load() -> str:
    return " / ".join(f"{n:.1f}" for n in os.getloadavg()) + " (1 / 5 / 15 min)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=ISSUE.pairs, help="published pairs (the course scales with it)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgresql-url", default=POSTGRES_URL, help="a fresh schema of it is used, then dropped")
    args = parser.parse_args()
    scaled = CourseSize.for_pairs(args.pairs)
    size = replace(scaled, drafts=scaled.waiting)  # every waiting mentee has a draft of the latest run
    say(f"{size.members:,} members, {size.pairs:,} pairs, {size.drafts:,} drafts; load average {load()}")
    results: dict[str, Measurement] = {}
    for kind in args.databases.split(","):
        with database(kind, args.postgresql_url) as url:
            results[kind] = measure(kind, url, size)
    for kind, run in results.items():
        say(f"\n{kind}")
        for figure in run.pages:
            say(figure.line())
        for job in run.jobs:
            say(job.line())
    say(f"\nLoad average at the end {load()}.")
    passed = all(f.passed for run in results.values() for f in [*run.pages, *run.jobs])
    say("Every budget met." if passed else "Some budgets missed (FAIL above).")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
