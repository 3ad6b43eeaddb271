"""Matching workflow benchmark at the size of issue 12: the review page, its searches, a run of matching and a
publish of 6,000 drafts on an 11,001-member course, on SQLite and PostgreSQL in one run, against the budgets.

    PYTHONPATH=. .venv/bin/python benchmarks/matching_workflow.py [--drafts 6000]
        [--postgresql postgresql+psycopg://postgres@127.0.0.1:5432/test] [--skip-postgresql]

The course is built by tests/scale/builder.py (bulk inserts shaped like the real workflow): 1,000 mentors of
capacity 10, 4,000 published pairs with their sessions, goals and assessments, 6,000 late joiners waiting, each
with a draft from the latest run. The tool is served on loopback beside the sandbox LMS as in the tests, and the
instructor really launches. Each page is requested twice and the second (warm) answer is reported; a run and a
publish change the data, so they are requested once: first a run (6,000 waiting, 4,000 published kept), then the
publish of the 6,000 drafts it proposed. Time is the request's wall time on loopback; the run's budget excludes
the matching engine's own time (`engine.match`, timed separately). PostgreSQL gets a fresh schema, dropped after.
The exit status is 1 when a budget is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.matching import engine
from lti_tool.programs.models import Match, MatchStatus
from tests.conftest import loopback_settings, tool_environment
from tests.databases import postgresql_schema
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import CSRF
from tests.scale.builder import ISSUE, build_course
from tests.scale.queries import count_statements

PAGE_SECONDS, PAGE_STATEMENTS, PAGE_BYTES = 0.3, 50, 300 * 1024
ACTION_SECONDS = 5.0  # besides the engine's own time


@dataclass
class Figure:
    name: str
    seconds: float
    statements: int
    size: int
    engine_seconds: float = 0.0
    page: bool = True

    @property
    def passed(self) -> bool:
        if not self.page:
            return self.seconds - self.engine_seconds <= ACTION_SECONDS
        return self.seconds <= PAGE_SECONDS and self.statements <= PAGE_STATEMENTS and self.size <= PAGE_BYTES

    def line(self) -> str:
        budget = (
            f"≤ {ACTION_SECONDS:.0f} s besides the engine ({self.engine_seconds:.2f} s)"
            if not self.page
            else f"≤ {PAGE_SECONDS * 1000:.0f} ms, ≤ {PAGE_STATEMENTS} statements, ≤ {PAGE_BYTES // 1024} KB"
        )
        size = f"{self.size / 1024:8.1f} KB" if self.page else " " * 11
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"  {self.name:<34} {self.seconds * 1000:9.0f} ms {self.statements:7d} stmts {size}   {budget}  {verdict}"
        )


class EngineClock:
    """Times `engine.match` (the workflow calls it through the package) to tell the engine's time from ours."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._match = engine.match

    def __enter__(self) -> EngineClock:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return self._match(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        engine.match = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        engine.match = self._match  # type: ignore[assignment]


@contextmanager
def database(kind: str, postgresql: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/tool.sqlite3"
        return
    with postgresql_schema(postgresql, "bench") as url:
        yield url


def measure(kind: str, url: str, drafts: int) -> list[Figure]:
    with tempfile.TemporaryDirectory() as instance, tool_environment(loopback_settings(Path(instance), url)) as env:
        browser = LtiBrowser(env.tool_url, env.sandbox.platform)
        browser.launch("ment-101", "instructor")
        app = env.app
        started = time.perf_counter()
        with app.app_context():
            course = db.session.execute(sa.select(Course).where(Course.context_id == "ment-101")).scalar_one()
            built = build_course(course, replace(ISSUE, drafts=drafts))
            draft_id = db.session.execute(
                sa.select(Match.id)
                .where(Match.program_id == built.program_id, Match.status == MatchStatus.DRAFT.value)
                .order_by(Match.id)
                .limit(1)
            ).scalar_one()
        print(f"{kind}: built {sum(built.counts.values()):,} rows in {time.perf_counter() - started:.0f} s")
        base = f"/courses/{built.course_id}/program/matching"
        figures: list[Figure] = []

        def timed(name: str, request: Callable[[], httpx.Response], *, page: bool = True) -> None:
            if page:
                request()  # warm
            with count_statements(app) as counted, EngineClock() as clock:
                started = time.perf_counter()
                response = request()
                seconds = time.perf_counter() - started
            assert response.status_code in (200, 303), f"{name}: {response.status_code} {response.text[:500]}"
            figures.append(Figure(name, seconds, counted.total, len(response.content), clock.seconds, page))

        json = {"Accept": "application/json"}
        timed("review page", lambda: browser.get(base))
        timed("review page 60 of drafts", lambda: browser.get(f"{base}?page=60"))
        timed("review search by name", lambda: browser.get(f"{base}?q=Mentee01234"))
        timed("mentor search page (no JS)", lambda: browser.get(f"{base}/{draft_id}/mentors?q=mentor00"))
        timed(
            "mentor search (JSON)",
            lambda: browser.http.get(f"{env.tool_url}{base}/{draft_id}/mentors", params={"q": "Okafor"}, headers=json),
        )
        timed("manual match search", lambda: browser.get(f"{base}/manual?mentor_q=mentor&mentee_q=Mentee0999"))
        token = CSRF.search(browser.get(base).text)
        assert token
        post = {"csrf_token": token.group(1)}
        timed(
            f"run matching ({drafts:,} waiting)",
            lambda: browser.http.post(f"{env.tool_url}{base}/run", data=post),
            page=False,
        )
        timed(
            f"publish {drafts:,} drafts",
            lambda: browser.http.post(f"{env.tool_url}{base}/publish", data=post),
            page=False,
        )
        timed("review page after publishing", lambda: browser.get(base))
        browser.close()
        return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=ISSUE.waiting)
    parser.add_argument("--postgresql", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgresql", action="store_true")
    args = parser.parse_args()
    kinds = ["sqlite"] + ([] if args.skip_postgresql else ["postgresql"])
    results: dict[str, list[Figure]] = {}
    for kind in kinds:
        with database(kind, args.postgresql) as url:
            results[kind] = measure(kind, url, args.drafts)
    for kind, figures in results.items():
        print(f"\n{kind}")
        for figure in figures:
            print(figure.line())
    return 0 if all(f.passed for figures in results.values() for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
