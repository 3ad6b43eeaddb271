"""What the roster tests share: syncing a course as the tool does, and the course's people as plain rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select

from lti_tool.courses.models import Course, Membership
from lti_tool.extensions import db, utcnow
from lti_tool.roster import services
from lti_tool.roster.services import RosterSyncReport
from lti_tool.runtime import runtime
from tests.conftest import Sandbox

COURSE = "ment-101"  # 14 people: an instructor, a TA and 12 learners
NRPS_PATH = f"/api/courses/{COURSE}/memberships"


def sync(app: Flask, course_id: int, **options: Any) -> RosterSyncReport:
    """One sync in one transaction, as the command and the "Sync now" button run it: committed, or rolled back
    and the error raised."""
    with app.app_context(), httpx.Client(timeout=10) as http:
        course = db.session.get_one(Course, course_id)
        try:
            report = services.sync_roster(
                course, services.service_client(course, keys=runtime().keys, http=http), now=utcnow(), **options
            )
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()
        return report


@dataclass(frozen=True)
class Person:
    """A membership and its user, as stored: the sandbox person id stands for the opaque LTI user id."""

    role: str
    active: bool
    launched: bool
    name: str | None
    given_name: str | None
    family_name: str | None
    email: str | None
    roles: tuple[str, ...]
    roster_synced_at: datetime | None


def people(app: Flask, sandbox: Sandbox, course_id: int) -> dict[str, Person]:
    """The course's memberships by sandbox person id (or the LTI user id for someone the sandbox does not know)."""
    ids = {sandbox.platform.sub(p): p.id for c in sandbox.platform.courses for p in (*c.people, *c.administrators)}
    with app.app_context():
        memberships = db.session.execute(select(Membership).where(Membership.course_id == course_id)).scalars()
        return {
            ids.get(m.user.sub, m.user.sub): Person(
                role=m.course_role,
                active=m.active,
                launched=m.last_launch_at is not None,
                name=m.user.name,
                given_name=m.user.given_name,
                family_name=m.user.family_name,
                email=m.user.email,
                roles=tuple(m.roles),
                roster_synced_at=m.roster_synced_at,
            )
            for m in memberships
        }


def synced_at(app: Flask, course_id: int) -> datetime | None:
    with app.app_context():
        return db.session.get_one(Course, course_id).roster_synced_at
