"""While the LRS is down the tool keeps working, and every statement reaches the LRS once it is back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import utcnow
from tests.lti_browser import LtiBrowser
from tests.statements.helpers import (
    accepted_launch,
    deliver_all,
    deliver_once,
    lrs_copies,
    lrs_settings,
    once_each,
    outbox_rows,
    wait_for,
)


@pytest.fixture
def lrs_config(private_lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(private_lrs.endpoint, private_lrs)


def test_statements_made_while_the_lrs_is_down_arrive_once_it_is_back(
    app: Flask, browser: LtiBrowser, private_lrs: RalphLrs
) -> None:
    lrs = private_lrs
    lrs.stop()
    people = ["learner-01", "learner-02", "learner-03"]
    for person in people:
        accepted_launch(browser, person)

    attempted_at = utcnow()
    first = deliver_once(app)
    assert (first.claimed, first.retrying, first.delivered) == (3, 3, 0)
    rows = outbox_rows(app)
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1)] * 3
    assert all("unreachable" in (r.last_error or "") for r in rows)
    # Backoff with jitter: each statement waits up to the retry cap (1 s here), then each attempt counts.
    assert all(attempted_at <= r.next_attempt_at <= attempted_at + timedelta(seconds=1.5) for r in rows)

    def retried_twice() -> bool:
        deliver_once(app)
        return all(r.attempts >= 2 for r in outbox_rows(app))

    wait_for(retried_twice, timeout=5, message="the statements were not retried after their backoff")
    assert [r.state for r in outbox_rows(app)] == ["pending"] * 3

    lrs.start()
    report = deliver_all(app)

    assert report.delivered == 3
    ids = [row.statement_id for row in outbox_rows(app)]
    assert [row.state for row in outbox_rows(app)] == ["delivered"] * 3
    assert lrs_copies(lrs, ids) == once_each(ids)
