"""Turns the tool's domain events into outbox statements, in the transaction of the change they record."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lti_tool.assessments.models import SkillAssessment
from lti_tool.courses.models import Course, Membership, person_name
from lti_tool.courses.services import LaunchedMember
from lti_tool.extensions import utcnow
from lti_tool.lti.claims import LaunchClaims
from lti_tool.mentoring.models import CheckinRequest, Goal, MentoringSession, Relationship, RelationshipMember
from lti_tool.programs.models import Match, Participant, Program, RematchRequest
from lti_tool.settings import Settings
from lti_tool.statements.models import StatementOutbox
from lti_tool.statements.outbox import emit, emit_at_once, emit_many
from lti_tool.surveys.models import SurveyResponse
from xapi import events
from xapi.builders import (
    build_agreement_accepted,
    build_assessment_submitted,
    build_checkin_requested,
    build_goal_completed,
    build_goal_set,
    build_lti_launch,
    build_match_published,
    build_mentor_request_event,
    build_mentoring_session_confirmed,
    build_mentoring_session_logged,
    build_profile_completed,
    build_rematch_requested,
    build_survey_answered,
    build_voiding,
    event_statement_id,
    iso_duration,
    opaque_ref,
)
from xapi.models import Statement
from xapi.vocabulary import Vocabulary


def statement_context(
    settings: Settings, *, tool_base: str, course_title: str | None, launch: events.LaunchInfo
) -> events.StatementContext:
    """What every statement about `course` shares: IRIs under the tool's base, the institution's privacy choice."""
    return events.StatementContext(
        tool_base=tool_base,
        launch=launch,
        course=events.Course(
            ref=context_ref(launch.issuer, launch.deployment_id, launch.context_id), title=course_title
        ),
        privacy=events.ActorPrivacy(
            include_name=settings.xapi_actor_include_name, use_email=settings.xapi_actor_use_email
        ),
        vocabulary=Vocabulary(settings.xapi_base_iri),
    )


def course_ref(course: Course) -> str:
    deployment = course.deployment
    return context_ref(deployment.platform.issuer, deployment.deployment_id, course.context_id)


def context_ref(issuer: str, deployment_id: str, context_id: str) -> str:
    """A course's ref from its LTI identifiers alone, which a launch carries: no row needs loading for it."""
    # Opaque and stable across databases: derived from LTI identifiers, not from our row ids.
    return opaque_ref(issuer, deployment_id, context_id)


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
    return statement_context(settings, tool_base=tool_base, course_title=course.title, launch=launch)


def enrolment(participant: Participant, program: events.Program | None = None) -> events.Enrolment:
    """A participant's enrolment: its registration ties all their statements in the program together.

    `program` is `program_activity(participant.program)` when the caller records many statements at once."""
    return events.Enrolment(
        program=program or program_activity(participant.program), registration=uuid.UUID(participant.registration)
    )


def program_activity(program: Program) -> events.Program:
    ref = opaque_ref(course_ref(program.course), "program", str(program.id))
    return events.Program(ref=ref, title=program.title)


def actor(membership: Membership) -> events.ActorIdentity:
    user = membership.user
    return events.ActorIdentity(issuer=user.issuer, sub=user.sub, name=user.display_name, email=user.email)


ACTOR_COLUMNS = ("issuer", "sub", "name", "given_name", "family_name", "email")  # of a user, for `actor_of`


def actor_of(
    issuer: str, sub: str, name: str | None, given: str | None, family: str | None, email: str | None
) -> events.ActorIdentity:
    """`actor` from a user's columns (ACTOR_COLUMNS, in order), for statements recorded in bulk."""
    return events.ActorIdentity(issuer=issuer, sub=sub, name=person_name(name, given, family), email=email)


def record_lti_launch(claims: LaunchClaims, member: LaunchedMember, *, settings: Settings, tool_base: str) -> None:
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
    ctx = statement_context(settings, tool_base=tool_base, course_title=member.course_title, launch=launch)
    statement = build_lti_launch(
        ctx,
        actor=events.ActorIdentity(issuer=claims.issuer, sub=claims.sub, name=claims.name, email=claims.email),
        statement_id=event_statement_id(f"lti-launch:{claims.launch_id}"),
        timestamp=utcnow(),
    )
    # Queued at once, without an ORM row: every click into the tool queues one.
    emit_at_once(statement, event="lti-launch", platform_id=claims.platform_id, course_id=member.course_id)


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


@dataclass(frozen=True)
class PublishedMatch:
    """What a `matched` statement says about one match: read as columns, so a publish of thousands loads no rows."""

    match_id: int
    mentee_registration: str
    mentee: events.ActorIdentity
    mentor: events.ActorIdentity
    skills: tuple[str, ...]  # what the mentor teaches (reverse and peer models), sorted
    published_at: datetime


