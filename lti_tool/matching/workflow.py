"""The matching workflow: run the engine on a program's profiles, review drafts, publish, rematch, self-match.

Every function takes explicit arguments and leaves committing to the view, so a change and the statements
that record it land in one transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lti_tool.courses.models import Membership
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.roles import CourseRole
from lti_tool.matching import engine
from lti_tool.mentoring.relationships import join_relationship, leave_relationship
from lti_tool.profiles.services import DAYS, LANGUAGES, utc_hour_slots
from lti_tool.programs.models import (
    Match,
    MatchingRun,
    MatchSource,
    MatchStatus,
    MentoringModel,
    Participant,
    Program,
    RematchRequest,
    RequestStatus,
)
from lti_tool.programs.services import allowed_roles
from lti_tool.settings import Settings
from lti_tool.statements.events import record_match_published, record_rematch_requested

ACTIVE = (MatchStatus.DRAFT.value, MatchStatus.PUBLISHED.value)
# Explanations name languages and the UTC hours people share in words, not codes.
LABELS: dict[str, str] = {code: name for code, name, _ in LANGUAGES} | {
    f"{day}-{hour:02d}": f"{day_name} {hour:02d}:00 UTC" for day, day_name in DAYS for hour in range(24)
}


class MatchingError(MentorLtiError):
    """A matching action was refused; the message says why and what to do instead."""


def _engine_id(participant: Participant | int) -> str:
    """The engine's id of a participant (or of a participant id): opaque, never a name."""
    return f"p{participant if isinstance(participant, int) else participant.id}"


@dataclass(frozen=True)
class Pool:
    """A program's matching input: the engine's view of it, and the participants behind the engine ids."""

    program: engine.Program
    cohort: engine.Cohort
    people: dict[str, Participant]
    persons: dict[str, engine.Person]


def _person(participant: Participant) -> engine.Person:
    user = participant.membership.user
    return engine.Person(
        id=_engine_id(participant),
        skills={key: int(level) for key, level in participant.skill_levels.items()},
        goals=tuple(participant.goals),
        languages=frozenset(participant.languages),
        availability=frozenset(utc_hour_slots(participant.availability, participant.timezone)),
        department=participant.department or None,
        capacity=participant.capacity,
        preferences=frozenset(_engine_id(other) for other in participant.preferred_ids or ()),
        name=user.display_name,
    )


def _declined(program: Program) -> tuple[engine.Pair, ...]:
    """Pairs ended at a participant's request: with `never_repair_declined`, never proposed again."""
    rows = db.session.execute(
        select(Match.mentor_id, Match.mentee_id)
        .join(RematchRequest, RematchRequest.match_id == Match.id)
        .where(Match.program_id == program.id, RematchRequest.status == RequestStatus.REMATCHED.value)
        .order_by(RematchRequest.id)
    ).all()
    return tuple(
        dict.fromkeys(engine.Pair(mentor=_engine_id(mentor), mentee=_engine_id(mentee)) for mentor, mentee in rows)
    )


def build_pool(program: Program, *, fixed: Iterable[Match] = ()) -> Pool:
    """Participants with complete profiles and an active membership, on the sides the program allows them."""
    participants = (
        db.session.execute(
            select(Participant)
            .where(Participant.program_id == program.id, Participant.completed_at.is_not(None))
            .options(selectinload(Participant.membership).selectinload(Membership.user))
            .order_by(Participant.id)
        )
        .scalars()
        .all()
    )
    mentors: list[engine.Person] = []
    mentees: list[engine.Person] = []
    people: dict[str, Participant] = {}
    persons: dict[str, engine.Person] = {}
    for participant in participants:
        if not participant.membership.active:
            continue
        may_mentor, may_be_mentored = allowed_roles(program, participant.membership)
        person = _person(participant)
        people[person.id], persons[person.id] = participant, person
        if program.model == MentoringModel.REVERSE.value:
            # Two cohorts, staff and learners; the engine decides per skill who teaches whom.
            (mentors if CourseRole(participant.membership.course_role).is_staff else mentees).append(person)
            continue
        if may_mentor and participant.wants_to_mentor:
            mentors.append(person)
        if may_be_mentored and participant.wants_to_be_mentored:
            mentees.append(person)
    model = engine.MentoringModel(program.model)
    if model is engine.MentoringModel.PEER:
        pool_people = {p.id: p for p in (*mentors, *mentees)}
        cohort = engine.Cohort(participants=tuple(pool_people.values()))
    else:
        cohort = engine.Cohort(mentors=tuple(mentors), mentees=tuple(mentees))
    known = set(persons)
    fixed_pairs = tuple(
        engine.Pair(mentor=_engine_id(m.mentor), mentee=_engine_id(m.mentee))
        for m in fixed
        if _engine_id(m.mentor) in known and _engine_id(m.mentee) in known
    )
    rules = dataclasses.replace(
        engine.Rules.from_mapping(program.rules),
        require_reciprocity=program.require_reciprocity,
        declined_pairs=_declined(program),
        fixed_pairs=fixed_pairs,
    )
    spec = engine.Program(
        skills=tuple(engine.Skill(key=s.key, name=s.name) for s in program.skills),
        model=model,
        weights=engine.Weights.from_mapping(program.weights),
        rules=rules,
        default_capacity=program.default_capacity,
        labels=LABELS,
        slot_unit=("free hour a week", "free hours a week"),
    )
    return Pool(program=spec, cohort=cohort, people=people, persons=persons)


