"""xAPI delivery benchmark: our outbox delivery against a direct-POST ceiling, and event-to-LRS latency.

Runs against real Ralph LRS processes (fs backend, see lti_tool/devlrs.py) and a real tool database:

1. builds N distinct, valid statements once with the pure builders and serialises them once;
2. ceiling: POSTs those exact bytes straight to a fresh Ralph with one keep-alive httpx client;
3. ours: bulk-inserts the same bytes into a fresh outbox, then runs `deliver_due` batch after batch into
   another fresh Ralph until the outbox is empty (claim + POST + settle, end to end). Steps 2 and 3 run
   interleaved batch by batch (`--sequential`: one after the other), so both stores grow in step and load
   from other processes hits both alike; each side is timed only while it runs. Our time is also split by
   phase (thin timing wrappers around the delivery functions: microseconds per batch);
4. latency: a real `python -m lti_tool xapi worker` subprocess runs while events are emitted one by one,
   each in its own committed transaction; the latency of an event is from its commit to the `delivered_at`
   the worker records when the LRS acknowledged the POST (verified afterwards: every one is readable).

Usage: .venv/bin/python benchmarks/xapi_delivery.py [--statements 20000] [--batch-size 100] [--database-url URL]
Exits 1 when a target is missed or a statement was lost or refused.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from lti_tool import create_app  # noqa: E402
from lti_tool.database import upgrade_database  # noqa: E402
from lti_tool.devlrs import RalphLrs, run_ralph  # noqa: E402
from lti_tool.extensions import db, utcnow  # noqa: E402
from lti_tool.runtime import runtime  # noqa: E402
from lti_tool.statements import delivery  # noqa: E402
from lti_tool.statements import outbox as outbox_module  # noqa: E402
from lti_tool.statements.models import OutboxState, StatementOutbox  # noqa: E402
from tests.databases import postgresql_schema  # noqa: E402
from xapi import builders  # noqa: E402
from xapi.client import XAPI_VERSION, LrsClient  # noqa: E402
from xapi.events import ActorIdentity, Course, Enrolment, LaunchInfo, Program, StatementContext  # noqa: E402
from xapi.models import Statement  # noqa: E402

THROUGHPUT_TARGET = 0.90  # ours / ceiling
LATENCY_P95_TARGET = 2.0  # seconds, event commit -> LRS acknowledged
ISSUER = "https://lms.bench.example.edu"
TOOL_BASE = "https://mentor.bench.example.edu"


# --- Output ------------------------------------------------------------------------------------------


class Progress:
    """One progress line: rewritten in place on a terminal, a line every 10 % (and at most every 5 s) otherwise."""

    def __init__(self, label: str, total: int, stream: TextIO = sys.stderr) -> None:
        self.label, self.total, self.stream = label, max(total, 1), stream
        self.done = 0
        self.start = time.perf_counter()
        self.tty = stream.isatty()
        self._last_print = 0.0
        self._last_decile = -1

    def update(self, done: int, extra: str = "") -> None:
        self.done = done
        now = time.perf_counter()
        decile = done * 10 // self.total
        if self.tty:
            if now - self._last_print < 0.2 and done < self.total:
                return
        elif decile == self._last_decile and now - self._last_print < 5.0 and done < self.total:
            return
        self._last_print, self._last_decile = now, decile
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        line = f"  {self.label}: {done:,}/{self.total:,} ({100 * done / self.total:5.1f} %) {rate:,.0f}/s {extra}"
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
        else:
            self.stream.write(line.rstrip() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def say(message: str = "") -> None:
    print(message, flush=True)


# --- Statements --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Population:
    """A few courses, programs and people, so statements vary like real ones (actors, registrations, IRIs)."""

    contexts: list[StatementContext]
    people: list[ActorIdentity]
    mentors: list[ActorIdentity]
    enrolments: list[Enrolment]

    @classmethod
    def make(cls, courses: int = 12, people: int = 400) -> Population:
        contexts = []
        for c in range(courses):
            launch = LaunchInfo(
                issuer=ISSUER,
                deployment_id=f"1:deployment-{c % 3}",
                context_id=f"course-{c}",
                resource_link_id=f"link-{c}",
                roles=("http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",),
                platform="Canvas" if c % 2 else "Moodle",
                locale="en_US",
            )
            course = Course(ref=builders.opaque_ref(ISSUER, f"course-{c}"), title=f"Course {c}")
            contexts.append(StatementContext(tool_base=TOOL_BASE, launch=launch, course=course))
        persons = [ActorIdentity(issuer=ISSUER, sub=f"user-{uuid.uuid5(UUID(int=1), str(p))}") for p in range(people)]
        mentors = persons[: people // 10]
        enrolments = [
            Enrolment(program=Program(ref=f"program-{p % 8}", title=f"Program {p % 8}"), registration=uuid.uuid4())
            for p in range(people)
        ]
        return cls(contexts, persons, mentors, enrolments)

    def statement(self, key: str, n: int, timestamp: datetime) -> Statement:
        """Statement number `n` (a mix of four event kinds), with the stable id of event `key`."""
        ctx = self.contexts[n % len(self.contexts)]
        person = n % len(self.people)
        actor, enrolment = self.people[person], self.enrolments[person]
        ids: dict[str, Any] = {"statement_id": builders.event_statement_id(key), "timestamp": timestamp}
        kind = n % 4
        if kind == 0:
            return builders.build_lti_launch(ctx, actor=actor, enrolment=enrolment, **ids)
        if kind == 1:
            return builders.build_goal_set(ctx, enrolment, actor=actor, goal_ref=f"goal-{n}", skill="listening", **ids)
        if kind == 2:
            return builders.build_goal_completed(ctx, enrolment, actor=actor, goal_ref=f"goal-{n - 1}", **ids)
        return builders.build_mentoring_session_logged(
            ctx,
            enrolment,
            participant=actor,
            mentor=self.mentors[n % len(self.mentors)],
            mentoring_session_ref=f"session-{n}",
            duration="PT45M",
            **ids,
        )


@dataclass(frozen=True)
class Prepared:
    statement_id: str
    event: str
    body: bytes


def build_statements(population: Population, count: int, run_tag: str) -> list[Prepared]:
    progress = Progress("building statements", count)
    start = utcnow() - timedelta(hours=1)  # in the past, never in the future
    kinds = ("lti-launch", "goal-set", "goal-completed", "mentoring-session-logged")
    prepared = []
    for n in range(count):
        statement = population.statement(f"bench:{run_tag}:{n}", n, start + timedelta(milliseconds=n))
        prepared.append(Prepared(str(statement.id), kinds[n % 4], statement.to_json_bytes()))
        if n % 500 == 0:
            progress.update(n)
    progress.update(count)
    progress.finish()
    if len({p.statement_id for p in prepared}) != count:
        raise SystemExit("statement ids are not distinct")
    return prepared


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_statement_count(lrs: RalphLrs) -> int:
    """Statements in Ralph's fs store (one JSON line each), counted on disk: no query load on the LRS."""
    count = 0
    for path in (lrs.data_dir / "statements").iterdir():
        if path.is_file() and path.name != "history.json":
            with path.open("rb") as file:
                count += sum(1 for line in file if line.strip())
    return count