def published_match(match: Match) -> PublishedMatch:
    teaches = match.explanation.get("teaches") if isinstance(match.explanation, dict) else None
    return PublishedMatch(
        match_id=match.id,
        mentee_registration=match.mentee.registration,
        mentee=actor(match.mentee.membership),
        mentor=actor(match.mentor.membership),
        skills=tuple(sorted(teaches)) if isinstance(teaches, dict) else (),
        published_at=match.published_at or utcnow(),
    )


PROGRESS_EVERY = 500  # statements built between two reports of a bulk record's progress


def record_matches_published(
    program: Program,
    matches: Sequence[PublishedMatch],
    *,
    settings: Settings,
    tool_base: str,
    progress: Callable[[int], None] | None = None,
) -> None:
    """`matched`: each mentee and their mentor were paired (by the engine, the instructor or the mentee), written
    to the outbox in one bulk insert. What the statements share (the course's context, the program's activity)
    is worked out once. `progress` hears how many are built so far, before anything is written."""
    course = program.course
    ctx = course_statement_context(settings, tool_base=tool_base, course=course)
    activity = program_activity(program)
    course_id_ref = course_ref(course)
    statements = []
    for number, match in enumerate(matches, 1):
        statements.append(
            build_match_published(
                ctx,
                events.Enrolment(program=activity, registration=uuid.UUID(match.mentee_registration)),
                mentee=match.mentee,
                mentor=match.mentor,
                match_ref=opaque_ref(course_id_ref, "match", str(match.match_id)),
                statement_id=event_statement_id(f"match-published:{match.mentee_registration}:{match.match_id}"),
                timestamp=match.published_at,
                mentoring_model=program.model,
                skills=match.skills,
            )
        )
        if progress is not None and number % PROGRESS_EVERY == 0:
            progress(number)
    emit_many(statements, event="match-published", platform_id=course.deployment.platform_id, course_id=course.id)


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
    return _emit_for(program, statement, "rematch-requested")


@dataclass(frozen=True)
class RequestStep:
    """One step of a mentee's request of a mentor, as a statement says it (plain data: expiry records many)."""

    request_id: int
    mentee_registration: str
    actor: events.ActorIdentity  # the mentee, the mentor or the staff member who stepped in
    mentor: events.ActorIdentity
    event: events.MentorRequestEvent
    at: datetime


def record_mentor_request_steps(
    program: Program, steps: Sequence[RequestStep], *, settings: Settings, tool_base: str
) -> None:
    """A mentee requested a mentor, or the request was accepted, declined, approved, cancelled or expired: one
    statement per step, in one bulk insert. The mentee's registration ties a request's steps together."""
    if not steps:
        return
    course = program.course
    ctx = course_statement_context(settings, tool_base=tool_base, course=course)
    activity = program_activity(program)
    course_id_ref = course_ref(course)
    statements = [
        build_mentor_request_event(
            ctx,
            events.Enrolment(program=activity, registration=uuid.UUID(step.mentee_registration)),
            event=step.event,
            actor=step.actor,
            mentor=step.mentor,
            request_ref=opaque_ref(course_id_ref, "mentor-request", str(step.request_id)),
            statement_id=event_statement_id(
                f"mentor-request:{step.mentee_registration}:{step.request_id}:{step.event.value}"
            ),
            timestamp=step.at,
        )
        for step in steps
    ]
    emit_many(statements, event="mentor-request", platform_id=course.deployment.platform_id, course_id=course.id)


# --- Mentoring relationships (pair pages) ---------------------------------------------------------------------


def relationship_ref(relationship: Relationship) -> str:
    return opaque_ref(course_ref(relationship.program.course), "relationship", str(relationship.id))


def _emit_for(program: Program, statement: Statement, event: str) -> StatementOutbox:
    course = program.course
    return emit(statement, event=event, platform_id=course.deployment.platform_id, course_id=course.id)


def _pair_context(relationship: Relationship, settings: Settings, tool_base: str) -> events.StatementContext:
    return course_statement_context(settings, tool_base=tool_base, course=relationship.program.course)


def record_agreement_accepted(
    relationship: Relationship, member: RelationshipMember, *, settings: Settings, tool_base: str
) -> StatementOutbox:
    """`accepted` the mentoring agreement: one statement per member of the relationship."""
    statement = build_agreement_accepted(
        _pair_context(relationship, settings, tool_base),
        enrolment(member.participant),
        actor=actor(member.participant.membership),
        mentor=actor(relationship.counterpart_of(member).participant.membership),
        match_ref=relationship_ref(relationship),
        statement_id=event_statement_id(f"agreement-accepted:{member.participant.registration}:{relationship.id}"),
        timestamp=member.accepted_at or utcnow(),
    )
    return _emit_for(relationship.program, statement, "agreement-accepted")


