"""The pages every learner opens (the profile form, its people search) and the assessment pages, at size.

Builds the course of issue 12 with tests/scale/builder.py (default: 4,000 published pairs, 11,001 members), on
SQLite and on PostgreSQL in one run, launches an instructor and a learner into it through the sandbox LMS, then
requests each page once cold and `--repeat` times warm, and prints the median warm server time (the WSGI call,
timed inside the served tool), the SQL statements of one warm request and the HTML bytes, against the budget:
≤ 300 ms, ≤ 50 statements, ≤ 300 KB. The open round is graded; after the pages, the instructor resyncs it with
the gradebook and changes its grade rule once each (every mentee's score queued), against ≤ 5 s (the issue's bound
for an instructor's bulk action) and ≤ 50 statements.

Usage: .venv/bin/python benchmarks/learner_pages.py [--pairs 4000] [--repeat 3] [--databases sqlite,postgresql]
       [--postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
Exits 1 when a page misses its budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from lti_tool.assessments.models import AssessmentRound  # noqa: E402
from lti_tool.courses.models import Course  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from tests.conftest import loopback_settings, tool_environment  # noqa: E402
from tests.databases import postgresql_schema  # noqa: E402
from tests.lti_browser import LtiBrowser  # noqa: E402
from tests.profiles.helpers import csrf_token  # noqa: E402
from tests.scale.builder import CourseSize, build_course  # noqa: E402
from tests.scale.queries import count_statements  # noqa: E402

BUDGET_MS, BUDGET_STATEMENTS, BUDGET_BYTES = 300.0, 50, 300_000
BUDGET_ACTION_MS = 5_000.0  # a bulk action on every mentee (10,000 scores queued at the size)


class TimedApp:
    """WSGI middleware: how long the tool took to answer the latest request (the body is rendered by then)."""

    def __init__(self, wsgi: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi = wsgi
        self.seconds = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        try:
            return self.wsgi(environ, start_response)
        finally:
            self.seconds = time.perf_counter() - started


@dataclass(frozen=True)
class Figure:
    page: str
    milliseconds: float
    statements: int
    size: int
    budget_ms: float = BUDGET_MS

    @property
    def met(self) -> bool:
        return (
            self.milliseconds <= self.budget_ms and self.statements <= BUDGET_STATEMENTS and self.size <= BUDGET_BYTES
        )


@contextmanager
def database(kind: str, postgresql_url: str, folder: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'tool.sqlite3'}"
        return
    with postgresql_schema(postgresql_url, "bench") as url:
        yield url


def measure(app: Flask, timer: TimedApp, browser: LtiBrowser, page: str, path: str, repeat: int) -> Figure:
    browser.get(path)  # cold: caches, the first compile of each statement
    times, size = [], 0
    with count_statements(app) as counted:
        response = browser.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    times.append(timer.seconds)
    for _ in range(repeat - 1):
        size = len(browser.get(path).content)
        times.append(timer.seconds)
    return Figure(page, statistics.median(times) * 1000, counted.total, size or len(response.content))


def act(app: Flask, timer: TimedApp, browser: LtiBrowser, action: str, path: str, data: dict[str, str]) -> Figure:
    """One POST (not repeated: it changes data), as the instructor's form sends it."""
    with count_statements(app) as counted:
        response = browser.http.post(f"{browser.tool_url}{path}", data=data)
    assert response.status_code == 303, (path, response.status_code, response.text[:500])
    return Figure(action, timer.seconds * 1000, counted.total, 0, BUDGET_ACTION_MS)


def run(kind: str, size: CourseSize, repeat: int, postgresql_url: str) -> list[Figure]:
    with (
        tempfile.TemporaryDirectory() as folder,
        database(kind, postgresql_url, Path(folder)) as url,
        tool_environment(loopback_settings(Path(folder) / "instance", url)) as env,
    ):
        app = env.app
        timer = TimedApp(app.wsgi_app)
        app.wsgi_app = timer  # type: ignore[method-assign]
        instructor, learner = (LtiBrowser(env.tool_url, env.sandbox.platform) for _ in range(2))
        instructor.launch("ment-101", "instructor")
        learner.launch("ment-101", "learner-01")
        started = time.perf_counter()
        with app.app_context():
            course = db.session.execute(sa.select(Course).where(Course.context_id == "ment-101")).scalar_one()
            built = build_course(course, size)
            open_round = db.session.execute(
                sa.select(AssessmentRound).where(
                    AssessmentRound.program_id == built.program_id, AssessmentRound.closed_at.is_(None)
                )
            ).scalar_one()
            open_round.graded, round_id = True, open_round.id  # the gradebook's column and filter on its page
            db.session.commit()
        print(f"{kind}: built {size.members:,} members in {time.perf_counter() - started:.0f} s", flush=True)
        base = f"/courses/{built.course_id}"
        round_page = f"{base}/assessments/manage/{round_id}"
        pages = [
            (learner, "profile form", f"{base}/me/profile"),
            (learner, "profile people search", f"{base}/me/profile/people?q=mentee01"),
            (instructor, "assessments manage", f"{base}/assessments/manage"),
            (instructor, "round page", round_page),
            (instructor, "round page, page 100", f"{round_page}?page=100"),
            (instructor, "round page, search + filter", f"{round_page}?q=okafor&show=no-self"),
        ]
        figures = [measure(app, timer, browser, page, path, repeat) for browser, page, path in pages]
        token = csrf_token(instructor.get(round_page))
        settings = {
            "csrf_token": token,
            "title": "Follow-up 1",
            "kind": "follow-up",
            "position": "1",
            "graded": "y",
        }
        figures += [
            act(
                app,
                timer,
                instructor,
                "gradebook resync",
                f"{round_page}/gradebook/resync",
                {"csrf_token": token},
            ),
            act(app, timer, instructor, "grade rule change", round_page, {**settings, "grade_rule": "completion"}),
        ]
        for browser in (instructor, learner):
            browser.close()
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=int, default=4_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgresql-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    options = parser.parse_args()
    size = CourseSize.for_pairs(options.pairs)
    results = {kind: run(kind, size, options.repeat, options.postgresql_url) for kind in options.databases.split(",")}
    print(f"\n{size.members:,} members, {size.pairs:,} pairs; budget ≤ {BUDGET_MS:.0f} ms, ≤ {BUDGET_STATEMENTS} "
          f"statements, ≤ {BUDGET_BYTES // 1000} KB; an action ≤ {BUDGET_ACTION_MS / 1000:.0f} s")  # fmt: skip
    print(f"{'page':<30} {'database':<11} {'ms':>8} {'SQL':>5} {'KB':>7}  budget")
    for kind, figures in results.items():
        for figure in figures:
            print(
                f"{figure.page:<30} {kind:<11} {figure.milliseconds:>8.1f} {figure.statements:>5} "
                f"{figure.size / 1000:>7.1f}  {'met' if figure.met else 'MISSED'}"
            )
    return 0 if all(figure.met for figures in results.values() for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
