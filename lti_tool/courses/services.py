"""Records what a validated launch says about people and courses, and answers who may see what."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from lti_tool.courses.models import Course, Membership, ResourceLink, User
from lti_tool.extensions import db, utcnow
from lti_tool.lti.claims import LaunchClaims
from lti_tool.lti.roles import course_role


def record_launch(claims: LaunchClaims) -> Membership:
    """Create or update the user, course, resource link and membership a launch describes. The caller commits."""
    user = db.session.execute(
        select(User).where(User.issuer == claims.issuer, User.sub == claims.sub)
    ).scalar_one_or_none()
    if user is None:
        user = User(issuer=claims.issuer, sub=claims.sub)
        db.session.add(user)
    # The LMS is the source of truth for names: a launch that omits them (privacy settings) keeps what we had.
    for attribute in ("name", "given_name", "family_name", "email", "locale"):
        value = getattr(claims, attribute)
        if value:
            setattr(user, attribute, value)

    course = db.session.execute(
        select(Course).where(Course.deployment_id == claims.deployment_pk, Course.context_id == claims.context_id)
    ).scalar_one_or_none()
    if course is None:
        course = Course(deployment_id=claims.deployment_pk, context_id=claims.context_id)
        db.session.add(course)
    course.title = claims.context_title or course.title
    course.label = claims.context_label or course.label
    course.lms_product = claims.lms_product or course.lms_product
    course.locale = claims.locale or course.locale
    if claims.ags_lineitems_url:
        course.ags_lineitems_url, course.ags_scopes = claims.ags_lineitems_url, list(claims.ags_scopes)
    course.nrps_url = claims.nrps_url or course.nrps_url
    db.session.flush()

    if claims.resource_link_id:
        link = db.session.execute(
            select(ResourceLink).where(
                ResourceLink.course_id == course.id, ResourceLink.resource_link_id == claims.resource_link_id
            )
        ).scalar_one_or_none()
        if link is None:
            link = ResourceLink(course_id=course.id, resource_link_id=claims.resource_link_id)
            db.session.add(link)
        link.title = claims.resource_link_title or link.title
        link.custom = dict(claims.custom)
        link.line_item_url = claims.ags_lineitem_url or link.line_item_url

    membership = db.session.execute(
        select(Membership).where(Membership.user_id == user.id, Membership.course_id == course.id)
    ).scalar_one_or_none()
    if membership is None:
        membership = Membership(user=user, course=course)
        db.session.add(membership)
    membership.roles = list(claims.roles)
    membership.course_role = course_role(claims.roles).value
    membership.active = True
    membership.last_launch_at = utcnow()
    db.session.flush()
    return membership


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
