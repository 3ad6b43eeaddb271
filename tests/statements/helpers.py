"""What the statement tests share: reading the real LRS back, the outbox as plain rows, delivery rounds,
`mentor-lti` commands in this process or as worker processes, and valid statements made without a launch."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from click.testing import Result
from flask import Flask
from ralph.models.xapi.base.statements import BaseXapiStatement
from sqlalchemy import select, update

from lti_tool.cli import main
from lti_tool.courses.models import User
from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import db, utcnow
from lti_tool.runtime import runtime
from lti_tool.statements.delivery import DeliveryReport, deliver_due
from lti_tool.statements.models import OutboxState, StatementOutbox
from lti_tool.statements.outbox import emit
from tests.lti_browser import LtiBrowser
from xapi import builders
from xapi.client import LrsClient
from xapi.events import ActorIdentity, Course, LaunchInfo, StatementContext
from xapi.models import Statement
from xapi.profile import check_statement_against_profile, load_profile

ROOT = Path(__file__).resolve().parents[2]

# --- The LRS, read back over HTTP ------------------------------------------------------------------


def lrs_settings(endpoint: str, lrs: RalphLrs) -> dict[str, Any]:
    """Tool settings that deliver to `endpoint` (Ralph itself, or a proxy in front of it) with Ralph's account."""
    return {"lrs_endpoint": endpoint, "lrs_username": lrs.username, "lrs_password": lrs.password}


def account_agent(issuer: str, sub: str) -> dict[str, Any]:
    """The xAPI Agent the tool makes of an LTI user by default: the platform's account, nothing personal."""
    return {"objectType": "Agent", "account": {"homePage": issuer, "name": sub}}


def sandbox_agent(app: Flask, person: str) -> dict[str, Any]:
    """The pseudonymous xAPI agent of a sandbox person (by their sandbox id, e.g. "learner-03")."""
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == f"{person}@sandbox.example")).scalar_one()
        return account_agent(user.issuer, user.sub)