def mentoring_session_ref(mentoring_session: MentoringSession) -> str:
    return opaque_ref(relationship_ref(mentoring_session.relationship), "session", str(mentoring_session.id))


def _mentoring_session_statement_id(
    mentoring_session: MentoringSession, member: RelationshipMember, record: events.AttendanceRecord
) -> uuid.UUID:
    # One statement per member, session, kind and version of the log: each version is recorded afresh.
    return event_statement_id(
        f"session-{record.value}:{member.participant.registration}:{mentoring_session.id}:v{mentoring_session.version}"
    )


def record_mentoring_session(
    mentoring_session: MentoringSession,
    member: RelationshipMember,
    record: events.AttendanceRecord,
    *,
    settings: Settings,
    tool_base: str,
) -> StatementOutbox:
    """`attended` a mentoring session: by the member who logged it, or confirmed by another member.

    The timestamp is when the session started: when the attendance happened, not when it was recorded. Each
    version of an edited log is its own record (see `void_mentoring_session_record`).
    """
    relationship = mentoring_session.relationship
    build = (
        build_mentoring_session_logged
        if record is events.AttendanceRecord.LOGGED
        else build_mentoring_session_confirmed
    )
    statement = build(
        _pair_context(relationship, settings, tool_base),
        enrolment(member.participant),
        participant=actor(member.participant.membership),
        mentor=actor(relationship.counterpart_of(member).participant.membership),
        mentoring_session_ref=mentoring_session_ref(mentoring_session),
        duration=iso_duration(timedelta(minutes=mentoring_session.duration_minutes)),
        statement_id=_mentoring_session_statement_id(mentoring_session, member, record),
        timestamp=mentoring_session.started_at,
    )
    return _emit_for(relationship.program, statement, f"session-{record.value}")


def void_mentoring_session_record(
    mentoring_session: MentoringSession,
    member: RelationshipMember,
    record: events.AttendanceRecord,
    *,
    settings: Settings,
    tool_base: str,
) -> StatementOutbox:
    """Void the statement `record_mentoring_session` sent for `member` at the session's current version; call it
    before an edit raises the version.

    Statements are never edited: when a log is edited its old `attended` statements (with the old duration and
    start, and confirmations of what has since changed) are voided, so the LRS counts each session once, as it
    now stands; the new version's statements are sent as the members record it again.
    """
    relationship = mentoring_session.relationship
    voided = _mentoring_session_statement_id(mentoring_session, member, record)
    statement = build_voiding(
        _pair_context(relationship, settings, tool_base),
        actor=actor(member.participant.membership),
        voided_statement_id=voided,
        statement_id=event_statement_id(f"session-voided:{voided}"),
        timestamp=utcnow(),
        enrolment=enrolment(member.participant),
    )
    return _emit_for(relationship.program, statement, "session-voided")


def goal_ref(goal: Goal) -> str:
    return opaque_ref(relationship_ref(goal.relationship), "goal", str(goal.id))


def record_goal_set(goal: Goal, *, settings: Settings, tool_base: str) -> StatementOutbox:
    statement = build_goal_set(
        _pair_context(goal.relationship, settings, tool_base),
        enrolment(goal.owner),
        actor=actor(goal.owner.membership),
        goal_ref=goal_ref(goal),
        statement_id=event_statement_id(f"goal-set:{goal.owner.registration}:{goal.id}"),
        timestamp=goal.created_at or utcnow(),
        skill=goal.skill_key,
    )
    return _emit_for(goal.relationship.program, statement, "goal-set")


def record_goal_completed(goal: Goal, *, settings: Settings, tool_base: str) -> StatementOutbox:
    statement = build_goal_completed(
        _pair_context(goal.relationship, settings, tool_base),
        enrolment(goal.owner),
        actor=actor(goal.owner.membership),
        goal_ref=goal_ref(goal),
        # A goal reopened and completed again is a new completion: the count of completions keys the id.
        statement_id=event_statement_id(
            f"goal-completed:{goal.owner.registration}:{goal.id}:{(goal.completed_at or utcnow()).isoformat()}"
        ),
        timestamp=goal.completed_at or utcnow(),
        skill=goal.skill_key,
    )
    return _emit_for(goal.relationship.program, statement, "goal-completed")


