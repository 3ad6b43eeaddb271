"""A statement the LRS refuses becomes a dead letter with the LRS's answer; the rest of its batch is delivered,
and an administrator sees it, fixes it and sends it again."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import db
from lti_tool.statements.models import StatementOutbox
from tests.statements.helpers import (
    assert_statement_in_lrs,
    cli,
    deliver_once,
    emit_statements,
    launch_statement,
    lrs_copies,
    lrs_settings,
    once_each,
    outbox_rows,
)
from xapi.builders import event_statement_id


@pytest.fixture
def lrs_config(lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(lrs.endpoint, lrs)


def poisoned_body(key: str) -> dict[str, Any]:
    """A statement no LRS may store: its actor has two identifiers. Our models refuse to build it; bytes do not."""
    body = json.loads(launch_statement(key).to_json_bytes())
    body["actor"]["mbox"] = "mailto:two-identifiers@example.edu"
    return body


def test_a_poisoned_statement_is_parked_with_the_lrs_answer_and_its_batch_delivered(app: Flask, lrs: RalphLrs) -> None:
    before = emit_statements(app, ["batch:1", "batch:2"])
    poison = poisoned_body("batch:poison")
    with app.app_context():
        db.session.add(
            StatementOutbox(statement_id=poison["id"], event="test-event", body=json.dumps(poison), attempts=0)
        )
        db.session.commit()
    after = emit_statements(app, ["batch:3", "batch:4"])
    assert str(event_statement_id("batch:poison")) == poison["id"]

    report = deliver_once(app)  # one batch of five

    assert (report.claimed, report.delivered, report.dead, report.retrying) == (5, 4, 1, 0)
    rows = {row.statement_id: row for row in outbox_rows(app)}
    dead = rows[poison["id"]]
    assert dead.state == "dead"
    # The LRS's own words, so an administrator can see what to fix.
    assert (dead.last_error or "").startswith("invalid, HTTP 422: ")
    assert "BaseXapiAgentWithMbox" in (dead.last_error or "") and "account" in (dead.last_error or "")
    assert [rows[i].state for i in before + after] == ["delivered"] * 4
    assert lrs_copies(lrs, [*before, poison["id"], *after]) == {**once_each(before + after), poison["id"]: 0}

    status = cli(app, "xapi", "status")
    assert status.exit_code == 0, status.output
    assert "delivered: 4  dead: 1" in status.output
    assert f"dead letter {poison['id']} (test-event): invalid, HTTP 422: " in status.output

    # The administrator fixes what the LRS refused (one identifier: the account), then resends.
    fixed = {**poison, "actor": {k: v for k, v in poison["actor"].items() if k != "mbox"}}
    with app.app_context():
        db.session.execute(
            update(StatementOutbox).where(StatementOutbox.statement_id == poison["id"]).values(body=json.dumps(fixed))
        )
        db.session.commit()
    resend = cli(app, "xapi", "resend")
    assert resend.exit_code == 0 and resend.output.startswith("1 statements queued again"), resend.output
    requeued = {r.statement_id: r for r in outbox_rows(app)}[poison["id"]]
    assert (requeued.state, requeued.attempts, requeued.last_error) == ("pending", 0, None)

    flush = cli(app, "xapi", "flush")

    assert flush.exit_code == 0, flush.output
    assert "1 delivered, 0 to retry, 0 dead letters, 0 waiting" in flush.output
    assert [r.state for r in outbox_rows(app)] == ["delivered"] * 5
    assert_statement_in_lrs(lrs, poison["id"], actor={"objectType": "Agent", **fixed["actor"]})
    everything = [*before, poison["id"], *after]
    assert lrs_copies(lrs, everything) == once_each(everything)
