"""`mentor-lti scores …`: delivering gradebook scores to the LMS (LTI Assignment and Grade Services)."""

from __future__ import annotations

import time

import click
from sqlalchemy import func, select

from lti_tool.database import with_database
from lti_tool.extensions import db
from lti_tool.gradebook.delivery import ScoreReport, deliver_scores, run_score_worker, seconds_to_a_new_version
from lti_tool.gradebook.models import ScoreOutbox, ScoreState
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.outboxes import stop_on_signals
from lti_tool.runtime import runtime


@click.group("scores")
def scores() -> None:
    """Scores of graded assessments on their way to the LMS gradebook."""


@scores.command("worker")
@with_database
def scores_worker() -> None:
    """Deliver scores continuously until stopped (SIGTERM or Ctrl+C finish the batch in flight)."""
    stop = stop_on_signals()
    click.echo("Score worker delivering to the LMS gradebooks; stop with Ctrl+C.")
    run_score_worker(runtime().settings, stop, on_batch=lambda report: click.echo(report.summary()))
    click.echo("Score worker stopped.")


@scores.command("flush")
@with_database
def scores_flush() -> None:
    """Deliver every score that is due now, then exit (non-zero if some could not be delivered)."""
    settings = runtime().settings
    total = ScoreReport()
    due = db.session.execute(
        select(func.count(ScoreOutbox.id)).where(
            ScoreOutbox.state.in_((ScoreState.PENDING.value, ScoreState.SENDING.value))
        )
    ).scalar_one()
    with (
        PlatformHttp(settings) as http,
        click.progressbar(length=due, label="Delivering scores", show_pos=True) as bar,
    ):
        while True:
            report = deliver_scores(settings, http)
            if not report.claimed:
                if (wait := seconds_to_a_new_version()) is None:
                    break
                time.sleep(wait)
                continue
            bar.update(report.claimed)
            total.add(report)
    click.echo(total.summary())
    for error in sorted(set(total.errors)):
        click.echo(f"LMS error: {error}", err=True)
    if total.retrying or total.refused or total.waiting:
        raise SystemExit(1)
