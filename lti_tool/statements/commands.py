"""`mentor-lti lrs …` and `mentor-lti xapi …`: where statements go, and their delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import func, select

from lti_tool.database import with_database
from lti_tool.errors import MentorLtiError, click_error
from lti_tool.extensions import db
from lti_tool.outboxes import stop_on_signals
from lti_tool.runtime import runtime
from lti_tool.statements import outbox
from lti_tool.statements.delivery import DeliveryReport, DeliverySession, deliver_due, run_worker
from lti_tool.statements.models import OutboxState, StatementOutbox


@click.group("lrs")
def lrs() -> None:
    """Learning Record Stores the statements go to."""


def _scope(platform_name: str | None, all_platforms: bool) -> str | None:
    """The platform an LRS command is about, or None for the LRS shared with all: one of the two, said explicitly,
    so that no platform's statements go to an LRS by default."""
    if bool(platform_name) == all_platforms:
        raise click.UsageError(
            "Say whose statements: --platform NAME (see `mentor-lti platform list`) or --all-platforms."
        )
    return platform_name


@lrs.command("add")
@click.option("--endpoint", required=True, help="The LRS's xAPI endpoint, e.g. https://lrs.example.edu/xAPI")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, help="Asked for when omitted (keeps it out of history).")
@click.option("--platform", "platform_name", default=None, help="The statements of this platform only.")
@click.option("--all-platforms", is_flag=True, help="Shared: the statements of every platform without its own LRS.")
@with_database
def lrs_add(endpoint: str, username: str, password: str, platform_name: str | None, all_platforms: bool) -> None:
    """Set the LRS of one platform, or the one shared with all platforms; replaces the previous one there."""
    platform_name = _scope(platform_name, all_platforms)
    try:
        row = outbox.set_lrs(endpoint=endpoint, username=username, password=password, platform_name=platform_name)
    except MentorLtiError as error:
        raise click_error(error) from error
    db.session.commit()
    scope = f"platform {platform_name}" if platform_name else "all platforms without their own LRS"
    click.echo(f"Statements of {scope} go to {row.endpoint}.")


@lrs.command("list")
@with_database
def lrs_list() -> None:
    """List configured LRSs (passwords are never shown)."""
    settings = runtime().settings
    registrations = outbox.list_lrs()
    shared_in_database = any(platform_name is None for _, platform_name in registrations)
    if settings.lrs_endpoint:
        overridden = " (not used: `lrs add --all-platforms` replaced it)" if shared_in_database else ""
        click.echo(f"all platforms (environment)  {settings.lrs_endpoint}  user {settings.lrs_username}{overridden}")
    for row, platform_name in registrations:
        scope = f"platform {platform_name}" if platform_name else "all platforms"
        click.echo(f"{scope}  {row.endpoint}  user {row.username}")
    if not settings.lrs_endpoint and not registrations:
        click.echo("No LRS configured: statements wait in the outbox. Add one with `mentor-lti lrs add`.")


@lrs.command("remove")
@click.option("--platform", "platform_name", default=None, help="Remove this platform's LRS.")
@click.option("--all-platforms", is_flag=True, help="Remove the LRS shared with all platforms.")
@with_database
def lrs_remove(platform_name: str | None, all_platforms: bool) -> None:
    """Remove an LRS registration; a platform's statements then go to the shared LRS, if any, or wait."""
    try:
        outbox.remove_lrs(_scope(platform_name, all_platforms))
    except MentorLtiError as error:
        raise click_error(error) from error
    db.session.commit()
    click.echo("Removed.")


@click.group("xapi")
def xapi() -> None:
    """The statement outbox and its delivery to the LRS."""


def _describe(report: DeliveryReport) -> str:
    return (
        f"{report.delivered} delivered, {report.retrying} to retry, {report.dead} dead letters, "
        f"{report.waiting} waiting"
    )


@xapi.command("worker")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None, help="Statements per POST.")
@with_database
def xapi_worker(batch_size: int | None) -> None:
    """Deliver statements continuously until stopped (SIGTERM or Ctrl+C finish the batch in flight)."""
    rt = runtime()
    settings = rt.settings.model_copy(update={"xapi_batch_size": batch_size}) if batch_size else rt.settings
    stop = stop_on_signals()
    click.echo(f"xAPI worker delivering in batches of {settings.xapi_batch_size}; stop with Ctrl+C.")
    run_worker(settings, stop, on_batch=lambda report: click.echo(_describe(report)))
    click.echo("xAPI worker stopped.")