def _explanation(explanation: engine.Explanation, teaches: dict[str, str] | None = None) -> dict[str, object]:
    return {
        "contributions": dict(explanation.contributions),
        "values": dict(explanation.values),
        "reasons": list(explanation.factors),
        "broken_rules": list(explanation.broken_rules),
        "teaches": dict(teaches or {}),
    }


def _kept(program: Program) -> list[Match]:
    """Matches a run must keep as they are: published ones and locked drafts."""
    return list(
        db.session.execute(
            select(Match).where(
                Match.program_id == program.id,
                (Match.status == MatchStatus.PUBLISHED.value)
                | ((Match.status == MatchStatus.DRAFT.value) & Match.locked.is_(True)),
            )
        ).scalars()
    )


def run_matching(program: Program) -> MatchingRun:
    """Propose drafts for everyone not yet matched; published matches and locked drafts are kept as they are.

    With matches already published this is how late joiners are matched into the places left.
    """
    kept = _kept(program)
    pool = build_pool(program, fixed=kept)
    if not pool.cohort.participants and not (pool.cohort.mentors and pool.cohort.mentees):
        raise MatchingError(
            "There is nobody to match yet.",
            hint="Matching needs complete profiles on both sides: ask participants to fill in their profile.",
        )
    try:
        result = engine.match(pool.program, pool.cohort, seed=program.matching_seed)
    except engine.MatchingInputError as error:
        raise MatchingError(f"The profiles cannot be matched as they are: {error}") from error
    for draft in db.session.execute(
        select(Match).where(
            Match.program_id == program.id, Match.status == MatchStatus.DRAFT.value, Match.locked.is_(False)
        )
    ).scalars():
        db.session.delete(draft)
    kept_pairs = {(_engine_id(m.mentor), _engine_id(m.mentee)) for m in kept}
    for found in result.matches:
        if (found.mentor, found.mentee) in kept_pairs:
            continue
        db.session.add(
            Match(
                program_id=program.id,
                mentor_id=pool.people[found.mentor].id,
                mentee_id=pool.people[found.mentee].id,
                score=found.score,
                explanation=_explanation(found.explanation, dict(found.teaches)),
                status=MatchStatus.DRAFT.value,
                source=MatchSource.ENGINE.value,
            )
        )
    run = MatchingRun(
        program_id=program.id,
        seed=program.matching_seed,
        objective=result.objective,
        matched=len(result.matches),
        unmatched=[
            {"participant_id": str(pool.people[u.mentee].id), "reason": u.reason.value, "message": u.message}
            for u in result.unmatched
        ],
    )
    db.session.add(run)
    db.session.flush()
    return run


def latest_run(program: Program) -> MatchingRun | None:
    return db.session.execute(
        select(MatchingRun).where(MatchingRun.program_id == program.id).order_by(MatchingRun.id.desc()).limit(1)
    ).scalar_one_or_none()


def matches(program: Program, status: MatchStatus) -> list[Match]:
    return list(
        db.session.execute(
            select(Match).where(Match.program_id == program.id, Match.status == status.value).order_by(Match.id)
        ).scalars()
    )


def find_match(program: Program, match_id: int) -> Match:
    found = db.session.get(Match, match_id)
    if found is None or found.program_id != program.id:
        raise MatchingError("That match does not exist in this program.")
    return found


