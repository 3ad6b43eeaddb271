"""One pure function per domain event, turning plain inputs into a validated xAPI statement.

Builders never read the clock nor mint random ids: the caller passes `statement_id` (see
`event_statement_id`) and `timestamp`, so building the same event twice gives the same bytes and a
resend is recognised by the LRS as the same statement.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final
from uuid import UUID, uuid5

from pydantic import JsonValue

from xapi import vocabulary as v
from xapi.events import (
    ActorIdentity,
    ActorPrivacy,
    AttendanceRecord,
    Enrolment,
    MentoringRole,
    MentorRequestEvent,
    ScoreInput,
    StatementContext,
)
from xapi.exceptions import StatementBuildError
from xapi.models import (
    Account,
    Activity,
    ActivityDefinition,
    Agent,
    Context,
    ContextActivities,
    Result,
    Score,
    Statement,
    StatementRef,
    Verb,
    language_tag_of,
)
from xapi.vocabulary import Vocabulary

# Fixed forever: changing it would give every past event a new statement id, and a backfill would
# then duplicate statements instead of being recognised as resends.
STATEMENT_ID_NAMESPACE: Final = UUID("f3ed6bb6-ffc7-505b-9289-9662555d0a53")

_OPAQUE_REF: Final = re.compile(r"[A-Za-z0-9._~-]{1,128}")


def event_statement_id(namespace_key: str) -> UUID:
    """A statement id that is the same every time for the same event key, e.g. "match:42:published"."""
    if not namespace_key:
        raise StatementBuildError("an event key is needed for a stable statement id")
    return uuid5(STATEMENT_ID_NAMESPACE, namespace_key)


def opaque_ref(*parts: str) -> str:
    """A short, URL-safe, non-reversible reference for use in activity IRIs (e.g. from LTI ids)."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:32]