@xapi.command("flush")
@with_database
def xapi_flush() -> None:
    """Deliver every statement that is due now, then exit (non-zero if some could not be delivered)."""
    settings = runtime().settings
    total = DeliveryReport()
    with (
        DeliverySession(settings) as session,
        click.progressbar(length=_due_count(), label="Delivering", show_pos=True) as bar,
    ):
        while True:
            report = deliver_due(settings, session=session)
            if not report.claimed:
                break
            bar.update(report.claimed)
            total.add(report)
            if report.retrying or report.waiting:
                break  # the LRS is down, paused or missing: what is left waits for its next attempt
    click.echo(_describe(total))
    for error in sorted(set(total.errors)):
        click.echo(f"LRS error: {error}", err=True)
    if total.retrying or total.waiting:
        raise SystemExit(1)


def _due_count() -> int:
    return int(
        db.session.execute(
            select(func.count(StatementOutbox.id)).where(
                StatementOutbox.state.in_((OutboxState.PENDING.value, OutboxState.DELIVERING.value))
            )
        ).scalar_one()
    )


@xapi.command("status")
@with_database
def xapi_status() -> None:
    """Statements by delivery state, and what each LRS last answered."""
    counts = outbox.state_counts()
    click.echo("  ".join(f"{state}: {count}" for state, count in counts.items()))
    targets = outbox.lrs_targets(runtime().settings)
    if not targets and counts["pending"]:
        click.echo("No LRS configured: pending statements wait. Add one with `mentor-lti lrs add`.")
    for status in outbox.lrs_statuses():
        click.echo(f"LRS {status.endpoint}")
        if status.paused_reason:
            click.echo(f"  PAUSED: {status.paused_reason} (fix the credentials with `mentor-lti lrs add`)")
        if status.last_success_at:
            click.echo(f"  last delivery  {status.last_success_at:%Y-%m-%d %H:%M:%S} UTC")
        if status.last_error:
            click.echo(f"  last error     {status.last_error_at:%Y-%m-%d %H:%M:%S} UTC  {status.last_error}")
    for row in outbox.dead_letters(limit=5):
        click.echo(f"dead letter {row.statement_id} ({row.event}): {row.last_error}")


@xapi.command("resend")
@with_database
def xapi_resend() -> None:
    """Queue dead letters again (after fixing what the LRS refused) and lift authentication pauses."""
    count = outbox.requeue(dead=True)
    db.session.commit()
    click.echo(f"{count} statements queued again; `mentor-lti xapi flush` or a running worker delivers them.")


@xapi.command("backfill")
@click.option("--course", "course_id", type=int, default=None, help="Only this course (the tool's course id).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Only events since DATE.")
@with_database
def xapi_backfill(course_id: int | None, since: datetime | None) -> None:
    """Send history again (e.g. to a new LRS); the LRS recognises statements it already holds."""
    count = outbox.requeue(dead=False, course_id=course_id, since=since.replace(tzinfo=UTC) if since else None)
    db.session.commit()
    click.echo(f"{count} statements queued again.")


@xapi.command("export")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="Events since DATE (UTC).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_database
def xapi_export(since: datetime, output: Path) -> None:
    """Write every statement since DATE, one JSON object per line, whatever its delivery state."""
    recent = StatementOutbox.created_at >= since.replace(tzinfo=UTC)
    query = select(StatementOutbox.body).where(recent).order_by(StatementOutbox.id)
    total = db.session.execute(select(func.count(StatementOutbox.id)).where(recent)).scalar_one()
    with output.open("w") as handle, click.progressbar(length=total, label="Exporting", show_pos=True) as bar:
        for (body,) in db.session.execute(query.execution_options(yield_per=1000)):
            json.loads(body)  # every line is a complete statement; a corrupt row stops the export loudly
            handle.write(body + "\n")
            bar.update(1)
    click.echo(f"{total} statements written to {output}.")
