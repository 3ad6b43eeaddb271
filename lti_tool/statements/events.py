"""Turns the tool's domain events into outbox statements, in the transaction of the change they record."""

from __future__ import annotations

import uuid

from lti_tool.courses.models import Course, Membership
from lti_tool.extensions import utcnow
from lti_tool.lti.claims import LaunchClaims
from lti_tool.programs.models import Match, Participant, RematchRequest
from lti_tool.settings import Settings
from lti_tool.statements.models import StatementOutbox
from lti_tool.statements.outbox import emit
from xapi import events
from xapi.builders import (
    build_lti_launch,
    build_match_published,
    build_profile_completed,
    build_rematch_requested,
    event_statement_id,
    opaque_ref,
)
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


def course_statement_context(settings: Settings, *, tool_base: str, course: Course) -> events.StatementContext:
    """The context of statements about a course outside a launch (profiles, matches, sessions...)."""
    deployment = course.deployment
    launch = events.LaunchInfo(
        issuer=deployment.platform.issuer,
        deployment_id=deployment.deployment_id,
        context_id=course.context_id,
        platform=course.lms_product,
        locale=course.locale,
    )
    return statement_context(settings, tool_base=tool_base, course=course, launch=launch)


def enrolment(participant: Participant) -> events.Enrolment:
    """A participant's enrolment: its registration ties all their statements in the program together."""
    program = participant.program
    course = program.course
    ref = opaque_ref(course_ref(course), "program", str(program.id))
    return events.Enrolment(
        program=events.Program(ref=ref, title=program.title), registration=uuid.UUID(participant.registration)
    )


def actor(membership: Membership) -> events.ActorIdentity:
    user = membership.user
    return events.ActorIdentity(issuer=user.issuer, sub=user.sub, name=user.display_name, email=user.email)


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


def record_profile_completed(participant: Participant, *, settings: Settings, tool_base: str) -> StatementOutbox:
    """`completed` the mentoring profile: once per enrolment, when the profile first becomes complete.

    The role extension holds one value: someone who signed up for both sides is recorded as a mentee, the side
    the program is run for (their wish to mentor stays on the profile, and matches record who mentors whom).
    """
    program = participant.program
    course = program.course
    role = events.MentoringRole.MENTEE if participant.wants_to_be_mentored else events.MentoringRole.MENTOR
    statement = build_profile_completed(
        course_statement_context(settings, tool_base=tool_base, course=course),
        enrolment(participant),
        actor=actor(participant.membership),
        role=role,
        statement_id=event_statement_id(f"profile-completed:{participant.registration}"),
        timestamp=participant.completed_at or utcnow(),
    )
    return emit(statement, event="profile-completed", platform_id=course.deployment.platform_id, course_id=course.id)


def match_ref(match: Match) -> str:
    return opaque_ref(course_ref(match.program.course), "match", str(match.id))


def record_match_published(match: Match, *, settings: Settings, tool_base: str) -> StatementOutbox:
    """`matched`: a mentee and their mentor were paired (by the engine, the instructor or the mentee)."""
    program = match.program
    ctx = course_statement_context(settings, tool_base=tool_base, course=program.course)
    teaches = match.explanation.get("teaches") if isinstance(match.explanation, dict) else None
    statement = build_match_published(
        ctx,
        enrolment(match.mentee),
        mentee=actor(match.mentee.membership),
        mentor=actor(match.mentor.membership),
        match_ref=match_ref(match),
        statement_id=event_statement_id(f"match-published:{match.mentee.registration}:{match.id}"),
        timestamp=utcnow(),
        mentoring_model=program.model,
        skills=tuple(sorted(teaches)) if isinstance(teaches, dict) else (),
    )
    return emit(
        statement,
        event="match-published",
        platform_id=program.course.deployment.platform_id,
        course_id=program.course_id,
    )


def record_rematch_requested(request: RematchRequest, *, settings: Settings, tool_base: str) -> StatementOutbox:
    """A participant asked to leave their match. The free-text reason stays in the tool: it may name people."""
    match = request.match
    program = match.program
    ctx = course_statement_context(settings, tool_base=tool_base, course=program.course)
    statement = build_rematch_requested(
        ctx,
        enrolment(request.requested_by),
        actor=actor(request.requested_by.membership),
        mentor=actor(match.mentor.membership),
        match_ref=match_ref(match),
        statement_id=event_statement_id(f"rematch-requested:{request.requested_by.registration}:{request.id}"),
        timestamp=utcnow(),
    )
    return emit(
        statement,
        event="rematch-requested",
        platform_id=program.course.deployment.platform_id,
        course_id=program.course_id,
    )
