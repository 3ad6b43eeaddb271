"""`mentor-lti roster sync`: sync a course's roster from the LMS, with a progress bar."""

from __future__ import annotations

import click

from lti_tool.database import with_database
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.roster import services
from lti_tool.roster.services import RosterMember
from lti_tool.runtime import runtime


@click.group()
def roster() -> None:
    """Course rosters from the LMS (Names and Role Provisioning Services)."""


@roster.command("sync")
@click.option("--course", "course_id", type=int, help="The tool's course id (as in /courses/ID/).")
@click.option("--context", "context_id", help="Or the LMS's course (context) id, when only one course has it.")
@with_database
def roster_sync(course_id: int | None, context_id: str | None) -> None:
    """Sync one course's members, roles, names and emails from the LMS; people who left become inactive.

    Nothing changes unless every page of the roster was read.
    """
    if (course_id is None) == (context_id is None):
        raise click.UsageError("Give either --course ID or --context CONTEXT_ID.")
    rt = runtime()
    try:
        course = services.find_course(course_id=course_id, context_id=context_id)
        url = services.roster_url(course)
        click.echo(f"Syncing the roster of “{course.display_title}” (course {course.id}) from the LMS.")
        members: list[RosterMember] = []
        with PlatformHttp(rt.settings) as http:
            client = services.service_client(course, keys=rt.keys, http=http)
            pages = services.roster_pages(client, url)
            with click.progressbar(
                pages, label="Reading roster pages", item_show_func=lambda _: f"{len(members)} members"
            ) as bar:
                for page in bar:
                    members.extend(page)
        people = services.distinct_members(members)
        with click.progressbar(length=len(people), label=f"Applying {len(people)} members") as bar:
            report = services.apply_roster(course, people, now=utcnow(), on_progress=bar.update)
    except MentorLtiError as error:
        db.session.rollback()
        raise click.ClickException(f"The roster was not synced; nothing changed. {error.explanation}") from error
    db.session.commit()
    click.echo(report.summary)