def iso_duration(value: timedelta) -> str:
    """A timedelta as a canonical ISO 8601 duration: 45 min -> PT45M, 90 min -> PT1H30M."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms < 0:
        raise StatementBuildError("a duration cannot be negative")
    hours, rest_ms = divmod(total_ms, 3_600_000)
    minutes, rest_ms = divmod(rest_ms, 60_000)
    seconds, millis = divmod(rest_ms, 1000)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if seconds or millis or text == "PT":
        text += f"{seconds}.{millis:03d}".rstrip("0").rstrip(".") + "S"
    return text


def activity_iri(tool_base: str, kind: str, ref: str) -> str:
    """`{tool_base}/xapi/activities/{kind}/{ref}`; `ref` must be opaque so no personal data lands in IRIs."""
    if not _OPAQUE_REF.fullmatch(ref):
        raise StatementBuildError(f"{kind} ref must be 1-128 URL-safe characters (use opaque_ref)")
    return f"{tool_base.rstrip('/')}/xapi/activities/{kind}/{ref}"


def agent_for(identity: ActorIdentity, privacy: ActorPrivacy) -> Agent:
    """The xAPI Agent for a person, as much identified as `privacy` allows."""
    fields: dict[str, Any] = {}
    if privacy.include_name and identity.name:
        fields["name"] = identity.name
    if privacy.use_email and identity.email:
        fields["mbox"] = f"mailto:{identity.email}"
    else:
        fields["account"] = Account(homePage=identity.issuer, name=identity.sub)
    return Agent(**fields)


def _verb(ctx: StatementContext, iri: str) -> Verb:
    return _verb_named(iri, ctx.vocabulary.display_name(iri))


# Statement parts are immutable once validated, so the parts many statements share (verbs, the course, the
# program, the profile, an activity type) are validated once and reused: a publish of 6,000 matches built each
# of them 6,000 times. pydantic takes a validated part as it is.
@functools.lru_cache(maxsize=1024)
def _verb_named(iri: str, display: str) -> Verb:
    return Verb(id=iri, display={v.EN_US: display})


@functools.lru_cache(maxsize=1024)
def _definition(activity_type: str, title: str | None) -> ActivityDefinition:
    definition: dict[str, Any] = {"type": activity_type}
    if title:
        definition["name"] = {v.EN_US: title}
    return ActivityDefinition(**definition)


@functools.lru_cache(maxsize=1024)
def _shared_activity(iri: str, activity_type: str, title: str | None = None) -> Activity:
    return _activity(iri, activity_type, title)


def _activity(iri: str, activity_type: str, title: str | None = None) -> Activity:
    return Activity(id=iri, definition=_definition(activity_type, title))


def _own_activity(ctx: StatementContext, kind: str, ref: str, activity_type: str) -> Activity:
    return _activity(activity_iri(ctx.tool_base, kind, ref), activity_type)


def _course(ctx: StatementContext) -> Activity:
    return _shared_activity(activity_iri(ctx.tool_base, "course", ctx.course.ref), v.COURSE, ctx.course.title)


def _context(
    ctx: StatementContext,
    enrolment: Enrolment | None,
    *,
    instructor: ActorIdentity | None = None,
    object_is_activity: bool = True,
    lti_roles: bool = False,
    extensions: Mapping[str, JsonValue] | None = None,
) -> Context:
    vocab = ctx.vocabulary
    launch = ctx.launch
    activities: dict[str, Any] = {
        "parent": (_course(ctx),),
        "category": (_shared_activity(vocab.profile_version, v.XAPI_PROFILE),),
    }
    fields: dict[str, Any] = {}
    if enrolment is not None:
        fields["registration"] = enrolment.registration
        program_iri = activity_iri(ctx.tool_base, "program", enrolment.program.ref)
        activities["grouping"] = (_shared_activity(program_iri, vocab.program, enrolment.program.title),)
    fields["contextActivities"] = ContextActivities(**activities)
    if instructor is not None:
        fields["instructor"] = agent_for(instructor, ctx.privacy)
    if launch.platform and object_is_activity:
        fields["platform"] = launch.platform
    language = language_tag_of(launch.locale)
    if language:
        fields["language"] = language
    all_extensions: dict[str, JsonValue] = {
        vocab.lti_issuer: launch.issuer,
        vocab.lti_deployment_id: launch.deployment_id,
        vocab.lti_context_id: launch.context_id,
    }
    if launch.resource_link_id:
        all_extensions[vocab.lti_resource_link_id] = launch.resource_link_id
    # Roles describe the user of one launch, so they only belong on that launch's statement.
    if lti_roles and launch.roles:
        all_extensions[vocab.lti_roles] = list(launch.roles)
    all_extensions.update(extensions or {})
    fields["extensions"] = all_extensions
    return Context(**fields)


def _statement(
    *,
    statement_id: UUID,
    timestamp: datetime,
    actor: Agent,
    verb: Verb,
    obj: Activity | StatementRef,
    context: Context,
    result: Result | None = None,
) -> Statement:
    fields: dict[str, Any] = {
        "id": statement_id,
        "actor": actor,
        "verb": verb,
        "object": obj,
        "context": context,
        "timestamp": timestamp,
    }
    if result is not None:
        fields["result"] = result
    return Statement(**fields)


def build_lti_launch(
    ctx: StatementContext,
    *,
    actor: ActorIdentity,
    statement_id: UUID,
    timestamp: datetime,
    enrolment: Enrolment | None = None,
) -> Statement:
    """Someone launched the tool from an LMS resource link (`launched` the link activity)."""
    link_id = ctx.launch.resource_link_id
    if not link_id:
        raise StatementBuildError("an LTI launch statement needs the launch's resource link id")
    link_ref = opaque_ref(ctx.launch.issuer, ctx.launch.deployment_id, link_id)
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.LAUNCHED),
        obj=_own_activity(ctx, "lti-link", link_ref, v.LINK),
        context=_context(ctx, enrolment, lti_roles=True),
    )


def build_profile_completed(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    role: MentoringRole,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    """A participant completed their mentoring profile for the program."""
    # One profile activity per program (not per person): the activity is the questionnaire, the
    # person is the actor, and the IRI stays free of personal data.
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.COMPLETED),
        obj=_own_activity(ctx, "profile", enrolment.program.ref, ctx.vocabulary.mentoring_profile),
        context=_context(ctx, enrolment, extensions={ctx.vocabulary.mentoring_role: role.value}),
        result=Result(completion=True),
    )


def build_match_published(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    mentee: ActorIdentity,
    mentor: ActorIdentity,
    match_ref: str,
    statement_id: UUID,
    timestamp: datetime,
    mentoring_model: str | None = None,
    skills: tuple[str, ...] = (),
) -> Statement:
    """A mentee was matched with a mentor (the mentor is the context's instructor)."""
    vocab = ctx.vocabulary
    extensions: dict[str, JsonValue] = {}
    if mentoring_model:
        extensions[vocab.mentoring_model] = mentoring_model
    if skills:
        extensions[vocab.skills] = list(skills)
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(mentee, ctx.privacy),
        verb=_verb(ctx, vocab.matched),
        obj=_own_activity(ctx, "match", match_ref, vocab.match),
        context=_context(ctx, enrolment, instructor=mentor, extensions=extensions),
    )