def find_participant(program: Program, participant_id: int) -> Participant:
    found = db.session.get(Participant, participant_id)
    if found is None or found.program_id != program.id:
        raise MatchingError("That participant is not in this program.")
    return found


def _draft(program: Program, match: Match) -> Match:
    if match.status != MatchStatus.DRAFT.value:
        raise MatchingError("Only draft matches can be changed; published matches end through a rematch.")
    return match


def _load(program: Program, mentor: Participant, *, excluding: Iterable[int] = ()) -> int:
    skip = list(excluding)
    query = select(func.count(Match.id)).where(
        Match.program_id == program.id, Match.mentor_id == mentor.id, Match.status.in_(ACTIVE)
    )
    if skip:
        query = query.where(Match.id.not_in(skip))
    return int(db.session.execute(query).scalar_one())


def assess(
    program: Program,
    mentor: Participant,
    mentee: Participant,
    *,
    excluding: Iterable[int] = (),
    pool: Pool | None = None,
) -> Match:
    """An unsaved Match for (mentor, mentee): score, explanation and every hard rule it would break.

    `pool` is the program's `build_pool(program)` when the caller already has it."""
    if mentor.id == mentee.id:
        raise MatchingError("A person cannot mentor themself.")
    pool = pool if pool is not None else build_pool(program)
    if _engine_id(mentor) not in pool.persons or _engine_id(mentee) not in pool.persons:
        raise MatchingError("Both people need a complete profile before they can be matched.")
    try:
        verdict = engine.assess_pair(
            pool.program,
            pool.persons[_engine_id(mentor)],
            pool.persons[_engine_id(mentee)],
            mentor_load=_load(program, mentor, excluding=excluding),
        )
    except engine.MatchingInputError as error:
        raise MatchingError(f"These profiles cannot be matched: {error}") from error
    return Match(
        program_id=program.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        score=verdict.score,
        explanation=_explanation(verdict.explanation, dict(verdict.teaches)),
        status=MatchStatus.DRAFT.value,
    )


def _already_matched(program: Program, mentee: Participant, *, excluding: Iterable[int] = ()) -> bool:
    if program.model in (MentoringModel.PEER.value, MentoringModel.REVERSE.value):
        return False  # several relationships per person are normal there
    skip = list(excluding)
    query = select(Match.id).where(
        Match.program_id == program.id, Match.mentee_id == mentee.id, Match.status.in_(ACTIVE)
    )
    if skip:
        query = query.where(Match.id.not_in(skip))
    return db.session.execute(query.limit(1)).first() is not None


def manual_match(program: Program, mentor: Participant, mentee: Participant, *, pool: Pool | None = None) -> Match:
    """The instructor's own pairing, saved as a draft with its score and any broken rule spelled out."""
    if _already_matched(program, mentee):
        raise MatchingError("This mentee already has a match; reassign or remove it instead.")
    draft = assess(program, mentor, mentee, pool=pool)
    draft.source = MatchSource.MANUAL.value
    db.session.add(draft)
    db.session.flush()
    return draft


def set_locked(program: Program, match: Match, locked: bool) -> None:
    _draft(program, match).locked = locked


def remove_draft(program: Program, match: Match) -> None:
    db.session.delete(_draft(program, match))


def reassign(program: Program, match: Match, mentor: Participant, *, pool: Pool | None = None) -> Match:
    """Give a draft's mentee another mentor; the new pair is rescored and its broken rules shown."""
    _draft(program, match)
    fresh = assess(program, mentor, match.mentee, excluding=[match.id], pool=pool)
    match.mentor_id, match.score, match.explanation = mentor.id, fresh.score, fresh.explanation
    match.source = MatchSource.MANUAL.value
    return match


def swap(program: Program, first: Match, second: Match) -> None:
    """Exchange the mentees of two drafts (each keeps its mentor); both pairs are rescored."""
    _draft(program, first)
    _draft(program, second)
    if first.id == second.id:
        raise MatchingError("Choose two different drafts to swap.")
    excluding = [first.id, second.id]
    pool = build_pool(program)
    one = assess(program, first.mentor, second.mentee, excluding=excluding, pool=pool)
    two = assess(program, second.mentor, first.mentee, excluding=excluding, pool=pool)
    first.mentee_id, first.score, first.explanation = second.mentee_id, one.score, one.explanation
    second.mentee_id, second.score, second.explanation = two.mentee_id, two.score, two.explanation
    first.source = second.source = MatchSource.MANUAL.value


