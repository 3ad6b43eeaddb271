"""Delivers the outbox to the LRS in batches: claimed under a lease, sent outside any transaction, then settled.

Any number of workers may run. A batch is claimed in one short transaction (row locks with SKIP LOCKED on
PostgreSQL; SQLite serialises writers), so no two workers send the same rows. A worker killed mid-batch leaves
its rows claimed until the lease ends; another worker then sends them again, which the LRS treats as already
delivered because statement ids and bytes never change.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from lti_tool.extensions import db, upsert, utcnow
from lti_tool.settings import Settings
from lti_tool.statements.models import LrsStatus, OutboxState, StatementOutbox
from lti_tool.statements.outbox import LrsTarget, lrs_targets, target_for
from xapi.client import BatchResult, backoff_delay
from xapi.exceptions import LrsAuthError, LrsError, LrsUnavailable

log = logging.getLogger(__name__)
NO_LRS_RECHECK = timedelta(seconds=30)


@dataclass(frozen=True)
class Claimed:
    """A claimed outbox row as plain data: safe to use after the claim's transaction ends."""

    id: int
    body: bytes
    platform_id: int | None
    attempts: int


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    waiting: int = 0  # no LRS configured, or its delivery is paused
    errors: list[str] = field(default_factory=list)


def deliver_due(settings: Settings, *, batch_size: int | None = None) -> DeliveryReport:
    """Claim one batch of due statements, send it, settle it. Commits its own transactions."""
    report = DeliveryReport()
    token = str(uuid.uuid4())
    rows = _claim(token, batch_size or settings.xapi_batch_size, settings.xapi_claim_lease_seconds)
    report.claimed = len(rows)
    if not rows:
        return report
    targets = lrs_targets(settings)
    paused = {
        s.endpoint for s in db.session.execute(select(LrsStatus).where(LrsStatus.paused_reason.is_not(None))).scalars()
    }
    db.session.commit()
    groups: dict[LrsTarget | None, list[Claimed]] = defaultdict(list)
    for row in rows:
        groups[target_for(targets, row.platform_id)].append(row)
    for target, group in groups.items():
        if target is None or target.endpoint in paused:
            reason = "no LRS is configured" if target is None else f"delivery to {target.endpoint} is paused"
            _release(token, group, reason)
            report.waiting += len(group)
            continue
        _send(settings, token, target, group, report)
    return report


def _claim(token: str, limit: int, lease_seconds: int) -> list[Claimed]:
    now = utcnow()
    due = or_(
        and_(StatementOutbox.state == OutboxState.PENDING.value, StatementOutbox.next_attempt_at <= now),
        and_(StatementOutbox.state == OutboxState.DELIVERING.value, StatementOutbox.claimed_until < now),
    )
    candidates = select(StatementOutbox.id).where(due).order_by(StatementOutbox.id).limit(limit)
    if db.engine.dialect.name == "postgresql":
        # Lock the batch in a statement of its own. Inside the UPDATE's IN (...), PostgreSQL may rescan the
        # subquery once per row (nested loop semi join); each rescan skips the rows this UPDATE already claimed
        # and finds `limit` more, so one worker would claim every due row whatever the batch size.
        locked = db.session.execute(candidates.with_for_update(skip_locked=True)).scalars().all()
        batch = StatementOutbox.id.in_(locked)
    else:
        batch = StatementOutbox.id.in_(candidates.scalar_subquery())
    # `due` is checked again by the UPDATE: PostgreSQL rechecks it on a row another worker just claimed.
    db.session.execute(
        update(StatementOutbox)
        .where(batch, due)
        .values(
            state=OutboxState.DELIVERING.value,
            claim_token=token,
            claimed_until=now + timedelta(seconds=lease_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    claimed = db.session.execute(
        select(StatementOutbox.id, StatementOutbox.body, StatementOutbox.platform_id, StatementOutbox.attempts)
        .where(StatementOutbox.claim_token == token)
        .order_by(StatementOutbox.id)
    ).all()
    db.session.commit()
    return [Claimed(id=i, body=body.encode(), platform_id=p, attempts=a) for i, body, p, a in claimed]


def _send(settings: Settings, token: str, target: LrsTarget, rows: list[Claimed], report: DeliveryReport) -> None:
    try:
        with target.client(settings.platform_http_timeout_seconds) as client:
            result = client.post_batch([row.body for row in rows])
    except LrsAuthError as error:
        # Wrong credentials will not fix themselves: stop sending there and tell an administrator.
        log.error("LRS %s refused our credentials (%s): delivery paused", target.endpoint, error.status_code)
        _record_status(target.endpoint, error=str(error), paused=str(error))
        _release(token, rows, f"paused: {error}")
        report.waiting += len(rows)
        report.errors.append(str(error))
    except LrsError as error:
        retry_after = error.retry_after if isinstance(error, LrsUnavailable) else None
        log.warning("LRS %s unavailable (%s): %d statements will be retried", target.endpoint, error, len(rows))
        _record_status(target.endpoint, error=str(error))
        _retry(settings, token, rows, str(error), retry_after)
        report.retrying += len(rows)
        report.errors.append(str(error))
    else:
        _settle(token, rows, result, report)
        _record_status(target.endpoint, error=None)


def _settle(token: str, rows: list[Claimed], result: BatchResult, report: DeliveryReport) -> None:
    now = utcnow()
    delivered_ids = [rows[i].id for i in result.delivered]
    if delivered_ids:
        db.session.execute(
            update(StatementOutbox)
            .where(StatementOutbox.id.in_(delivered_ids), StatementOutbox.claim_token == token)
            .values(state=OutboxState.DELIVERED.value, delivered_at=now, claim_token=None, last_error=None)
            .execution_options(synchronize_session=False)
        )
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
    report.delivered += len(delivered_ids)
    report.dead += len(result.rejected)


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


def _record_status(endpoint: str, *, error: str | None, paused: str | None = None) -> None:
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


def run_worker(
    settings: Settings, stop: threading.Event, *, on_batch: Callable[[DeliveryReport], None] | None = None
) -> None:
    """Deliver until `stop` is set; sleeps between polls only when nothing was due."""
    while not stop.is_set():
        try:
            report = deliver_due(settings)
        except Exception:
            db.session.rollback()
            log.exception("delivery round failed; retrying after the poll interval")
            report = DeliveryReport()
        if on_batch is not None and report.claimed:
            on_batch(report)
        if report.claimed == 0:
            stop.wait(settings.xapi_poll_interval_seconds)
        db.session.remove()
