"""Records what a validated launch says about people and courses, and answers who may see what."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from lti_tool.courses.models import Course, Membership, ResourceLink, User
from lti_tool.extensions import db, prepared_upsert, utcnow
from lti_tool.lti.claims import LaunchClaims
from lti_tool.lti.roles import course_role


def record_launch(claims: LaunchClaims) -> Membership:
    """Create or update the user, course, resource link and membership a launch describes. The caller commits.

    In four statements when the course is known. Two first launches at once (one learner's, or two learners' into
    a new course) must both succeed, so rows that may not exist yet are written with INSERT ... ON CONFLICT: the
    later launch waits for the earlier one's row and updates it. The course and its links are shared by every
    launch into the course, so they are read first and written only when new or changed: an upsert would lock
    them for the rest of every launch's transaction.
    """
    now = utcnow()
    # The LMS is the source of truth for names: a launch that omits them (privacy settings) keeps what we had.
    names = {attribute: getattr(claims, attribute) or None for attribute in _USER_NAMES}
    user = _upsert(
        User,
        {"issuer": claims.issuer, "sub": claims.sub, **names, "created_at": now, "updated_at": now},
        keys=("issuer", "sub"),
        replace=("updated_at",),
        keep_when_missing=_USER_NAMES,
    )
    course, link = _known_course_and_link(claims)
    course_values = {
        "title": claims.context_title,
        "label": claims.context_label,
        "lms_product": claims.lms_product,
        "locale": claims.locale,
        "nrps_url": claims.nrps_url,
    }
    # A launch without the AGS claim keeps the course's service; one with it brings the service's current scopes.
    service = {"ags_lineitems_url": claims.ags_lineitems_url, "ags_scopes": list(claims.ags_scopes)}
    if course is None:
        course = _upsert(
            Course,
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
        )
    else:
        _update_changed(course, {k: v for k, v in course_values.items() if v})
        if claims.ags_lineitems_url:
            _update_changed(course, service)

    if claims.resource_link_id:
        link_values = {"title": claims.resource_link_title, "line_item_url": claims.ags_lineitem_url}
        if link is None:
            _upsert(
                ResourceLink,
                {
                    "course_id": course.id,
                    "resource_link_id": claims.resource_link_id,
                    **link_values,
                    "custom": dict(claims.custom),
                },
                keys=("course_id", "resource_link_id"),
                replace=("custom",),
                keep_when_missing=tuple(link_values),
            )
        else:
            _update_changed(link, {"custom": dict(claims.custom), **{k: v for k, v in link_values.items() if v}})

    membership: Membership = _upsert(
        Membership,
        {
            "user_id": user.id,
            "course_id": course.id,
            "roles": list(claims.roles),
            "course_role": course_role(claims.roles).value,
            "active": True,
            "last_launch_at": now,
        },
        keys=("user_id", "course_id"),
        replace=("roles", "course_role", "active", "last_launch_at"),
    )
    # The session holds rows weakly: tie them to the membership, so what reads them next (the statement, the
    # roster check) finds them loaded instead of selecting them again.
    set_committed_value(membership, "user", user)
    set_committed_value(membership, "course", course)
    db.session.flush()
    return membership


_USER_NAMES = ("name", "given_name", "family_name", "email", "locale")


def _known_course_and_link(claims: LaunchClaims) -> tuple[Course | None, ResourceLink | None]:
    """The launch's course and resource link if the tool has them, in one query."""
    link_join = (ResourceLink.course_id == Course.id) & (ResourceLink.resource_link_id == claims.resource_link_id)
    row = db.session.execute(
        select(Course, ResourceLink)
        .outerjoin(ResourceLink, link_join)
        .where(Course.deployment_id == claims.deployment_pk, Course.context_id == claims.context_id)
    ).one_or_none()
    return (None, None) if row is None else (row[0], row[1])


def _upsert(
    model: Any,
    values: dict[str, Any],
    *,
    keys: tuple[str, ...],
    replace: tuple[str, ...],
    keep_when_missing: tuple[str, ...] = (),
) -> Any:
    """INSERT ... ON CONFLICT (keys) DO UPDATE ... RETURNING the row, as an object of the session: a row another
    transaction is inserting makes this one wait for it, then update it, never fail. Columns in `replace` take
    the new value; those in `keep_when_missing` keep the stored one when the new one is None."""
    statement = prepared_upsert(
        model, tuple(values), keys=keys, replace=replace, keep_when_missing=keep_when_missing, returning=(model,)
    )
    return db.session.execute(statement, values, execution_options={"populate_existing": True}).scalar_one()


def _update_changed(row: Any, values: dict[str, Any]) -> None:
    # Assigning an equal value leaves the row clean: no UPDATE (and no row lock) unless something changed.
    for attribute, value in values.items():
        if getattr(row, attribute) != value:
            setattr(row, attribute, value)


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
