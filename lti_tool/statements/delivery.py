"""Delivers the outbox to the LRS in batches: claimed under a lease, sent outside any transaction, then settled.

Any number of workers may run. A batch is claimed in one short transaction (row locks with SKIP LOCKED on
PostgreSQL; SQLite serialises writers), so no two workers send the same rows. A worker killed mid-batch leaves
its rows claimed until the lease ends; another worker then sends them again, which the LRS treats as already
delivered because statement ids and bytes never change.

A worker (and `xapi flush`) keeps one `DeliverySession` across rounds: one keep-alive HTTP client per LRS, made
again when its configuration changes, and what it last wrote to an LRS's status. It also overlaps a batch's
settling with the next batch's POST: the LRS acknowledged a batch; its rows stay claimed under their lease until
the session settles them, while the next POST is in flight, in the next round that finds nothing to send, or
when the session closes. A worker killed in between leaves them claimed like a batch in flight: they are sent
again after the lease, and the LRS recognises them.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, cast

from sqlalchemy import ColumnElement, Integer, Table, and_, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.dml import ReturningUpdate, Update

from lti_tool.extensions import UTCDateTime, db, upsert, utcnow
from lti_tool.outboxes import claim_statement, poll_until_stopped
from lti_tool.settings import Settings
from lti_tool.statements.models import LrsStatus, OutboxState, StatementOutbox
from lti_tool.statements.outbox import LrsTarget, lrs_targets, target_for
from xapi.client import BatchResult, LrsClient, backoff_delay
from xapi.exceptions import LrsAuthError, LrsError, LrsUnavailable

log = logging.getLogger(__name__)
NO_LRS_RECHECK = timedelta(seconds=30)
# A success is written to an LRS's status at most this often per worker (errors and pauses: always, at once).
SUCCESS_STATUS_INTERVAL = 30.0
# While pending rows fill every batch, rows whose lease ran out are looked for first at least this often.
EXPIRED_LEASE_RECHECK = 5.0


@dataclass(frozen=True)
class Claimed:
    """A claimed outbox row as plain data: safe to use after the claim's transaction ends."""

    id: int
    statement_id: str
    body: bytes
    platform_id: int | None
    attempts: int


@dataclass(frozen=True)
class _Delivered:
    """A batch the LRS answered, to settle: `result` says which rows it holds and which it refused."""

    token: str
    rows: list[Claimed]
    result: BatchResult
    at: datetime  # when the LRS answered: the rows' delivered_at


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    waiting: int = 0  # no LRS configured, or its delivery is paused
    errors: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.dead += other.dead
        self.waiting += other.waiting
        self.errors += other.errors


class DeliverySession:
    """What one worker keeps between delivery rounds; close it (or use `with`) when done.

    Clients are keyed by the whole `LrsTarget` (endpoint and credentials): a changed registration gets a new
    client, and the old one is closed at the next round that no longer names it. The session's database work
    is done in the caller's thread and app context; only a POST may run in a thread of the session's.
    """

    def __init__(self, settings: Settings) -> None:
        self._timeout = settings.platform_http_timeout_seconds
        self._clients: dict[LrsTarget, LrsClient] = {}
        self._last_success_written: dict[str, float] = {}  # endpoint -> time.monotonic() of the write
        self._expired_checked: float | None = None  # time.monotonic() of the last claim that began with them
        self._unsettled: list[_Delivered] = []
        self._posting: ThreadPoolExecutor | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def client(self, target: LrsTarget) -> LrsClient:
        client = self._clients.get(target)
        if client is None:
            client = self._clients[target] = target.client(self._timeout)
        return client

    def keep_only(self, targets: Iterable[LrsTarget]) -> None:
        """Close the clients of targets no longer configured (removed, or with other credentials now)."""
        current = set(targets)
        for target in [t for t in self._clients if t not in current]:
            self._clients.pop(target).close()

    def success_to_write(self, endpoint: str) -> bool:
        written = self._last_success_written.get(endpoint)
        return written is None or time.monotonic() - written >= SUCCESS_STATUS_INTERVAL

    def wrote_status(self, endpoint: str, *, success: bool) -> None:
        if success:
            self._last_success_written[endpoint] = time.monotonic()
        else:
            self._last_success_written.pop(endpoint, None)  # the next success is news: written at once

    def expired_first(self) -> bool:
        """Whether this round's claim begins with the rows whose lease ran out (then at least every few seconds)."""
        now = time.monotonic()
        if self._expired_checked is not None and now - self._expired_checked < EXPIRED_LEASE_RECHECK:
            return False
        self._expired_checked = now
        return True

    def post(self, target: LrsTarget, rows: list[Claimed]) -> BatchResult:
        """POST a batch to its LRS; while it is in flight, settle the batches the LRS already answered."""
        client = self.client(target)
        bodies, ids = [row.body for row in rows], [row.statement_id for row in rows]
        if not self._unsettled:
            return client.post_batch(bodies, statement_ids=ids)
        if self._posting is None:
            self._posting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xapi-post")
        in_flight = self._posting.submit(client.post_batch, bodies, statement_ids=ids)
        try:
            self.settle()
        except Exception:
            # Their rows stay claimed: they are sent again after their lease. The POST in flight goes on.
            db.session.rollback()
            log.exception("settling delivered statements failed; they will be sent again after their lease")
        return in_flight.result()

    def delivered(self, batch: _Delivered) -> None:
        """A batch the LRS answered, settled later by `settle` (while the next POST is in flight, or at once)."""
        self._unsettled.append(batch)

    def settle(self) -> None:
        """Record what the LRS answered for the batches not settled yet (one transaction each)."""
        while self._unsettled:
            _settle(self._unsettled.pop(0))

    def close(self) -> None:
        """Settle what is left, then close the HTTP clients (also when settling fails)."""
        try:
            self.settle()
        finally:
            if self._posting is not None:
                self._posting.shutdown()
                self._posting = None
            clients, self._clients = list(self._clients.values()), {}
            for client in clients:
                client.close()


