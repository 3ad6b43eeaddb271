"""Pages and exports of a large course (issue 12): server time, SQL statements and bytes against the budget.

    .venv/bin/python benchmarks/pages.py [--pairs 4000] [--databases sqlite,postgresql] [--repeat 3]
                                         [--only health,exports]

For each database it serves the tool beside the sandbox LMS as the tests do, launches the instructor once (a real
signed launch), fills the course with `tests/scale/builder.py` (the issue's course by default: 11,001 members,
4,000 published pairs, ~20,000 sessions, ~73,000 ratings; `--pairs` scales it), then requests each page through
the Flask test client with the launch's session cookie: one warm-up, then `--repeat` timed requests (the median
is printed). Server time is in-process, the response read to its last byte as it streams; beside it the request's
CPU time in this process (the app's and SQLite's work, not PostgreSQL's server), which a loaded machine does not
stretch; statements are counted with a `before_cursor_execute` listener (tests/scale/queries.py). On PostgreSQL
the built tables are analysed first, as autovacuum does on a live database. Memory: this process's resident size
after the build (its garbage collected and handed back), after the last page and at its peak in between; what
the process holds before the pages is set aside from the garbage collector's full scans, as a web worker does
with what it builds at its start (`lti_tool.server.set_startup_objects_aside`). The load average is printed at
the start and the end. It measures program health and the four CSV exports; the other pages are measured by
`learner_pages.py`, `matching_workflow.py` and `roster.py` (benchmarks/README.md). `--only` measures some groups
of them (comma-separated: `health` for the health pages, `exports` for the CSV exports), the course built all
the same.

Budgets: a page ≤ 300 ms, ≤ 50 SQL statements, ≤ 300 KB of HTML; an export ≥ 50,000 rows/s and ≤ 50
statements (the query-count tests check that they do not grow with the course); the pages add under 50 MB to
the process at its peak (streamed: an export holds a batch of rows, not its rows). This process also holds the
sandbox LMS, the LRS and the builder's leftovers of each database, so its whole size is no worker's: a served
worker's is `worker_memory.py`'s (under 250 MB). Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import math
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from benchmarks.xapi_delivery import fresh_database  # noqa: E402
from lti_tool.courses.models import Course  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.health.services import PAGE_SIZE  # noqa: E402
from lti_tool.server import set_startup_objects_aside  # noqa: E402
from tests.conftest import loopback_settings, tool_environment  # noqa: E402
from tests.lti_browser import LtiBrowser  # noqa: E402
from tests.scale.builder import ISSUE, CourseSize, build_course  # noqa: E402
from tests.scale.queries import count_statements  # noqa: E402

PAGE_MS, PAGE_STATEMENTS, PAGE_BYTES = 300.0, 50, 300_000
GROWTH_MB = 50  # what the pages may add to the process: an export holds a batch of rows, never all of them
EXPORT_ROWS_PER_SECOND, EXPORT_STATEMENTS = 50_000, 50
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GROUPS = ("health", "exports")  # what `--only` chooses from: the health pages, the CSV exports


@dataclass(frozen=True)
class Measured:
    name: str
    milliseconds: float  # median server time, to the last byte
    first_byte_ms: float
    cpu_ms: float  # this process's CPU time for the request (median): what the machine's load does not stretch
    statements: int
    size: int  # bytes
    lines: int  # CSV rows (the header excluded); 0 for pages

    @property
    def export(self) -> bool:
        return self.name.endswith(".csv")

    def verdict(self) -> tuple[str, bool]:
        if self.export:
            rate = self.lines / (self.milliseconds / 1000) if self.milliseconds else float("inf")
            ok = rate >= EXPORT_ROWS_PER_SECOND and self.statements <= EXPORT_STATEMENTS
            return f"{rate:,.0f} rows/s (≥ {EXPORT_ROWS_PER_SECOND:,}), ≤ {EXPORT_STATEMENTS} statements", ok
        ok = self.milliseconds <= PAGE_MS and self.statements <= PAGE_STATEMENTS and self.size <= PAGE_BYTES
        return f"≤ {PAGE_MS:.0f} ms, ≤ {PAGE_STATEMENTS} statements, ≤ {PAGE_BYTES // 1000} KB", ok


def measure(app: Flask, client: FlaskClient, name: str, path: str, repeat: int) -> Measured:
    def once() -> tuple[float, float, float, int, int, int]:
        """Server time to the last byte and to the first, this thread's CPU time (the app's, and SQLite's; not
        PostgreSQL's server), statements, bytes and lines; the body is counted as it streams, never held."""
        with count_statements(app) as counted:
            started, cpu = time.perf_counter(), time.thread_time()
            response = client.get(path, buffered=False)
            assert response.status_code == 200, (path, response.status_code)
            first_byte, size, lines = 0.0, 0, 0
            for chunk in response.response:
                data = chunk if isinstance(chunk, bytes) else chunk.encode()
                first_byte = first_byte or time.perf_counter() - started
                size, lines = size + len(data), lines + data.count(b"\n")
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
            response.close()
        return elapsed * 1000, first_byte * 1000, cpu * 1000, counted.total, size, lines

    once()  # warm: templates compiled, statements cached, pages in the database's cache
    runs = [once() for _ in range(repeat)]
    return Measured(
        name=name,
        milliseconds=statistics.median(r[0] for r in runs),
        first_byte_ms=statistics.median(r[1] for r in runs),
        cpu_ms=statistics.median(r[2] for r in runs),
        statements=max(r[3] for r in runs),
        size=runs[-1][4],
        lines=runs[-1][5] - 1 if name.endswith(".csv") else 0,
    )


