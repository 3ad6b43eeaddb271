"""An LRS that refuses our credentials pauses delivery without using up attempts; new credentials resume it."""

from __future__ import annotations

from flask import Flask

from lti_tool.devlrs import RalphLrs
from lti_tool.statements.outbox import lrs_statuses
from tests.lti_browser import LtiBrowser
from tests.statements.helpers import accepted_launch, cli, lrs_copies, once_each, outbox_rows

# `lrs add` for every platform's statements (the sandbox's too).
SHARED_LRS = ("lrs", "add", "--all-platforms")


def test_a_wrong_password_pauses_delivery_until_the_lrs_is_set_again(
    app: Flask, browser: LtiBrowser, lrs: RalphLrs
) -> None:
    added = cli(app, *SHARED_LRS, "--endpoint", lrs.endpoint, "--username", lrs.username, "--password", "wrong")
    assert added.exit_code == 0, added.output
    for person in ("learner-01", "learner-02"):
        accepted_launch(browser, person)

    flush = cli(app, "xapi", "flush")

    assert flush.exit_code == 1
    assert "0 delivered, 0 to retry, 0 dead letters, 2 waiting" in flush.stdout
    assert f"LRS error: LRS at {lrs.endpoint} refused our credentials (401); fix the configuration" in flush.stderr
    with app.app_context():
        (status,) = lrs_statuses()
        assert status.endpoint == lrs.endpoint
        assert status.paused_reason == f"LRS at {lrs.endpoint} refused our credentials (401); fix the configuration"
    # Waiting, not failing: no attempt is used up, nothing is parked as dead.
    rows = outbox_rows(app)
    assert [(r.state, r.attempts) for r in rows] == [("pending", 0)] * 2
    assert all((r.last_error or "").startswith("paused: ") for r in rows)
    shown = cli(app, "xapi", "status")
    assert "pending: 2" in shown.output
    assert f"PAUSED: LRS at {lrs.endpoint} refused our credentials (401)" in shown.output
    ids = [r.statement_id for r in rows]
    assert lrs_copies(lrs, ids) == dict.fromkeys(ids, 0)

    fixed = cli(app, *SHARED_LRS, "--endpoint", lrs.endpoint, "--username", lrs.username, "--password", lrs.password)
    assert fixed.exit_code == 0, fixed.output
    with app.app_context():
        assert [s.paused_reason for s in lrs_statuses()] == [None]

    flush = cli(app, "xapi", "flush")

    assert flush.exit_code == 0, flush.output
    assert "2 delivered, 0 to retry, 0 dead letters, 0 waiting" in flush.stdout
    assert [(r.state, r.attempts) for r in outbox_rows(app)] == [("delivered", 0)] * 2
    assert lrs_copies(lrs, ids) == once_each(ids)