def build_rematch_requested(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    mentor: ActorIdentity,
    match_ref: str,
    statement_id: UUID,
    timestamp: datetime,
    reason: str | None = None,
) -> Statement:
    """A participant asked to leave a match for another; `reason` is a code, never free text."""
    vocab = ctx.vocabulary
    result = Result(extensions={vocab.rematch_reason: reason}) if reason else None
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, vocab.requested_rematch),
        obj=_own_activity(ctx, "match", match_ref, vocab.match),
        context=_context(ctx, enrolment, instructor=mentor),
        result=result,
    )


def _request_verb(vocab: Vocabulary, event: MentorRequestEvent) -> str:
    return {
        MentorRequestEvent.REQUESTED: v.REQUESTED,
        MentorRequestEvent.ACCEPTED: v.ACCEPTED,
        MentorRequestEvent.DECLINED: v.REJECTED,
        MentorRequestEvent.APPROVED: v.APPROVED,
        MentorRequestEvent.CANCELLED: v.CANCELLED,
        MentorRequestEvent.WITHDRAWN: v.RETRACTED,
        MentorRequestEvent.CLOSED: v.CANCELLED,
        MentorRequestEvent.EXPIRED: vocab.expired,
    }[event]


def build_mentor_request_event(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    event: MentorRequestEvent,
    actor: ActorIdentity,
    mentor: ActorIdentity,
    request_ref: str,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    """A step of a mentee's request of a mentor (the requested mentor is the context's instructor); the
    enrolment is the mentee's, so one registration ties the request's statements together."""
    vocab = ctx.vocabulary
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, _request_verb(vocab, event)),
        obj=_own_activity(ctx, "mentor-request", request_ref, vocab.mentor_request),
        context=_context(ctx, enrolment, instructor=mentor),
    )


def build_agreement_accepted(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    mentor: ActorIdentity,
    match_ref: str,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    """A participant accepted the mentoring agreement of their match."""
    vocab = ctx.vocabulary
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.ACCEPTED),
        obj=_own_activity(ctx, "agreement", match_ref, vocab.agreement),
        context=_context(ctx, enrolment, instructor=mentor),
    )


def build_checkin_requested(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    mentor: ActorIdentity,
    relationship_ref: str,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    """A participant asked the others of their mentoring relationship for a check-in (their message stays out)."""
    vocab = ctx.vocabulary
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, vocab.requested_checkin),
        obj=_own_activity(ctx, "relationship", relationship_ref, vocab.relationship),
        context=_context(ctx, enrolment, instructor=mentor),
    )


def _mentoring_session_attended(
    ctx: StatementContext,
    enrolment: Enrolment,
    record: AttendanceRecord,
    *,
    participant: ActorIdentity,
    mentor: ActorIdentity,
    mentoring_session_ref: str,
    duration: str,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    vocab = ctx.vocabulary
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(participant, ctx.privacy),
        verb=_verb(ctx, v.ATTENDED),
        obj=_own_activity(ctx, "meeting", mentoring_session_ref, v.MEETING),
        context=_context(ctx, enrolment, instructor=mentor, extensions={vocab.attendance_record: record.value}),
        result=Result(duration=duration),
    )


