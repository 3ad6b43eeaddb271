"""Turns the tool's domain events into outbox statements, in the transaction of the change they record."""

from __future__ import annotations

from lti_tool.courses.models import Course, Membership
from lti_tool.extensions import utcnow
from lti_tool.lti.claims import LaunchClaims
from lti_tool.settings import Settings
from lti_tool.statements.models import StatementOutbox
from lti_tool.statements.outbox import emit
from xapi import events
from xapi.builders import build_lti_launch, event_statement_id, opaque_ref
from xapi.vocabulary import Vocabulary


def statement_context(
    settings: Settings, *, tool_base: str, course: Course, launch: events.LaunchInfo
) -> events.StatementContext:
    """What every statement about `course` shares: IRIs under the tool's base, the institution's privacy choice."""
    return events.StatementContext(
        tool_base=settings.public_base_url or tool_base,
        launch=launch,
        course=events.Course(ref=course_ref(course), title=course.title),
        privacy=events.ActorPrivacy(
            include_name=settings.xapi_actor_include_name, use_email=settings.xapi_actor_use_email
        ),
        vocabulary=Vocabulary(settings.xapi_base_iri),
    )


def course_ref(course: Course) -> str:
    # Opaque and stable across databases: derived from LTI identifiers, not from our row ids.
    deployment = course.deployment
    return opaque_ref(deployment.platform.issuer, deployment.deployment_id, course.context_id)


def record_lti_launch(
    claims: LaunchClaims, membership: Membership, *, settings: Settings, tool_base: str
) -> StatementOutbox:
    """`launched`: someone opened the tool from a resource link."""
    launch = events.LaunchInfo(
        issuer=claims.issuer,
        deployment_id=claims.deployment_id,
        context_id=claims.context_id,
        resource_link_id=claims.resource_link_id,
        roles=tuple(claims.roles),
        platform=claims.lms_product,
        locale=claims.locale,
    )
    ctx = statement_context(settings, tool_base=tool_base, course=membership.course, launch=launch)
    statement = build_lti_launch(
        ctx,
        actor=events.ActorIdentity(issuer=claims.issuer, sub=claims.sub, name=claims.name, email=claims.email),
        statement_id=event_statement_id(f"lti-launch:{claims.launch_id}"),
        timestamp=utcnow(),
    )
    return emit(statement, event="lti-launch", platform_id=claims.platform_id, course_id=membership.course_id)
