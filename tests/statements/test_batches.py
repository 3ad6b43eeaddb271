"""A delivery round claims one batch, oldest statements first: never more than the batch size."""

from __future__ import annotations

from flask import Flask

from lti_tool.runtime import runtime
from lti_tool.statements.delivery import deliver_due
from tests.statements.helpers import emit_statements, outbox_rows


def test_each_round_claims_at_most_one_batch_in_order(app: Flask) -> None:
    ids = emit_statements(app, [f"batch-size:{n}" for n in range(25)])

    with app.app_context():
        # No LRS is configured, so each round claims its batch and puts it back to wait: what it claimed shows.
        rounds = [deliver_due(runtime().settings, batch_size=10).claimed for _ in range(3)]

    assert rounds == [10, 10, 5]
    rows = outbox_rows(app)
    assert [r.statement_id for r in rows] == ids
    assert all((r.state, r.attempts, r.last_error) == ("pending", 0, "no LRS is configured") for r in rows)
