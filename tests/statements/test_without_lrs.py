"""With no LRS configured statements wait in the outbox, can be exported, and are sent once an LRS is added;
a backfill sends history again and the LRS recognises every statement it already holds."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from flask import Flask

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import utcnow
from tests.lti_browser import LtiBrowser
from tests.statements.helpers import accepted_launch, cli, deliver_once, lrs_copies, once_each, outbox_rows
from tests.statements.lrs_proxy import LrsProxy

# `lrs add` for every platform's statements (the sandbox's too).
SHARED_LRS = ("lrs", "add", "--all-platforms")


def test_statements_wait_for_an_lrs_and_can_be_exported(app: Flask, browser: LtiBrowser, tmp_path: Path) -> None:
    for person in ("learner-01", "learner-02"):
        accepted_launch(browser, person)

    report = deliver_once(app)

    assert (report.claimed, report.waiting, report.delivered) == (2, 2, 0)
    rows = outbox_rows(app)
    assert [(r.state, r.attempts, r.last_error) for r in rows] == [("pending", 0, "no LRS is configured")] * 2
    status = cli(app, "xapi", "status")
    assert status.exit_code == 0
    assert status.output.startswith("pending: 2  delivering: 0  delivered: 0  dead: 0\n")
    assert "No LRS configured: pending statements wait. Add one with `mentor-lti lrs add`." in status.output

    today = f"{utcnow():%Y-%m-%d}"
    exported = cli(app, "xapi", "export", "--since", today, "-o", str(tmp_path / "statements.jsonl"))

    assert exported.exit_code == 0, exported.output
    assert f"2 statements written to {tmp_path / 'statements.jsonl'}." in exported.output
    lines = (tmp_path / "statements.jsonl").read_text().splitlines()
    assert lines == [row.body for row in rows]
    assert [json.loads(line)["id"] for line in lines] == [row.statement_id for row in rows]
    tomorrow = f"{utcnow() + timedelta(days=1):%Y-%m-%d}"
    later = cli(app, "xapi", "export", "--since", tomorrow, "-o", str(tmp_path / "none.jsonl"))
    assert later.exit_code == 0 and (tmp_path / "none.jsonl").read_text() == ""


def test_an_added_lrs_gets_the_waiting_statements_and_a_backfill_resends_them_as_duplicates(
    app: Flask, browser: LtiBrowser, lrs: RalphLrs, proxy: LrsProxy
) -> None:
    for person in ("learner-01", "learner-02"):
        accepted_launch(browser, person)
    assert deliver_once(app).waiting == 2  # put off until the next recheck
    ids = [row.statement_id for row in outbox_rows(app)]

    added = cli(app, *SHARED_LRS, "--endpoint", proxy.endpoint, "--username", lrs.username, "--password", lrs.password)
    assert added.exit_code == 0, added.output
    flush = cli(app, "xapi", "flush")

    assert flush.exit_code == 0, flush.output
    assert "2 delivered, 0 to retry, 0 dead letters, 0 waiting" in flush.output
    assert [(p.statement_ids, p.status) for p in proxy.forwarded] == [(tuple(ids), 200)]

    backfill = cli(app, "xapi", "backfill")
    assert backfill.exit_code == 0 and "2 statements queued again." in backfill.output
    assert [r.state for r in outbox_rows(app)] == ["pending"] * 2
    flush = cli(app, "xapi", "flush")

    assert flush.exit_code == 0, flush.output
    assert "2 delivered, 0 to retry, 0 dead letters, 0 waiting" in flush.output
    # Sent again with the same ids and bytes: the LRS answers "already there" (204) and keeps one copy.
    assert [(p.statement_ids, p.status) for p in proxy.forwarded] == [(tuple(ids), 200), (tuple(ids), 204)]
    assert [r.state for r in outbox_rows(app)] == ["delivered"] * 2
    assert lrs_copies(lrs, ids) == once_each(ids)
