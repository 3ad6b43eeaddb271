"""Records what a validated launch says about people and courses, and answers who may see what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, func, select, update

from lti_tool.courses.models import Course, Membership, ResourceLink, User
from lti_tool.extensions import db, prepared_upsert, utcnow
from lti_tool.gradebook.placement import line_item_learned
from lti_tool.lti.claims import LaunchClaims
from lti_tool.lti.roles import course_role


@dataclass(frozen=True)
class LaunchedMember:
    """What a recorded launch wrote about its member and course, as the rest of the launch needs it: plain values
    from the statements' RETURNING, so that no row is loaded or tracked for them."""

    membership_id: int
    user_id: int
    course_id: int
    course_role: str
    course_title: str | None
    nrps_url: str | None
    roster_synced_at: datetime | None

    @classmethod
    def of(cls, membership: Membership) -> LaunchedMember:
        """The same values read from a stored membership (a frame session started after a launch, not by it)."""
        course = membership.course
        return cls(
            membership.id,
            membership.user_id,
            membership.course_id,
            membership.course_role,
            course.title,
            course.nrps_url,
            course.roster_synced_at,
        )


def record_launch(claims: LaunchClaims) -> LaunchedMember:
    """Create or update the user, course, resource link and membership a launch describes. The caller commits.

    In three statements when the course and link are known and unchanged. Two first launches at once (one
    learner's, or two learners' into a new course) must both succeed, so rows that may not exist yet are written
    with INSERT ... ON CONFLICT: the later launch waits for the earlier one's row and updates it. The course and
    its links are shared by every launch into the course, so they are read first and written only when new or
    changed: an upsert would lock them for the rest of every launch's transaction. Every statement is built once
    per process, on the tables: a launch runs on every click into the tool, and ORM rows cost it more than its
    SQL does.
    """
    now = utcnow()
    # The LMS is the source of truth for names: a launch that omits them (privacy settings) keeps what we had.
    names = {attribute: getattr(claims, attribute) or None for attribute in _USER_NAMES}
    user_id = _upsert(
        _USER,
        {"issuer": claims.issuer, "sub": claims.sub, **names, "created_at": now, "updated_at": now},
        keys=("issuer", "sub"),
        replace=("updated_at",),
        keep_when_missing=_USER_NAMES,
        returning=(_USER.c.id,),
    )[0]
    course_values = {
        "title": claims.context_title,
        "label": claims.context_label,
        "lms_product": claims.lms_product,
        "locale": claims.locale,
        "nrps_url": claims.nrps_url,
    }
    # A launch without the AGS claim keeps the course's service; one with it brings the service's current scopes.
    service = {"ags_lineitems_url": claims.ags_lineitems_url, "ags_scopes": list(claims.ags_scopes)}
    known = db.session.execute(
        _KNOWN_COURSE_AND_LINK,
        {
            "deployment_id": claims.deployment_pk,
            "context_id": claims.context_id,
            "resource_link_id": claims.resource_link_id,
        },
    ).one_or_none()
    if known is None:
        course_id, course_title, nrps_url, roster_synced_at = _upsert(
            _COURSE,
            {
                "deployment_id": claims.deployment_pk,
                "context_id": claims.context_id,
                **course_values,
                **(service if claims.ags_lineitems_url else {"ags_scopes": []}),
                "created_at": now,
            },
            keys=("deployment_id", "context_id"),
            replace=tuple(service) if claims.ags_lineitems_url else (),
            keep_when_missing=tuple(course_values),
            returning=(_COURSE.c.id, _COURSE.c.title, _COURSE.c.nrps_url, _COURSE.c.roster_synced_at),
        )
        link_id, stored_link = None, {}
    else:
        course_id, link_id = known.id, known.link_id
        changes: dict[str, Any] = {k: v for k, v in course_values.items() if v}
        if claims.ags_lineitems_url:
            changes |= service
        _update_changed(_COURSE, course_id, dict(known._mapping), changes)
        course_title = changes.get("title", known.title)
        nrps_url = changes.get("nrps_url", known.nrps_url)
        roster_synced_at = known.roster_synced_at
        stored_link = {"title": known.link_title, "line_item_url": known.line_item_url, "custom": known.custom}

    if claims.resource_link_id:
        link_values = {"title": claims.resource_link_title, "line_item_url": claims.ags_lineitem_url}
        learned_line_item = (
            bool(claims.ags_lineitem_url) and stored_link.get("line_item_url") != claims.ags_lineitem_url
        )
        if link_id is None:
            _upsert(
                _LINK,
                {
                    "course_id": course_id,
                    "resource_link_id": claims.resource_link_id,
                    **link_values,
                    "custom": dict(claims.custom),
                },
                keys=("course_id", "resource_link_id"),
                replace=("custom",),
                keep_when_missing=tuple(link_values),
                returning=(_LINK.c.id,),
            )
        else:
            changes = {"custom": dict(claims.custom), **{k: v for k, v in link_values.items() if v}}
            _update_changed(_LINK, link_id, stored_link, changes)
        if learned_line_item:
            # A graded round placed by deep linking: its scores go to this link's gradebook column from now on.
            line_item_learned(course_id, claims.custom, now=now)

    role = course_role(claims.roles).value
    membership_id = _upsert(
        _MEMBERSHIP,
        {
            "user_id": user_id,
            "course_id": course_id,
            "roles": list(claims.roles),
            "course_role": role,
            "active": True,
            "last_launch_at": now,
        },
        keys=("user_id", "course_id"),
        replace=("roles", "course_role", "active", "last_launch_at"),
        returning=(_MEMBERSHIP.c.id,),
    )[0]
    return LaunchedMember(membership_id, user_id, course_id, role, course_title, nrps_url, roster_synced_at)