# --- Throughput: ceiling and ours ------------------------------------------------------------------


@dataclass
class ThroughputResult:
    seconds: float
    statements: int
    stored: int = 0

    @property
    def rate(self) -> float:
        return self.statements / self.seconds if self.seconds > 0 else 0.0


class PhaseTimer:
    """Wall time spent inside chosen functions of the delivery path (wrapped in place, restored after)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._restore: list[tuple[Any, str, Any]] = []
        self.labels: list[str] = []  # in the order wrapped

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start
                self.calls[label] += 1

        self._restore.append((owner, name, original))
        self.labels.append(label)
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, original in reversed(self._restore):
            setattr(owner, name, original)
        self._restore.clear()


def bench_app(work: Path, database_url: str, lrs: RalphLrs | None) -> Flask:
    overrides: dict[str, Any] = {
        "instance_path": work / "instance",
        "database_url": database_url,
        "secret_key": "benchmark-secret-key",
        "log_level": "WARNING",
    }
    if lrs is not None:
        overrides.update(lrs_endpoint=lrs.endpoint, lrs_username=lrs.username, lrs_password=lrs.password)
    return create_app(overrides)


def insert_outbox(prepared: list[Prepared]) -> float:
    """The statements as pending outbox rows (what emit() writes), inserted in bulk; answers the seconds taken."""
    progress = Progress("outbox insert", len(prepared))
    start = time.perf_counter()
    now = utcnow()
    done = 0
    for chunk in batches(prepared, 2000):
        db.session.execute(
            sa.insert(StatementOutbox),
            [
                {
                    "statement_id": p.statement_id,
                    "event": p.event,
                    "body": p.body.decode(),
                    "platform_id": None,
                    "course_id": None,
                    "state": OutboxState.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for p in chunk
            ],
        )
        done += len(chunk)
        progress.update(done)
    db.session.commit()
    progress.finish()
    return time.perf_counter() - start


class CeilingRunner:
    """The ceiling: the prepared bytes POSTed batch by batch with one keep-alive httpx client, nothing else."""

    def __init__(self, lrs: RalphLrs, prepared: list[Prepared], batch_size: int) -> None:
        self.lrs = lrs
        self.url = lrs.endpoint + "/statements"
        self.pending = [b"[" + b",".join(p.body for p in batch) + b"]" for batch in batches(prepared, batch_size)]
        self.sizes = [len(batch) for batch in batches(prepared, batch_size)]
        self.client = httpx.Client(
            auth=httpx.BasicAuth(lrs.username, lrs.password),
            headers={"X-Experience-API-Version": XAPI_VERSION, "Content-Type": "application/json"},
            timeout=300.0,
        )
        self.next = 0
        self.seconds = 0.0
        self.accepted = 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.pending)

    def step(self) -> None:
        body, expected = self.pending[self.next], self.sizes[self.next]
        start = time.perf_counter()
        response = self.client.post(self.url, content=body)
        self.seconds += time.perf_counter() - start
        if response.status_code != 200 or len(response.json()) != expected:
            raise SystemExit(f"ceiling: Ralph answered {response.status_code}: {response.text[:500]}")
        self.accepted += expected
        self.next += 1

    def close(self) -> None:
        self.client.close()


class OursRunner:
    """Ours: one `deliver_due` round per step (claim, POST, settle), timed end to end, with one delivery session
    across rounds as the worker keeps it (its keep-alive LRS client)."""

    def __init__(self, batch_size: int) -> None:
        self.settings = runtime().settings
        self.session = delivery.DeliverySession(self.settings)
        self.batch_size = batch_size
        self.done = False
        self.seconds = 0.0
        self.delivered = self.dead = self.other = 0

    def step(self) -> None:
        start = time.perf_counter()
        report = delivery.deliver_due(self.settings, batch_size=self.batch_size, session=self.session)
        self.seconds += time.perf_counter() - start
        if report.errors:
            raise SystemExit(f"ours: delivery errors: {report.errors[:3]}")
        self.delivered += report.delivered
        self.dead += report.dead
        self.other += report.retrying + report.waiting
        self.done = not report.claimed
        db.session.remove()  # as run_worker does between rounds

    def close(self) -> None:
        self.session.close()


def run_throughput(
    work: Path, database_url: str, prepared: list[Prepared], batch_size: int, *, interleave: bool
) -> tuple[ThroughputResult, ThroughputResult, PhaseTimer, float]:
    """Answers (ceiling, ours, our phase timings, outbox insert seconds)."""
    with run_ralph(work / "ralph-ceiling") as ceiling_lrs, run_ralph(work / "ralph-ours") as ours_lrs:
        app = bench_app(work, database_url, ours_lrs)
        with app.app_context():
            logging.disable(logging.INFO)  # Alembic's migration log lines
            upgrade_database()
            logging.disable(logging.NOTSET)
            existing = db.session.execute(sa.select(sa.func.count(StatementOutbox.id))).scalar_one()
            if existing:
                raise SystemExit(f"the database is not fresh: its outbox holds {existing} rows")
            insert_seconds = insert_outbox(prepared)
            ceiling, ours = CeilingRunner(ceiling_lrs, prepared, batch_size), OursRunner(batch_size)
            timer = PhaseTimer()
            timer.wrap(delivery, "_claim", "claim (UPDATE ... RETURNING)")
            timer.wrap(delivery, "lrs_targets", "LRS lookup")
            timer.wrap(outbox_module.LrsTarget, "client", "LrsClient() creation")
            timer.wrap(LrsClient, "post_batch", "post_batch total")
            timer.wrap(LrsClient, "_send", "  of which HTTP request/response")
            # The session settles a batch while the next POST is in flight (else in the next, empty round).
            timer.wrap(delivery, "_settle", "  meanwhile: settle the previous batch")
            timer.wrap(LrsClient, "close", "LrsClient.close()")
            timer.wrap(delivery, "_record_status", "record LRS status (upsert + commit)")
            timer.wrap(delivery, "deliver_due", "deliver_due total")
            progress = Progress("delivered (ceiling | ours)", 2 * len(prepared))
            try:
                rounds = 0
                while not (ceiling.done and ours.done):
                    if interleave:
                        # Batch by batch, alternating who goes first: both stores grow in step, and load from
                        # other processes on the machine hits both runs alike.
                        runners = (ceiling, ours) if rounds % 2 == 0 else (ours, ceiling)
                    else:
                        runners = (ceiling,) if not ceiling.done else (ours,)
                    for runner in runners:
                        if not runner.done:
                            runner.step()
                    rounds += 1
                    progress.update(
                        ceiling.accepted + ours.delivered,
                        f"[{ceiling.accepted:,} | {ours.delivered:,}; {ceiling.seconds:.1f} s | {ours.seconds:.1f} s]",
                    )
            finally:
                timer.restore()
                ceiling.close()
                ours.close()
            progress.finish()
            counts = outbox_module.state_counts()
            db.session.remove()
            db.engine.dispose()
        ceiling_result = ThroughputResult(ceiling.seconds, ceiling.accepted, stored_statement_count(ceiling_lrs))
        ours_result = ThroughputResult(ours.seconds, ours.delivered, stored_statement_count(ours_lrs))
    n = len(prepared)
    if ceiling_result.statements != n or ceiling_result.stored != n:
        raise SystemExit(f"ceiling: {ceiling_result.statements} ids answered, {ceiling_result.stored} stored of {n}")
    if ours.delivered != n or ours.dead or ours.other or counts[OutboxState.DELIVERED.value] != n:
        raise SystemExit(f"ours: delivered {ours.delivered}, dead {ours.dead}, other {ours.other}, outbox {counts}")
    if ours_result.stored != n:
        raise SystemExit(f"ours: Ralph stored {ours_result.stored} of {n} statements")
    return ceiling_result, ours_result, timer, insert_seconds


# --- Latency -----------------------------------------------------------------------------------------


@dataclass
class LatencyResult:
    latencies: list[float]
    emit_seconds: list[float]
    events: int
    readable: int
    worker_batches: int

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def worker_environment(work: Path, database_url: str, lrs: RalphLrs) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MENTOR_LTI_", "FLASK_"))}
    env.update(
        {
            "MENTOR_LTI_INSTANCE_PATH": str(work / "instance"),
            "MENTOR_LTI_DATABASE_URL": database_url,
            "MENTOR_LTI_SECRET_KEY": "benchmark-secret-key",
            "MENTOR_LTI_LOG_LEVEL": "WARNING",
            "MENTOR_LTI_LRS_ENDPOINT": lrs.endpoint,
            "MENTOR_LTI_LRS_USERNAME": lrs.username,
            "MENTOR_LTI_LRS_PASSWORD": lrs.password,
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def emit_event(population: Population, key: str, n: int) -> tuple[str, float]:
    """What a request does: build the statement, write it to the outbox, commit. Answers (id, commit time)."""
    statement = population.statement(key, n, utcnow())
    outbox_module.emit(statement, event="benchmark", platform_id=None, course_id=None)
    db.session.commit()
    committed = time.time()
    db.session.remove()
    return str(statement.id), committed


def delivered_at(statement_ids: list[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for chunk in batches(statement_ids, 500):
        rows = db.session.execute(
            sa.select(StatementOutbox.statement_id, StatementOutbox.delivered_at).where(
                StatementOutbox.statement_id.in_(chunk), StatementOutbox.delivered_at.is_not(None)
            )
        ).all()
        found.update({sid: when for sid, when in rows})
    db.session.remove()
    return found


def wait_delivered(statement_ids: list[str], timeout: float) -> dict[str, datetime]:
    deadline = time.monotonic() + timeout
    while True:
        found = delivered_at(statement_ids)
        if len(found) == len(statement_ids) or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def run_latency(
    work: Path, database_url: str, population: Population, batch_size: int, rate: float, duration: float, run_tag: str
) -> LatencyResult:
    with run_ralph(work / "ralph-latency") as lrs:
        app = bench_app(work, database_url, None)
        log_path = work / "worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
                [sys.executable, "-m", "lti_tool", "xapi", "worker", "--batch-size", str(batch_size)],
                cwd=ROOT,
                env=worker_environment(work, database_url, lrs),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                with app.app_context():
                    # The worker is already running when real events happen: wait until it delivered one.
                    warm_id, _ = emit_event(population, f"bench:{run_tag}:warm-up", 0)
                    if not wait_delivered([warm_id], timeout=60.0):
                        raise SystemExit(f"latency: the worker delivered nothing in 60 s:\n{log_path.read_text()}")
                    total = max(1, round(rate * duration))
                    progress = Progress(f"latency events at {rate:g}/s", total)
                    committed: dict[str, float] = {}
                    emit_seconds = []
                    start = time.monotonic()
                    for n in range(total):
                        delay = start + n / rate - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        began = time.perf_counter()
                        statement_id, at = emit_event(population, f"bench:{run_tag}:event:{n}", n + 1)
                        emit_seconds.append(time.perf_counter() - began)
                        committed[statement_id] = at
                        progress.update(n + 1)
                    progress.finish()
                    found = wait_delivered(list(committed), timeout=60.0)
            finally:
                worker.terminate()
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
        worker_log = log_path.read_text(encoding="utf-8", errors="replace")
        if worker.returncode not in (0, -15):
            raise SystemExit(f"latency: the worker exited with {worker.returncode}:\n{worker_log[-4000:]}")
        latencies = [found[sid].timestamp() - at for sid, at in committed.items() if sid in found]
        latencies += [float("inf")] * (len(committed) - len(found))
        # Honest check that "acknowledged" means stored: read each one back from the LRS.
        with LrsClient(lrs.endpoint, lrs.username, lrs.password, timeout=30.0) as client:
            readable = sum(1 for sid in committed if client.get_statement(sid) is not None)
    batches_logged = sum(1 for line in worker_log.splitlines() if " delivered, " in line)
    return LatencyResult(latencies, emit_seconds, len(committed), readable, batches_logged)


# --- Databases ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(work: Path, url: str | None) -> Iterator[tuple[str, str]]:
    """A fresh tool database: a SQLite file in `work`, or a new schema of the given PostgreSQL (dropped after)."""
    if not url:
        yield f"sqlite:///{work / 'tool.sqlite3'}", "SQLite file (temporary)"
        return
    if not url.startswith("postgresql"):
        yield url, "as given (must be empty)"
        return
    with postgresql_schema(url, "bench") as fresh:
        yield fresh, f"PostgreSQL, fresh schema {fresh.rsplit('%3D', 1)[1]}"


# --- Report ------------------------------------------------------------------------------------------


def print_breakdown(timer: PhaseTimer, ours: ThroughputResult, ceiling: ThroughputResult, batches_sent: int) -> None:
    rounds = timer.calls.get("deliver_due total", 0)
    total = timer.seconds.get("deliver_due total", 0.0)
    say(f"\n  Where our delivery time went ({rounds} deliver_due rounds, {total:.2f} s):")
    say(f"    {'':<40} {'total':>9}  {'share':>6}  {'per call':>9}  {'calls':>6}")
    accounted = 0.0
    for label in timer.labels:
        if label == "deliver_due total":
            continue
        seconds, calls = timer.seconds.get(label, 0.0), timer.calls.get(label, 0)
        if not label.startswith(" "):
            accounted += seconds
        share = 100 * seconds / total if total else 0.0
        per_call = 1000 * seconds / calls if calls else 0.0
        say(f"    {label:<40} {seconds:7.2f} s  {share:5.1f} %  {per_call:6.1f} ms  {calls:>6}")
    other = total - accounted
    share = 100 * other / total if total else 0.0
    say(f"    {'other (paused query, commit, grouping)':<40} {other:7.2f} s  {share:5.1f} %")
    http = timer.seconds.get("  of which HTTP request/response", 0.0)
    say(
        f"  Per batch: ceiling {1000 * ceiling.seconds / batches_sent:.1f} ms (HTTP only); ours "
        f"{1000 * ours.seconds / batches_sent:.1f} ms, of which HTTP {1000 * http / batches_sent:.1f} ms and "
        f"{1000 * (ours.seconds - http) / batches_sent:.1f} ms our own work."
    )


def status(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--statements", type=int, default=20_000, help="statements for the throughput runs")
    parser.add_argument("--batch-size", type=int, default=100, help="statements per POST (1-1000)")
    parser.add_argument("--database-url", default=None, help="tool database; PostgreSQL gets a fresh schema")
    parser.add_argument("--latency-rate", type=float, default=20.0, help="events per second in the latency run")
    parser.add_argument("--latency-seconds", type=float, default=15.0, help="how long to emit events")
    parser.add_argument("--skip-latency", action="store_true", help="throughput only")
    parser.add_argument(
        "--sequential", action="store_true", help="run the whole ceiling, then ours (default: interleave batches)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.batch_size <= 1000:
        parser.error("--batch-size must be 1-1000 (the tool's xapi_batch_size range)")
    if args.statements < 1 or args.latency_rate <= 0 or args.latency_seconds <= 0:
        parser.error("--statements, --latency-rate and --latency-seconds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    run_tag = uuid.uuid4().hex[:8]
    say(f"xAPI delivery benchmark: {args.statements:,} statements, batches of {args.batch_size}, run {run_tag}")
    say(
        "Note: Ralph's fs backend rescans its whole store on every POST, so its throughput falls as the store\n"
        "grows. The ceiling and ours post the same statements in the same batches to equally fresh Ralph stores,\n"
        "so both face the same growth: absolute statements/s depend on N and on this machine; the ratio is the figure."
    )
    load = os.getloadavg()
    say(f"Load average at the start (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    population = Population.make()

    with tempfile.TemporaryDirectory(prefix="xapi-bench-") as tmp:
        work = Path(tmp)
        say("\n[1/4] Building statements (pure builders, serialised once)")
        t = time.perf_counter()
        prepared = build_statements(population, args.statements, run_tag)
        average = sum(len(p.body) for p in prepared) / len(prepared)
        say(f"  {len(prepared):,} statements, {average:,.0f} bytes each on average, in {time.perf_counter() - t:.1f} s")

        mode = "interleaved batch by batch" if not args.sequential else "one after the other"
        with fresh_database(work, args.database_url) as (database_url, database_label):
            say(
                f"\n[2-3/4] Throughput, ceiling and ours {mode}, each into its own fresh Ralph:\n"
                "  ceiling = the same bytes POSTed straight to Ralph with one keep-alive httpx client;\n"
                f"  ours = outbox rows -> deliver_due loop (claim + POST + settle); database: {database_label}"
            )
            ceiling, ours, timer, insert_seconds = run_throughput(
                work, database_url, prepared, args.batch_size, interleave=not args.sequential
            )
            say(f"  outbox insert of {len(prepared):,} rows (excluded from the figure): {insert_seconds:.2f} s")
            say(f"  ceiling: {ceiling.statements:,} statements in {ceiling.seconds:.2f} s: {ceiling.rate:,.0f}/s")
            say(f"  ours:    {ours.statements:,} statements in {ours.seconds:.2f} s: {ours.rate:,.0f}/s")
            print_breakdown(timer, ours, ceiling, -(-len(prepared) // args.batch_size))

            latency: LatencyResult | None = None
            if not args.skip_latency:
                say(
                    f"\n[4/4] Latency: `python -m lti_tool xapi worker` subprocess, events emitted one per transaction "
                    f"at {args.latency_rate:g}/s for {args.latency_seconds:g} s into a fresh Ralph\n"
                    f"  (same database, so the outbox already holds the {len(prepared):,} delivered rows above)"
                )
                latency = run_latency(
                    work,
                    database_url,
                    population,
                    args.batch_size,
                    args.latency_rate,
                    args.latency_seconds,
                    run_tag,
                )
                say(
                    f"  {latency.events} events; worker logged {latency.worker_batches} non-empty batches; "
                    f"{latency.readable}/{latency.events} readable from the LRS afterwards; "
                    f"emit + commit p50 {1000 * statistics.median(latency.emit_seconds):.1f} ms"
                )

    ratio = ours.rate / ceiling.rate if ceiling.rate else 0.0
    throughput_ok = ratio >= THROUGHPUT_TARGET
    rows = [
        ("Ceiling: direct httpx POST", f"{ceiling.rate:,.0f} stmt/s", "", ""),
        ("Ours: outbox + deliver_due", f"{ours.rate:,.0f} stmt/s", "", ""),
        ("Ours / ceiling", f"{100 * ratio:.1f} %", f">= {100 * THROUGHPUT_TARGET:.0f} %", status(throughput_ok)),
    ]
    latency_ok = True
    if latency is not None:
        p95 = latency.quantile(0.95)
        latency_ok = p95 <= LATENCY_P95_TARGET and latency.readable == latency.events
        rows += [
            ("Latency commit -> LRS ack, p50", f"{latency.quantile(0.5):.3f} s", "", ""),
            ("Latency commit -> LRS ack, p95", f"{p95:.3f} s", f"<= {LATENCY_P95_TARGET:g} s", status(latency_ok)),
            ("Latency commit -> LRS ack, max", f"{max(latency.latencies):.3f} s", "", ""),
        ]
    say(f"\nResults ({args.statements:,} statements, batch {args.batch_size}, {database_label}):")
    widths = [max(len(row[i]) for row in [*rows, ("Figure", "Measured", "Target", "Result")]) for i in range(4)]
    header = ("Figure", "Measured", "Target", "Result")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        say(("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True))).rstrip())
    say(
        "  Latency = from the event's commit to the delivered_at the worker sets once the LRS acknowledged the POST."
        if latency is not None
        else "  Latency: skipped."
    )
    say(
        f"  Ralph's fs store grows to {args.statements:,} statements in each throughput run and is rescanned on every"
        " POST;\n  the ceiling and ours face that growth alike (equally fresh stores, same statements and batches)."
    )
    load = os.getloadavg()
    say(f"Load average at the end (1, 5, 15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    say(f"Total run time: {time.perf_counter() - began:.1f} s")
    return 0 if throughput_ok and latency_ok else 1


if __name__ == "__main__":
    sys.exit(main())
