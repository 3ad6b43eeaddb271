"""An LRS that answers errors or hangs gets the batch again later, with backoff; nothing is lost or doubled."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import utcnow
from lti_tool.statements.outbox import lrs_statuses
from tests.statements.helpers import (
    deliver_all,
    deliver_once,
    emit_statements,
    lrs_copies,
    lrs_settings,
    make_due,
    once_each,
    outbox_rows,
)
from tests.statements.lrs_proxy import LrsProxy


@pytest.fixture
def lrs_config(proxy: LrsProxy, lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(proxy.endpoint, lrs)


def test_an_lrs_answering_500_then_429_gets_the_batch_again_later(app: Flask, proxy: LrsProxy, lrs: RalphLrs) -> None:
    ids = emit_statements(app, ["server-error:1", "server-error:2", "server-error:3"])
    proxy.fail(500)

    attempted_at = utcnow()
    report = deliver_once(app)

    assert (report.retrying, report.delivered, report.dead) == (3, 0, 0)
    rows = outbox_rows(app)
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1)] * 3
    assert all(r.last_error == f"LRS at {proxy.endpoint} answered 500" for r in rows)
    assert all(attempted_at <= r.next_attempt_at <= attempted_at + timedelta(seconds=1.5) for r in rows)
    with app.app_context():
        (status,) = lrs_statuses()
    assert status.last_error == f"LRS at {proxy.endpoint} answered 500" and status.paused_reason is None

    # Too many requests: the LRS's Retry-After wins over our (shorter) backoff.
    proxy.fail(429, retry_after="30")
    make_due(app)
    attempted_at = utcnow()
    assert deliver_once(app).retrying == 3
    rows = outbox_rows(app)
    assert [(r.state, r.attempts) for r in rows] == [("pending", 2)] * 3
    assert all(r.next_attempt_at >= attempted_at + timedelta(seconds=30) for r in rows)
    assert deliver_once(app).claimed == 0  # not due before the LRS said so

    proxy.passthrough()
    make_due(app)  # skip the 30 s the LRS asked for
    assert deliver_all(app).delivered == 3

    assert [r.state for r in outbox_rows(app)] == ["delivered"] * 3
    assert lrs_copies(lrs, ids) == once_each(ids)
    assert proxy.forwarded_ids() == ids  # errors never reached the LRS; the one good POST did


def test_an_lrs_that_hangs_past_the_timeout_gets_the_batch_again_later(
    app: Flask, proxy: LrsProxy, lrs: RalphLrs
) -> None:
    ids = emit_statements(app, ["hang:1", "hang:2"])
    proxy.hang()

    started = time.monotonic()
    report = deliver_once(app)

    # The client gave up after platform_http_timeout_seconds (2 s here), not after the LRS's whim.
    assert 2.0 <= time.monotonic() - started < 10.0
    assert proxy.posts_received == 1
    assert report.retrying == 2
    rows = outbox_rows(app)
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1)] * 2
    assert all(r.last_error == f"LRS at {proxy.endpoint} timed out (ReadTimeout)" for r in rows)

    proxy.passthrough()
    assert deliver_all(app).delivered == 2

    assert [r.state for r in outbox_rows(app)] == ["delivered"] * 2
    assert lrs_copies(lrs, ids) == once_each(ids)