def deliver_due(
    settings: Settings, *, batch_size: int | None = None, session: DeliverySession | None = None
) -> DeliveryReport:
    """Claim one batch of due statements, send it, settle it. Commits its own transactions.

    Without a `session` (one round on its own, e.g. in tests) it uses a fresh one and closes it: the batch is
    settled when this returns. With one, the session settles it later (see the module's docstring); the report
    counts it as delivered (or dead) once the LRS answered.
    """
    if session is None:
        with DeliverySession(settings) as own:
            return deliver_due(settings, batch_size=batch_size, session=own)
    report = DeliveryReport()
    token = str(uuid.uuid4())
    rows = _claim(
        token,
        batch_size or settings.xapi_batch_size,
        settings.xapi_claim_lease_seconds,
        expired_first=session.expired_first(),
    )
    report.claimed = len(rows)
    if not rows:
        db.session.commit()
        session.settle()  # nothing to overlap it with
        return report
    targets = lrs_targets(settings)
    paused = {
        s.endpoint for s in db.session.execute(select(LrsStatus).where(LrsStatus.paused_reason.is_not(None))).scalars()
    }
    db.session.commit()  # the claim, with where its statements go: one short transaction
    session.keep_only(targets.values())
    groups: dict[LrsTarget | None, list[Claimed]] = defaultdict(list)
    for row in rows:
        groups[target_for(targets, row.platform_id)].append(row)
    for target, group in groups.items():
        if target is None or target.endpoint in paused:
            reason = "no LRS is configured" if target is None else f"delivery to {target.endpoint} is paused"
            _release(token, group, reason)
            report.waiting += len(group)
            continue
        _send(settings, session, token, target, group, report)
    return report


def _claim(token: str, limit: int, lease_seconds: int, *, expired_first: bool = True) -> list[Claimed]:
    """Claim up to `limit` due rows in the caller's transaction (the caller commits it); answers them in outbox
    order. Due are pending rows whose attempt time came, taken in that order, and rows whose lease ran out
    (their worker died mid-batch): these are few, looked for first with `expired_first`, else only to fill a
    batch that pending rows did not fill, so a long backlog does not look for them in every round.

    Each part is one `UPDATE ... RETURNING` that checks its `due` condition again, so a row another worker
    claimed meanwhile is never claimed twice. The pending part reads the (state, next_attempt_at, id) index in
    order and stops at `limit`: it costs the same however long the outbox and however many rows wait for later.
    """
    now = utcnow()
    params = {"now": now, "until": now + timedelta(seconds=lease_seconds), "token": token}
    postgresql = db.engine.dialect.name == "postgresql"
    claimed: list[Claimed] = []
    for expired in (True, False) if expired_first else (False, True):
        if len(claimed) < limit:
            result = db.session.execute(
                _claim_statement(postgresql, expired), {**params, "limit": limit - len(claimed)}
            )
            claimed += [Claimed(i, s, b.encode(), p, a) for i, s, b, p, a in result]
    return sorted(claimed, key=lambda row: row.id)


_outbox = cast(Table, StatementOutbox.__table__)


@functools.cache
def _claim_statement(postgresql: bool, expired: bool) -> ReturningUpdate[tuple[int, str, str, int | None, int]]:
    """The claim of rows whose lease ran out (`expired`) or of pending ones; built once (it runs every round)."""
    t, now = _outbox.c, bindparam("now", type_=UTCDateTime())
    if expired:
        due = and_(t.state == OutboxState.DELIVERING.value, t.claimed_until < now)
        order: tuple[ColumnElement[Any], ...] = (t.id,)
    else:
        due = and_(t.state == OutboxState.PENDING.value, t.next_attempt_at <= now)
        order = (t.next_attempt_at, t.id)
    return claim_statement(
        _outbox,
        due=due,
        order=order,
        values={
            "state": OutboxState.DELIVERING.value,
            "claim_token": bindparam("token"),
            "claimed_until": bindparam("until"),
        },
        returning=(t.id, t.statement_id, t.body, t.platform_id, t.attempts),
        postgresql=postgresql,
    )