def publish(program: Program, *, settings: Settings, tool_base: str) -> int:
    """Make every draft visible to its pair, recording each as a `matched` statement."""
    drafts = matches(program, MatchStatus.DRAFT)
    if not drafts:
        raise MatchingError("There are no draft matches to publish.", hint="Run matching first.")
    now = utcnow()
    for draft in drafts:
        draft.status, draft.published_at, draft.locked = MatchStatus.PUBLISHED.value, now, False
        join_relationship(draft)
        record_match_published(draft, settings=settings, tool_base=tool_base)
    return len(drafts)


def request_rematch(
    program: Program, match: Match, participant: Participant, reason: str, *, settings: Settings, tool_base: str
) -> RematchRequest:
    if participant.id not in (match.mentor_id, match.mentee_id) or match.status != MatchStatus.PUBLISHED.value:
        raise MatchingError("You can only ask to leave one of your own published matches.")
    reason = reason.strip()
    if not 10 <= len(reason) <= 2000:
        raise MatchingError("Please give a reason of 10 to 2000 characters, so your instructor can help.")
    open_request = db.session.execute(
        select(RematchRequest.id).where(
            RematchRequest.match_id == match.id, RematchRequest.status == RequestStatus.OPEN.value
        )
    ).first()
    if open_request:
        raise MatchingError("A rematch request for this match is already waiting for your instructor.")
    request = RematchRequest(match_id=match.id, requested_by_id=participant.id, reason=reason)
    db.session.add(request)
    db.session.flush()
    record_rematch_requested(request, settings=settings, tool_base=tool_base)
    return request


def open_requests(program: Program) -> list[RematchRequest]:
    return list(
        db.session.execute(
            select(RematchRequest)
            .join(Match, Match.id == RematchRequest.match_id)
            .where(Match.program_id == program.id, RematchRequest.status == RequestStatus.OPEN.value)
            .order_by(RematchRequest.id)
        ).scalars()
    )


def resolve_request(program: Program, request_id: int, *, rematch: bool) -> RematchRequest:
    """Rematch (end the match; the pair is then never proposed again) or dismiss a request."""
    request = db.session.get(RematchRequest, request_id)
    if request is None or request.match.program_id != program.id or request.status != RequestStatus.OPEN.value:
        raise MatchingError("That request does not exist or was already handled.")
    request.resolved_at = utcnow()
    if rematch:
        request.status = RequestStatus.REMATCHED.value
        request.match.status, request.match.ended_at = MatchStatus.ENDED.value, utcnow()
        leave_relationship(request.match)
    else:
        request.status = RequestStatus.DISMISSED.value
    return request


def suggestions(program: Program, participant: Participant, top_n: int = 5) -> list[tuple[Participant, Match]]:
    """Self-match: the mentee's best mentors with a place left, as unsaved scored matches, best first."""
    pool = build_pool(program, fixed=matches(program, MatchStatus.PUBLISHED))
    mentee_id = _engine_id(participant)
    if mentee_id not in {p.id for p in pool.cohort.sides(pool.program.model)[1]}:
        return []
    found = engine.suggest_mentors(pool.program, pool.cohort, top_n=top_n, mentees=[mentee_id])
    return [
        (
            pool.people[s.mentor],
            Match(
                program_id=program.id,
                mentor_id=pool.people[s.mentor].id,
                mentee_id=participant.id,
                score=s.score,
                explanation=_explanation(s.explanation),
            ),
        )
        for s in found.get(mentee_id, ())
    ]


def choose_mentor(
    program: Program, participant: Participant, mentor: Participant, *, settings: Settings, tool_base: str
) -> Match:
    """Self-match: a mentee takes one of their suggestions; published at once, within the mentor's capacity."""
    if not program.self_match:
        raise MatchingError("This program does not let mentees choose their mentor.")
    if _already_matched(program, participant):
        raise MatchingError("You already have a mentor in this program.")
    offered = {m.id: proposal for m, proposal in suggestions(program, participant, top_n=5)}
    if mentor.id not in offered:
        raise MatchingError("That mentor is not among your suggestions any more (they may be full). Choose again.")
    chosen = offered[mentor.id]
    chosen.status, chosen.source, chosen.published_at = MatchStatus.PUBLISHED.value, MatchSource.SELF.value, utcnow()
    db.session.add(chosen)
    db.session.flush()
    join_relationship(chosen)
    record_match_published(chosen, settings=settings, tool_base=tool_base)
    return chosen