_USER_NAMES = ("name", "given_name", "family_name", "email", "locale")
_USER, _COURSE, _LINK, _MEMBERSHIP = User.__table__, Course.__table__, ResourceLink.__table__, Membership.__table__
# The launch's course and resource link if the tool has them, in one query.
_KNOWN_COURSE_AND_LINK = (
    select(
        _COURSE.c.id,
        _COURSE.c.title,
        _COURSE.c.label,
        _COURSE.c.lms_product,
        _COURSE.c.locale,
        _COURSE.c.nrps_url,
        _COURSE.c.ags_lineitems_url,
        _COURSE.c.ags_scopes,
        _COURSE.c.roster_synced_at,
        _LINK.c.id.label("link_id"),
        _LINK.c.title.label("link_title"),
        _LINK.c.line_item_url,
        _LINK.c.custom,
    )
    .outerjoin(_LINK, (_LINK.c.course_id == _COURSE.c.id) & (_LINK.c.resource_link_id == bindparam("resource_link_id")))
    .where(_COURSE.c.deployment_id == bindparam("deployment_id"), _COURSE.c.context_id == bindparam("context_id"))
)


def _upsert(
    table: Table,
    values: dict[str, Any],
    *,
    keys: tuple[str, ...],
    replace: tuple[str, ...],
    keep_when_missing: tuple[str, ...] = (),
    returning: tuple[Any, ...],
) -> Row[Any]:
    """INSERT ... ON CONFLICT (keys) DO UPDATE ... RETURNING: a row another transaction is inserting makes this one
    wait for it, then update it, never fail. Columns in `replace` take the new value; those in
    `keep_when_missing` keep the stored one when the new one is None."""
    statement = prepared_upsert(
        table, tuple(values), keys=keys, replace=replace, keep_when_missing=keep_when_missing, returning=returning
    )
    row: Row[Any] = db.session.execute(statement, values).one()
    return row


def _update_changed(table: Table, row_id: int, stored: Mapping[str, Any], values: dict[str, Any]) -> None:
    # An equal value writes nothing: no UPDATE (and no row lock) unless something changed.
    changed = {name: value for name, value in values.items() if stored[name] != value}
    if changed:
        db.session.execute(update(table).where(table.c.id == row_id).values(changed))


def membership_for(membership_id: int | None, course_id: int, *, user_id: int | None) -> Membership | None:
    """The active membership this browser launched with, if it is `user_id`'s and belongs to `course_id`."""
    if membership_id is None or user_id is None:
        return None
    return db.session.execute(
        select(Membership).where(
            Membership.id == membership_id,
            Membership.user_id == user_id,
            Membership.course_id == course_id,
            Membership.active.is_(True),
        )
    ).scalar_one_or_none()


@dataclass(frozen=True)
class RosterCounts:
    """Active course members per course role: everyone known from launches and roster syncs (`members`), and
    those of them who have opened the tool (`opened`; roster-only members have not)."""

    members: dict[str, int]
    opened: dict[str, int]


def course_roster_counts(course_id: int) -> RosterCounts:
    rows = db.session.execute(
        select(Membership.course_role, func.count(Membership.id), func.count(Membership.last_launch_at))
        .where(Membership.course_id == course_id, Membership.active.is_(True))
        .group_by(Membership.course_role)
    ).all()
    return RosterCounts(
        members={role: count for role, count, _ in rows}, opened={role: opened for role, _, opened in rows}
    )