def build_mentoring_session_logged(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    participant: ActorIdentity,
    mentor: ActorIdentity,
    mentoring_session_ref: str,
    duration: str,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    """A participant logged a mentoring session they attended; `duration` is ISO 8601, sent verbatim."""
    return _mentoring_session_attended(
        ctx,
        enrolment,
        AttendanceRecord.LOGGED,
        participant=participant,
        mentor=mentor,
        mentoring_session_ref=mentoring_session_ref,
        duration=duration,
        statement_id=statement_id,
        timestamp=timestamp,
    )


def build_mentoring_session_confirmed(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    participant: ActorIdentity,
    mentor: ActorIdentity,
    mentoring_session_ref: str,
    duration: str,
    statement_id: UUID,
    timestamp: datetime,
) -> Statement:
    """The other participant confirmed a logged session: their own `attended`, marked as confirmed."""
    return _mentoring_session_attended(
        ctx,
        enrolment,
        AttendanceRecord.CONFIRMED,
        participant=participant,
        mentor=mentor,
        mentoring_session_ref=mentoring_session_ref,
        duration=duration,
        statement_id=statement_id,
        timestamp=timestamp,
    )


def build_goal_set(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    goal_ref: str,
    statement_id: UUID,
    timestamp: datetime,
    skill: str | None = None,
) -> Statement:
    """A participant set a goal; the goal's text stays in the tool (it may be personal)."""
    vocab = ctx.vocabulary
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, vocab.set_goal),
        obj=_own_activity(ctx, "goal", goal_ref, v.GOAL),
        context=_context(ctx, enrolment, extensions={vocab.skill: skill} if skill else None),
    )


def build_goal_completed(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    goal_ref: str,
    statement_id: UUID,
    timestamp: datetime,
    skill: str | None = None,
) -> Statement:
    """A participant completed a goal."""
    vocab = ctx.vocabulary
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.COMPLETED),
        obj=_own_activity(ctx, "goal", goal_ref, v.GOAL),
        context=_context(ctx, enrolment, extensions={vocab.skill: skill} if skill else None),
        result=Result(completion=True),
    )


def _score(score: ScoreInput) -> Score:
    if not score.min <= score.raw <= score.max:
        raise StatementBuildError("score raw must lie within [min, max]")
    fields: dict[str, Any] = {"raw": score.raw, "min": score.min, "max": score.max}
    if score.max > score.min:
        # Rounded so the same raw score always renders the same digits.
        fields["scaled"] = round((score.raw - score.min) / (score.max - score.min), 4)
    return Score(**fields)


def build_assessment_submitted(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    assessment_ref: str,
    statement_id: UUID,
    timestamp: datetime,
    score: ScoreInput | None = None,
    skill_scores: Mapping[str, int | float] | None = None,
    passed: bool | None = None,
) -> Statement:
    """A participant submitted a skills assessment: an overall score and/or a score per skill."""
    if score is None and not skill_scores:
        raise StatementBuildError("an assessment statement needs an overall score or skill scores")
    result: dict[str, Any] = {"completion": True}
    if score is not None:
        result["score"] = _score(score)
    if skill_scores:
        result["extensions"] = {ctx.vocabulary.skill_scores: dict(skill_scores)}
    if passed is not None:
        result["success"] = passed
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.SCORED),
        obj=_own_activity(ctx, "assessment", assessment_ref, v.ASSESSMENT),
        context=_context(ctx, enrolment),
        result=Result(**result),
    )


def build_survey_answered(
    ctx: StatementContext,
    enrolment: Enrolment,
    *,
    actor: ActorIdentity,
    survey_ref: str,
    statement_id: UUID,
    timestamp: datetime,
    answers: Mapping[str, str | int | float | bool] | None = None,
) -> Statement:
    """A participant answered a survey; `answers` (question key -> coded answer) must not hold free text."""
    result: dict[str, Any] = {"completion": True}
    if answers:
        result["extensions"] = {ctx.vocabulary.survey_answers: dict(answers)}
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.ANSWERED),
        obj=_own_activity(ctx, "survey", survey_ref, v.SURVEY),
        context=_context(ctx, enrolment),
        result=Result(**result),
    )


def build_voiding(
    ctx: StatementContext,
    *,
    actor: ActorIdentity,
    voided_statement_id: UUID,
    statement_id: UUID,
    timestamp: datetime,
    enrolment: Enrolment | None = None,
) -> Statement:
    """Retract an earlier statement: statements are never edited, a correction voids and re-sends."""
    return _statement(
        statement_id=statement_id,
        timestamp=timestamp,
        actor=agent_for(actor, ctx.privacy),
        verb=_verb(ctx, v.VOIDED),
        obj=StatementRef(objectType="StatementRef", id=voided_statement_id),
        context=_context(ctx, enrolment, object_is_activity=False),
    )