def record_checkin_requested(request: CheckinRequest, *, settings: Settings, tool_base: str) -> StatementOutbox:
    """`requested check-in`: a member asked the others of their relationship to meet; the message stays in the tool."""
    relationship = request.relationship
    member = next(m for m in relationship.members if m.participant_id == request.requested_by_id)
    statement = build_checkin_requested(
        _pair_context(relationship, settings, tool_base),
        enrolment(member.participant),
        actor=actor(member.participant.membership),
        mentor=actor(relationship.counterpart_of(member).participant.membership),
        relationship_ref=relationship_ref(relationship),
        statement_id=event_statement_id(f"checkin-requested:{member.participant.registration}:{request.id}"),
        timestamp=request.created_at or utcnow(),
    )
    return _emit_for(relationship.program, statement, "checkin-requested")


# --- Skill assessments and surveys ---------------------------------------------------------------------------


def _assessment_statement_id(assessment: SkillAssessment, submitted_at: datetime) -> uuid.UUID:
    # One statement per submission: a rater who submits again while the round is open makes a new one.
    when = submitted_at.astimezone(UTC).isoformat(timespec="microseconds")  # one spelling, however it was read
    return event_statement_id(f"assessment-submitted:{assessment.subject.registration}:{assessment.id}:{when}")


def record_assessment_submitted(
    assessment: SkillAssessment,
    *,
    settings: Settings,
    tool_base: str,
    score: events.ScoreInput | None = None,
    replaces: datetime | None = None,
) -> StatementOutbox:
    """`scored` a skills assessment: the rater is the actor; the result holds the level given per skill.

    The assessment activity is the round for one mentee, and the registration is the mentee's enrolment, so
    self, mentor and instructor ratings of the same person in the same round can be compared in the LRS.
    A rater may submit again while the round is open: each submission is a statement of its own, its id keyed by
    the submission time, and `replaces` (the replaced submission's time) voids the earlier one, so the LRS holds
    one valid `scored` statement per rater, mentee and round.
    """
    round_ = assessment.round
    program = round_.program
    subject = assessment.subject
    ctx = course_statement_context(settings, tool_base=tool_base, course=program.course)
    rater, enrolled = actor(assessment.rater), enrolment(subject)
    submitted_at = assessment.submitted_at or utcnow()
    if replaces is not None:
        voided = _assessment_statement_id(assessment, replaces)
        voiding = build_voiding(
            ctx,
            actor=rater,
            voided_statement_id=voided,
            statement_id=event_statement_id(f"assessment-voided:{voided}"),
            timestamp=submitted_at,
            enrolment=enrolled,
        )
        _emit_for(program, voiding, "assessment-voided")
    statement = build_assessment_submitted(
        ctx,
        enrolled,
        actor=rater,
        assessment_ref=opaque_ref(course_ref(program.course), "assessment", str(round_.id), subject.registration),
        statement_id=_assessment_statement_id(assessment, submitted_at),
        timestamp=submitted_at,
        score=score,
        skill_scores={rating.skill_key: rating.level for rating in assessment.ratings},
    )
    return _emit_for(program, statement, "assessment-submitted")


def _survey_answer_id(response: SurveyResponse, revision: int) -> uuid.UUID:
    return event_statement_id(f"survey-answered:{response.participant.registration}:{response.survey.id}:{revision}")


def record_survey_answered(
    response: SurveyResponse, answers: dict[str, str | int | float | bool], *, settings: Settings, tool_base: str
) -> StatementOutbox:
    """`answered` a survey; `answers` holds coded answers only (scales and choices), never free text.

    Answers may change while the survey is open. Statements are never edited: a changed answer (revision > 1)
    voids the previous revision's `answered` statement and sends a new one, so the LRS holds one valid
    `answered` statement per person and survey, carrying their latest answers.
    """
    survey = response.survey
    program = survey.program
    ctx = course_statement_context(settings, tool_base=tool_base, course=program.course)
    who, enrolled = actor(response.participant.membership), enrolment(response.participant)
    timestamp = response.submitted_at or utcnow()
    if response.revision > 1:
        voiding = build_voiding(
            ctx,
            actor=who,
            voided_statement_id=_survey_answer_id(response, response.revision - 1),
            statement_id=event_statement_id(
                f"survey-answer-voided:{response.participant.registration}:{survey.id}:{response.revision - 1}"
            ),
            timestamp=timestamp,
            enrolment=enrolled,
        )
        _emit_for(program, voiding, "survey-answer-voided")
    statement = build_survey_answered(
        ctx,
        enrolled,
        actor=who,
        survey_ref=opaque_ref(course_ref(program.course), "survey", str(survey.id)),
        statement_id=_survey_answer_id(response, response.revision),
        timestamp=timestamp,
        answers=answers,
    )
    return _emit_for(program, statement, "survey-answered")