@functools.cache
def _settle_statement(postgresql: bool) -> Update:
    t = _outbox.c
    # PostgreSQL: one array parameter, not one parameter per id (a statement text the server can keep prepared).
    ids = (
        t.id == any_(bindparam("ids", type_=ARRAY(Integer())))
        if postgresql
        else t.id.in_(bindparam("ids", expanding=True))
    )
    return (
        update(_outbox)
        .where(ids, t.claim_token == bindparam("token"))
        .values(state=OutboxState.DELIVERED.value, delivered_at=bindparam("now"), claim_token=None, last_error=None)
    )


def _send(
    settings: Settings,
    session: DeliverySession,
    token: str,
    target: LrsTarget,
    rows: list[Claimed],
    report: DeliveryReport,
) -> None:
    try:
        result = session.post(target, rows)
    except LrsAuthError as error:
        # Wrong credentials will not fix themselves: stop sending there and tell an administrator.
        log.error("LRS %s refused our credentials (%s): delivery paused", target.endpoint, error.status_code)
        _record_status(session, target.endpoint, error=str(error), paused=str(error))
        _release(token, rows, f"paused: {error}")
        report.waiting += len(rows)
        report.errors.append(str(error))
    except LrsError as error:
        retry_after = error.retry_after if isinstance(error, LrsUnavailable) else None
        log.warning("LRS %s unavailable (%s): %d statements will be retried", target.endpoint, error, len(rows))
        _record_status(session, target.endpoint, error=str(error))
        _retry(settings, token, rows, str(error), retry_after)
        report.retrying += len(rows)
        report.errors.append(str(error))
    else:
        session.delivered(_Delivered(token, rows, result, utcnow()))
        report.delivered += len(result.delivered)
        report.dead += len(result.rejected)
        if session.success_to_write(target.endpoint):
            _record_status(session, target.endpoint, error=None)


def _settle(batch: _Delivered) -> None:
    token, rows, result = batch.token, batch.rows, batch.result
    delivered_ids = [rows[i].id for i in result.delivered]
    if delivered_ids:
        postgresql = db.engine.dialect.name == "postgresql"
        db.session.execute(_settle_statement(postgresql), {"ids": delivered_ids, "token": token, "now": batch.at})
    for rejection in result.rejected:
        log.error("LRS refused statement %s (%s): parked as a dead letter", rejection.statement_id, rejection.reason)
        db.session.execute(
            update(StatementOutbox)
            .where(StatementOutbox.id == rows[rejection.index].id, StatementOutbox.claim_token == token)
            .values(
                state=OutboxState.DEAD.value,
                claim_token=None,
                last_error=f"{rejection.reason}, HTTP {rejection.status_code}: {rejection.detail}",
            )
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _retry(settings: Settings, token: str, rows: list[Claimed], error: str, retry_after: float | None) -> None:
    now = utcnow()
    for row in rows:
        attempts = row.attempts + 1
        delay = max(backoff_delay(attempts, cap=settings.xapi_retry_cap_seconds), retry_after or 0.0)
        db.session.execute(
            update(StatementOutbox)
            .where(StatementOutbox.id == row.id, StatementOutbox.claim_token == token)
            .values(
                state=OutboxState.PENDING.value,
                attempts=attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                claim_token=None,
                last_error=error,
            )
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _release(token: str, rows: list[Claimed], reason: str) -> None:
    db.session.execute(
        update(StatementOutbox)
        .where(StatementOutbox.id.in_([row.id for row in rows]), StatementOutbox.claim_token == token)
        .values(
            state=OutboxState.PENDING.value,
            next_attempt_at=utcnow() + NO_LRS_RECHECK,
            claim_token=None,
            last_error=reason,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _record_status(session: DeliverySession, endpoint: str, *, error: str | None, paused: str | None = None) -> None:
    now = utcnow()
    values: dict[str, object] = (
        {"last_success_at": now} if error is None else {"last_error": error, "last_error_at": now}
    )
    if paused:
        values["paused_reason"] = paused
    db.session.execute(
        upsert(LrsStatus)
        .values(endpoint=endpoint, **values)
        .on_conflict_do_update(index_elements=["endpoint"], set_=values)
    )
    db.session.commit()
    session.wrote_status(endpoint, success=error is None)


def run_worker(
    settings: Settings, stop: threading.Event, *, on_batch: Callable[[DeliveryReport], None] | None = None
) -> None:
    """Deliver until `stop` is set; sleeps between polls only when nothing was due."""
    with DeliverySession(settings) as session:

        def one_round() -> int:
            report = deliver_due(settings, session=session)
            if on_batch is not None and report.claimed:
                on_batch(report)
            return report.claimed

        poll_until_stopped(stop, settings.xapi_poll_interval_seconds, one_round)