def lrs_statements(lrs: RalphLrs, *, agent: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every statement the LRS holds (about `agent`, when given), as it answers a GET."""
    params: dict[str, object] = {"limit": 500}
    if agent is not None:
        params["agent"] = agent
    with LrsClient(lrs.endpoint, lrs.username, lrs.password) as client:
        return client.get_statements(**params)


def lrs_copies(lrs: RalphLrs, statement_ids: Iterable[str]) -> dict[str, int]:
    """How many copies of each of these statements the LRS holds: exactly once is {id: 1, ...}."""
    held = Counter(statement["id"] for statement in lrs_statements(lrs))
    return {statement_id: held[statement_id] for statement_id in statement_ids}


def once_each(statement_ids: Iterable[str]) -> dict[str, int]:
    return dict.fromkeys(statement_ids, 1)


@functools.cache
def _profile() -> dict[str, Any]:
    return load_profile()


def assert_valid_statement(stored: dict[str, Any]) -> None:
    """Valid by Ralph's own xAPI model (an independent check of ours) and by its template in our xAPI Profile."""
    BaseXapiStatement.model_validate(stored)
    assert check_statement_against_profile(stored, _profile()) == []


def assert_statement_in_lrs(
    lrs: RalphLrs,
    statement_id: str | UUID,
    *,
    verb: str | None = None,
    actor: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """This action produced this statement in the LRS: read back by id, valid, with this verb and exact actor."""
    with LrsClient(lrs.endpoint, lrs.username, lrs.password) as client:
        stored = client.get_statement(statement_id)
    assert stored is not None, f"the LRS has no statement {statement_id}"
    if verb is not None:
        assert stored["verb"]["id"] == verb
    if actor is not None:
        assert stored["actor"] == actor
    assert_valid_statement(stored)
    return stored


def accepted_launch(browser: LtiBrowser, person: str, course: str = "ment-101") -> None:
    """A real LTI launch from the sandbox LMS that the tool accepts (303 to the course); the page is not our concern."""
    response = browser.post_launch(browser.authorize(browser.login(course, person)))
    assert response.status_code == 303, f"{response.status_code}: {response.text[:2000]}"


def delivered_statements_about(
    app: Flask, lrs: RalphLrs, *, agent: dict[str, Any], verb: str | None = None
) -> list[dict[str, Any]]:
    """What an action left in the LRS: delivers everything due, then reads back the statements about `agent`
    (with `verb`: Ralph's fs backend ignores the verb filter, so it is applied here), each checked valid."""
    deliver_all(app)
    found = [s for s in lrs_statements(lrs, agent=agent) if verb is None or s["verb"]["id"] == verb]
    for statement in found:
        assert_valid_statement(statement)
    return found


# --- The outbox --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxRow:
    statement_id: str
    event: str
    body: str
    state: str
    attempts: int
    next_attempt_at: datetime
    claimed_until: datetime | None
    last_error: str | None


def outbox_rows(app: Flask) -> list[OutboxRow]:
    """The outbox in insertion order, as plain data read in a fresh transaction."""
    with app.app_context():
        rows = db.session.execute(select(StatementOutbox).order_by(StatementOutbox.id)).scalars()
        return [
            OutboxRow(
                statement_id=row.statement_id,
                event=row.event,
                body=row.body,
                state=row.state,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                claimed_until=row.claimed_until,
                last_error=row.last_error,
            )
            for row in rows
        ]


def states(app: Flask) -> Counter[str]:
    return Counter(row.state for row in outbox_rows(app))


def make_due(app: Flask) -> None:
    """Skip the wait a statement was given (a backoff delay, or the LRS's Retry-After): it is due now."""
    with app.app_context():
        db.session.execute(
            update(StatementOutbox)
            .where(StatementOutbox.state == OutboxState.PENDING.value)
            .values(next_attempt_at=utcnow())
        )
        db.session.commit()


def deliver_once(app: Flask) -> DeliveryReport:
    """One delivery round, as a worker does it: claim a batch, send it, settle it."""
    with app.app_context():
        return deliver_due(runtime().settings)


def deliver_all(app: Flask, *, timeout: float = 20.0) -> DeliveryReport:
    """Delivery rounds until nothing is pending or claimed, waiting out backoff delays; fails after `timeout`."""
    total = DeliveryReport()
    deadline = time.monotonic() + timeout
    while True:
        report = deliver_once(app)
        total.add(report)
        left = states(app)
        if not left[OutboxState.PENDING.value] and not left[OutboxState.DELIVERING.value]:
            return total
        assert time.monotonic() < deadline, f"not delivered within {timeout} s: {dict(left)}, errors {total.errors}"
        if not report.claimed:
            time.sleep(0.1)


# --- Valid statements without a launch ---------------------------------------------------------------

ISSUER = "https://lms.example.edu"
WHEN = datetime(2026, 3, 14, 15, 9, 26, 535000, tzinfo=UTC)


def launch_statement(key: str, *, sub: str = "learner-sub") -> Statement:
    """A valid `launched` statement with a stable id derived from `key`, as the tool builds them."""
    ctx = StatementContext(
        tool_base="https://mentor.example.edu",
        launch=LaunchInfo(issuer=ISSUER, deployment_id="dep-1", context_id="ctx-1", resource_link_id="rl-1"),
        course=Course(ref=builders.opaque_ref(ISSUER, "ctx-1"), title="Practice course"),
    )
    return builders.build_lti_launch(
        ctx,
        actor=ActorIdentity(issuer=ISSUER, sub=sub),
        statement_id=builders.event_statement_id(key),
        timestamp=WHEN,
    )


def emit_statements(app: Flask, keys: list[str]) -> list[str]:
    """Queue one valid statement per key in one committed transaction; answers their ids in outbox order."""
    with app.app_context():
        ids = [
            emit(launch_statement(key), event="test-event", platform_id=None, course_id=None).statement_id
            for key in keys
        ]
        db.session.commit()
    return ids


# --- mentor-lti commands -----------------------------------------------------------------------------


def cli(app: Flask, *args: str) -> Result:
    """`mentor-lti ARGS` inside this app (its settings and database)."""
    return app.test_cli_runner().invoke(main, list(args))


def command_environment(settings: dict[str, Any], **variables: object) -> dict[str, str]:
    """The environment of a `mentor-lti` process using the test app's instance and database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MENTOR_LTI_", "FLASK_"))}
    env.update(
        {
            "MENTOR_LTI_INSTANCE_PATH": str(settings["instance_path"]),
            "MENTOR_LTI_DATABASE_URL": settings["database_url"],
            "MENTOR_LTI_SECRET_KEY": settings["secret_key"],
            "PYTHONUNBUFFERED": "1",  # so the test reads a worker's progress while it runs
        }
    )
    env.update({f"MENTOR_LTI_{name.upper()}": str(value) for name, value in variables.items()})
    return env


class WorkerProcess:
    """`mentor-lti xapi worker` in a process of its own; its output goes to a log file."""

    def __init__(self, log_file: Path, env: dict[str, str]) -> None:
        self.log_file = log_file
        self._log = log_file.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lti_tool", "xapi", "worker"],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
        )

    def output(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def wait_until_started(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while "xAPI worker delivering" not in self.output():
            assert self.process.poll() is None, f"the worker exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"the worker did not start within {timeout} s:\n{self.output()}"
            time.sleep(0.05)

    def batches_delivered(self) -> int:
        """Batches this worker reported (one line each)."""
        return sum(1 for line in self.output().splitlines() if " delivered, " in line)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (the worker finishes its batch in flight); answers the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log.close()


@contextmanager
def worker_processes(tmp_path: Path, env: dict[str, str], count: int = 1) -> Iterator[list[WorkerProcess]]:
    """`count` workers started at once; any still running at the end are killed, and every file is closed."""
    workers = [WorkerProcess(tmp_path / f"worker-{n}.log", env) for n in range(count)]
    try:
        yield workers
    finally:
        for worker in workers:
            worker.close()


def wait_for(condition: Callable[[], bool], *, timeout: float, message: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{message} (waited {timeout} s)"
        time.sleep(interval)
