"""What the statement outbox and the score outbox share: claiming due rows under a lease, and the worker loop."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Integer, Table, bindparam, select, update
from sqlalchemy.sql.dml import ReturningUpdate

from lti_tool.extensions import db

log = logging.getLogger(__name__)


def claim_statement(
    table: Table,
    *,
    due: ColumnElement[bool],
    order: tuple[ColumnElement[Any], ...],
    values: dict[str, Any],
    returning: tuple[ColumnElement[Any], ...],
    postgresql: bool,
) -> ReturningUpdate[Any]:
    """`UPDATE table SET values WHERE <one of the first :limit due rows> RETURNING returning`, safe with any number
    of workers: no row is claimed twice, and the statement reads only the rows it claims (by `order`'s index).

    `due` is checked again by the UPDATE: PostgreSQL rechecks it on a row another worker has just claimed.
    """
    candidates = select(table.c.id).where(due).order_by(*order).limit(bindparam("limit", type_=Integer()))
    if postgresql:
        # The batch is locked (SKIP LOCKED: rows another worker is claiming are left to it) in a MATERIALIZED
        # CTE, which PostgreSQL evaluates once. Not in the UPDATE's IN (...): there PostgreSQL may rescan the
        # subquery once per row (nested loop semi join); each rescan skips the rows this UPDATE already claimed
        # and finds `limit` more, so one worker would claim every due row whatever the batch size.
        batch = candidates.with_for_update(skip_locked=True).cte("claimable").prefix_with("MATERIALIZED")
        in_batch = table.c.id == batch.c.id
    else:
        # SQLite: the UPDATE takes the write lock before it reads anything, and evaluates the subquery once.
        in_batch = table.c.id.in_(candidates.scalar_subquery())
    return update(table).where(in_batch, due).values(**values).returning(*returning)


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and Ctrl+C set: a worker finishes what it has in flight, then stops."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def poll_until_stopped(stop: threading.Event, interval: float, one_round: Callable[[], int]) -> None:
    """Run `one_round` (answering how many rows it claimed) until `stop` is set; waits `interval` between rounds
    only when a round found nothing. A failed round is logged and rolled back, and the loop goes on."""
    while not stop.is_set():
        try:
            claimed = one_round()
        except Exception:
            db.session.rollback()
            log.exception("delivery round failed; retrying after the poll interval")
            claimed = 0
        if claimed == 0:
            stop.wait(interval)
        db.session.remove()