def memory_kb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (the peak since the last `reset_peak`) of this process, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def reset_peak() -> None:
    """Start measuring from here: the builder's garbage collected and handed back to the system (so that the
    resident size is what a worker holds), and the peak reset (Linux: writing 5 to clear_refs)."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    Path("/proc/self/clear_refs").write_text("5")


@dataclass(frozen=True)
class Memory:
    before_kb: int  # resident after the build, before the first page
    after_kb: int  # resident after the last page
    peak_kb: int  # the highest resident size while the pages ran

    def verdict(self) -> tuple[str, bool]:
        mb = 1024
        text = (
            f"resident {self.before_kb / mb:.0f} MB before the pages, {self.after_kb / mb:.0f} MB after "
            f"(+{(self.after_kb - self.before_kb) / mb:.0f} MB), peak {self.peak_kb / mb:.0f} MB "
            f"(+{(self.peak_kb - self.before_kb) / mb:.0f} MB)"
        )
        ok = self.peak_kb - self.before_kb <= GROWTH_MB * mb
        return f"{text}; budget: the pages add under {GROWTH_MB} MB (a served worker: worker_memory.py)", ok


def run_database(
    label: str, url: str | None, size: CourseSize, repeat: int, only: frozenset[str]
) -> tuple[list[Measured], Memory]:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        with (
            fresh_database(work, url) as (database_url, _),
            tool_environment(loopback_settings(work / "instance", database_url)) as env,
        ):
            browser = LtiBrowser(env.tool_url, env.sandbox.platform)
            browser.launch("ment-101", "instructor")
            app = env.app
            started = time.perf_counter()
            with app.app_context():
                course = db.session.execute(select(Course).where(Course.context_id == "ment-101")).scalar_one()
                built = build_course(course, size)
                if db.engine.dialect.name == "postgresql":
                    # A live database has its statistics (autovacuum analyses after bulk changes); the bulk build
                    # has just written every table, so the planner would otherwise guess from empty tables.
                    db.session.execute(text("ANALYZE"))
                    db.session.commit()
            build_seconds = time.perf_counter() - started
            say(f"{label}: built {size.pairs:,} pairs in a course of {size.members:,} members in {build_seconds:.1f} s")
            client = app.test_client()
            cookie = app.config["SESSION_COOKIE_NAME"]
            client.set_cookie(cookie, browser.http.cookies[cookie], domain="localhost")
            browser.close()
            base = f"/courses/{built.course_id}/program"
            last_page = math.ceil(size.pairs / PAGE_SIZE)
            groups = {
                "health": [
                    ("program health", f"{base}/health"),
                    (f"program health, page {last_page}", f"{base}/health?page={last_page}"),
                    ("program health, search", f"{base}/health?q=Mentee00042"),
                ],
                "exports": [(f"{name}.csv", f"{base}/exports/{name}.csv") for name in
                            ("sessions", "goals", "assessments", "survey-answers")],
            }  # fmt: skip
            targets = [target for group in GROUPS if group in only for target in groups[group]]
            reset_peak()
            set_startup_objects_aside()  # as a web worker does once its app is built: the build's objects too
            before = memory_kb("VmRSS")
            results = [measure(app, client, name, path, repeat) for name, path in targets]
            return results, Memory(before, memory_kb("VmRSS"), memory_kb("VmHWM"))


def say(message: str = "") -> None:
    print(message, flush=True)


def report(label: str, results: list[Measured], memory: Memory) -> bool:
    say(f"\n{label}")
    say(f"{'':34}{'server ms':>10}{'1st byte':>10}{'CPU ms':>8}{'SQL':>6}{'bytes':>11}{'rows':>9}  budget")
    all_ok = True
    for m in results:
        budget, ok = m.verdict()
        all_ok &= ok
        say(
            f"{m.name:34}{m.milliseconds:>10.0f}{m.first_byte_ms:>10.1f}{m.cpu_ms:>8.0f}{m.statements:>6}{m.size:>11,}"
            f"{m.lines or '':>9}  {'PASS' if ok else 'FAIL'} {budget}"
        )
    budget, ok = memory.verdict()
    say(f"{'memory of this process':34}{'PASS' if ok else 'FAIL'} {budget}")
    return all_ok and ok


def load() -> str:
    """The machine's load average: server times on a shared machine are only comparable at a similar load."""
    return " / ".join(f"{n:.1f}" for n in os.getloadavg()) + " (1 / 5 / 15 min)"


def describe(size: CourseSize) -> str:
    return f"{size.members:,} members ({size.mentors:,} mentors, {size.mentees:,} mentees), {size.pairs:,} pairs"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=ISSUE.pairs, help="published pairs (the course scales with it)")
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--postgresql-url", default=POSTGRES_URL, help="a fresh schema of it is used, then dropped")
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per page (after one warm-up)")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated groups to measure: {', '.join(GROUPS)}"
    )
    args = parser.parse_args(argv)
    if args.pairs < 1 or args.repeat < 1:
        parser.error("--pairs and --repeat must be at least 1")
    args.only = frozenset(group.strip() for group in args.only.split(","))
    if not args.only or not args.only <= set(GROUPS):
        parser.error(f"--only takes a comma-separated list of {', '.join(GROUPS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    size = ISSUE if args.pairs == ISSUE.pairs else CourseSize.for_pairs(args.pairs)
    say(f"Course: {describe(size)}; load average {load()}")
    ok = True
    for database in args.databases.split(","):
        url = None if database == "sqlite" else args.postgresql_url
        label = "SQLite" if database == "sqlite" else "PostgreSQL"
        results, memory = run_database(label, url, size, args.repeat, args.only)
        ok &= report(f"{label}, {size.pairs:,} pairs", results, memory)
    say(f"\nLoad average at the end {load()} on {os.cpu_count()} cores.")
    say("Every budget met." if ok else "Some budgets missed (FAIL above).")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
