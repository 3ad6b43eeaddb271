"""Delivery workers as separate processes: one killed mid-batch loses and doubles nothing, and two at once
never send the same statement twice (row locks on PostgreSQL, the single writer on SQLite)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from lti_tool.devlrs import RalphLrs
from lti_tool.extensions import utcnow
from tests.statements.helpers import (
    cli,
    command_environment,
    emit_statements,
    lrs_copies,
    lrs_settings,
    once_each,
    outbox_rows,
    states,
    wait_for,
    worker_processes,
)
from tests.statements.lrs_proxy import LrsProxy


@pytest.fixture
def lrs_config(proxy: LrsProxy, lrs: RalphLrs) -> dict[str, Any]:
    return lrs_settings(proxy.endpoint, lrs)


def worker_environment(
    tool_settings: dict[str, Any], proxy: LrsProxy, lrs: RalphLrs, **settings: object
) -> dict[str, str]:
    return command_environment(
        tool_settings,
        lrs_endpoint=proxy.endpoint,
        lrs_username=lrs.username,
        lrs_password=lrs.password,
        xapi_poll_interval_seconds=0.05,
        **settings,
    )


@pytest.mark.parametrize("lrs_got_the_batch", [False, True], ids=["lrs-never-got-it", "answer-lost"])
def test_a_worker_killed_mid_batch_loses_nothing_and_the_lrs_holds_one_copy_of_each(
    app: Flask, proxy: LrsProxy, lrs: RalphLrs, tool_settings: dict[str, Any], tmp_path: Path, lrs_got_the_batch: bool
) -> None:
    ids = emit_statements(app, [f"killed:{lrs_got_the_batch}:{n}" for n in range(25)])
    # The POST hangs; either the LRS never saw the batch, or (worse) it stored it and the answer never came.
    if lrs_got_the_batch:
        proxy.lose_answers()
    else:
        proxy.hang()
    env = worker_environment(tool_settings, proxy, lrs, xapi_batch_size=10, xapi_claim_lease_seconds=2)

    with worker_processes(tmp_path, env) as (worker,):
        assert proxy.wait_for_post(timeout=30), worker.output()
        worker.kill()  # SIGKILL: no chance to settle or release anything

    rows = outbox_rows(app)
    claimed = [r for r in rows if r.state == "delivering"]
    assert [r.statement_id for r in claimed] == ids[:10]
    assert all(r.state == "pending" for r in rows[10:])

    proxy.passthrough()
    lease_end = max(r.claimed_until for r in claimed if r.claimed_until is not None)
    time.sleep(max(0.0, (lease_end - utcnow()).total_seconds()) + 0.1)
    flush = cli(app, "xapi", "flush")

    assert flush.exit_code == 0, flush.output
    assert "25 delivered, 0 to retry, 0 dead letters, 0 waiting" in flush.output
    assert [r.state for r in outbox_rows(app)] == ["delivered"] * 25
    assert lrs_copies(lrs, ids) == once_each(ids)
    # After the lease the flush sent the claimed batch again, with the rest. Where the LRS already held those
    # ten, it recognised them by id and content and kept one copy.
    sent_before = [(tuple(ids[:10]), 200)] if lrs_got_the_batch else []
    assert [(p.statement_ids, p.status) for p in proxy.forwarded] == [*sent_before, (tuple(ids), 200)]


def test_two_workers_at_once_never_send_the_same_statement_twice(
    app: Flask, proxy: LrsProxy, lrs: RalphLrs, tool_settings: dict[str, Any], tmp_path: Path
) -> None:
    proxy.delay_seconds = 0.02  # each POST takes a moment, so the two workers' batches overlap
    env = worker_environment(tool_settings, proxy, lrs, xapi_batch_size=10)

    with worker_processes(tmp_path, env, count=2) as workers:
        for worker in workers:
            worker.wait_until_started()
        # Both poll already: the statements become due for both at the same moment.
        ids = emit_statements(app, [f"concurrent:{n}" for n in range(300)])
        wait_for(lambda: states(app)["delivered"] == 300, timeout=60, message="not all statements were delivered")
        assert [worker.stop() for worker in workers] == [0, 0]

    assert proxy.ids_forwarded_more_than_once() == {}
    assert sorted(proxy.forwarded_ids()) == sorted(ids)
    assert all(len(post.statement_ids) <= 10 and post.status == 200 for post in proxy.forwarded)
    # Both took part, and no delivery round of either failed (e.g. on a locked database).
    assert all(worker.batches_delivered() > 0 for worker in workers), [w.output() for w in workers]
    assert not any("delivery round failed" in worker.output() for worker in workers), [w.output() for w in workers]
    assert lrs_copies(lrs, ids) == once_each(ids)
