"""Memory of served workers (issue 12): every staff and learner page of the issue's course, requested over HTTP
from `mentor-lti serve`, and each gunicorn worker's resident memory after each page, against 250 MB.

    PYTHONPATH=. .venv/bin/python benchmarks/worker_memory.py [--pairs 4000] [--repeat 3]
        [--databases sqlite,postgresql] [--postgresql-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each database: the tool is first served in this process beside the sandbox LMS, where an instructor and a
learner launch (real signed launches; their session cookies are kept), then tests/scale/builder.py fills the
course (the issue's: 11,001 members, 4,000 published pairs with their sessions, goals and ratings, 6,000 drafts
of the latest run). That server stops, and the same instance and database are served by `mentor-lti serve`
(gunicorn, 2 workers x 4 threads, as in production). Every page is then requested `--repeat` times, each on a
new connection so that both workers serve pages: program health (first page, last page, a search), a pair's
detail, the four CSV exports (read to the end), the matching review page (first page, a later page, a search),
assessments manage, a round's page, as the instructor; the home, the profile form and its people search, as the
learner. After each request, every worker's VmRSS (resident now) and VmHWM (its peak so far) are read from
/proc/<pid>/status; which worker served it comes from gunicorn's access log (pid=...). Budget: every worker's
resident memory and its peak under 250 MB after every page. Exit status 1 when it is missed.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from benchmarks.learner_pages import database  # noqa: E402
from lti_tool.assessments.models import AssessmentRound  # noqa: E402
from lti_tool.courses.models import Course  # noqa: E402
from lti_tool.devlrs import free_port  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.health.services import PAGE_SIZE as HEALTH_PAGE  # noqa: E402
from lti_tool.matching.workflow import PAGE_SIZE as REVIEW_PAGE  # noqa: E402
from tests.conftest import loopback_settings, tool_environment  # noqa: E402
from tests.lti_browser import LtiBrowser  # noqa: E402
from tests.processes import ToolProcess, child_pids, served_tool  # noqa: E402
from tests.scale.builder import CourseSize, build_course  # noqa: E402

WORKER_MB = 250
WORKERS, THREADS = 2, 4
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
_SERVED_BY = re.compile(r'"GET (\S+)" (\d{3}) .* pid=<?(\d+)')


@dataclass(frozen=True)
class Memory:
    rss_kb: int  # VmRSS: resident now
    hwm_kb: int  # VmHWM: the highest resident size since the worker started


@dataclass(frozen=True)
class Reading:
    """One request: the page, who served it, and every worker's memory right after."""

    page: str
    served_by: int
    seconds: float
    size: int
    workers: dict[int, Memory]

    @property
    def passed(self) -> bool:
        limit = WORKER_MB * 1024
        return all(m.rss_kb < limit and m.hwm_kb < limit for m in self.workers.values())


def memory(pid: int) -> Memory:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return Memory(int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0]))


@dataclass(frozen=True)
class ServedCourse:
    course_id: int
    relationship_id: int
    round_id: int
    instructor: dict[str, str]  # session cookies
    learner: dict[str, str]


def build(settings: dict[str, object], size: CourseSize) -> ServedCourse:
    """Launch an instructor and a learner into the course through the sandbox, then fill it in bulk."""
    with tool_environment(settings) as env:
        browsers = [LtiBrowser(env.tool_url, env.sandbox.platform) for _ in range(2)]
        browsers[0].launch("ment-101", "instructor")
        browsers[1].launch("ment-101", "learner-01")
        started = time.perf_counter()
        with env.app.app_context():
            course = db.session.execute(sa.select(Course).where(Course.context_id == "ment-101")).scalar_one()
            built = build_course(course, size)
            round_id = db.session.execute(
                sa.select(AssessmentRound.id)
                .where(AssessmentRound.program_id == built.program_id, AssessmentRound.closed_at.is_(None))
                .limit(1)
            ).scalar_one()
        say(f"  built {sum(built.counts.values()):,} rows in {time.perf_counter() - started:.0f} s")
        cookies = [{cookie.name: cookie.value for cookie in b.http.cookies.jar} for b in browsers]
        for b in browsers:
            b.close()
        return ServedCourse(built.course_id, built.relationship_ids[0], round_id, *cookies)


def pages(course: ServedCourse, size: CourseSize) -> list[tuple[str, str, dict[str, str]]]:
    """(name, path, cookies) of every page measured."""
    base = f"/courses/{course.course_id}"
    staff, learner = course.instructor, course.learner
    health_last = math.ceil(size.pairs / HEALTH_PAGE)
    review_later = max(1, math.ceil(size.drafts / REVIEW_PAGE) // 2)
    exports = [(f"{name}.csv", f"{base}/program/exports/{name}.csv", staff)
               for name in ("sessions", "goals", "assessments", "survey-answers")]  # fmt: skip
    return [
        ("program health", f"{base}/program/health", staff),
        (f"program health, page {health_last}", f"{base}/program/health?page={health_last}", staff),
        ("program health, search", f"{base}/program/health?q=Mentee00042", staff),
        ("pair detail (health)", f"{base}/program/pairs/{course.relationship_id}", staff),
        *exports,
        ("matching review", f"{base}/program/matching", staff),
        (f"matching review, page {review_later}", f"{base}/program/matching?page={review_later}", staff),
        ("matching review, search", f"{base}/program/matching?q=Mentee01234", staff),
        ("assessments manage", f"{base}/assessments/manage", staff),
        ("round page", f"{base}/assessments/manage/{course.round_id}", staff),
        ("learner home", f"{base}/me", learner),
        ("profile form", f"{base}/me/profile", learner),
        ("profile people search", f"{base}/me/profile/people?q=mentee01", learner),
    ]


def served_by(server: ToolProcess, path: str, seen: int) -> tuple[int, int]:
    """The worker pid of the first access-log line for `path` after the `seen` first lines, and the line count."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = server.output().splitlines()
        for number, line in enumerate(lines[seen:], seen + 1):
            found = _SERVED_BY.search(line)
            if found and found[1] == path.split("?")[0]:
                return int(found[3]), number
        time.sleep(0.02)
    raise LookupError(f"no access log line for {path}")


def run(kind: str, size: CourseSize, repeat: int, postgresql_url: str) -> tuple[dict[int, Memory], list[Reading]]:
    say(f"{kind}:")
    with tempfile.TemporaryDirectory() as folder, database(kind, postgresql_url, Path(folder)) as url:
        settings = {**loopback_settings(Path(folder) / "instance", url), "log_level": "WARNING"}
        course = build(settings, size)
        port = free_port()
        with served_tool(settings, port, Path(folder) / "serve.log", workers=WORKERS, threads=THREADS) as server:
            deadline = time.monotonic() + 30
            while len(workers := child_pids(server.pid)) < WORKERS and time.monotonic() < deadline:
                time.sleep(0.1)
            started = {pid: memory(pid) for pid in workers}
            seen = len(server.output().splitlines())
            readings = []
            for name, path, cookies in pages(course, size):
                for _ in range(repeat):
                    # A new connection each time (no keep-alive): gunicorn hands it to whichever worker accepts.
                    with httpx.Client(cookies=cookies, timeout=300, headers={"Connection": "close"}) as client:
                        began = time.perf_counter()
                        answer = client.get(f"http://127.0.0.1:{port}{path}")
                        seconds = time.perf_counter() - began
                    assert answer.status_code == 200, (path, answer.status_code, answer.text[:500])
                    pid, seen = served_by(server, path, seen)
                    reading = Reading(name, pid, seconds, len(answer.content), {p: memory(p) for p in workers})
                    readings.append(reading)
                    say(f"  {line(reading, workers)}")
            return started, readings


def line(reading: Reading, workers: list[int]) -> str:
    memories = "  ".join(
        f"{'*' if pid == reading.served_by else ' '}{pid}: {reading.workers[pid].rss_kb / 1024:5.0f} / "
        f"{reading.workers[pid].hwm_kb / 1024:5.0f} MB"
        for pid in workers
    )
    return (
        f"{reading.page:<32} {reading.seconds * 1000:7.0f} ms {reading.size / 1024:8.0f} KB   {memories}   "
        f"{'PASS' if reading.passed else 'FAIL'}"
    )


def say(message: str = "") -> None:
    print(message, flush=True)


def load() -> str:
    return " / ".join(f"{n:.1f}" for n in os.getloadavg()) + " (1 / 5 / 15 min)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pairs", type=int, default=4_000, help="published pairs (the course scales with it)")
    parser.add_argument("--repeat", type=int, default=3, help="requests per page, each on a new connection")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgresql-url", default=POSTGRES_URL, help="a fresh schema of it is used, then dropped")
    options = parser.parse_args()
    scaled = CourseSize.for_pairs(options.pairs)
    size = replace(scaled, drafts=scaled.waiting)
    say(f"{size.members:,} members, {size.pairs:,} pairs, {size.drafts:,} drafts; load average {load()}")
    say("Each line: the page, its time and size, then each worker's VmRSS / VmHWM after it (* served it).")
    passed = True
    summary = []
    for kind in options.databases.split(","):
        started, readings = run(kind, size, options.repeat, options.postgresql_url)
        passed &= all(r.passed for r in readings)
        for pid, first in started.items():
            mine = [r.workers[pid] for r in readings]
            served = sum(1 for r in readings if r.served_by == pid)
            summary.append(
                f"  {kind:<11} worker {pid}: {first.rss_kb / 1024:.0f} MB when started, served {served} requests, "
                f"at most {max(m.rss_kb for m in mine) / 1024:.0f} MB resident after a page, "
                f"peak {mine[-1].hwm_kb / 1024:.0f} MB"
            )
    say(f"\nBudget: every worker under {WORKER_MB} MB (resident after each page, and its peak).")
    for text in summary:
        say(text)
    say(f"Load average at the end {load()}.")
    say("Every budget met." if passed else "Budget missed (FAIL above).")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
