"""The matching workflow: run the engine on a program's profiles, review drafts, publish, rematch, self-match.

Every function takes explicit arguments and leaves committing to the view, so a change and the statements
that record it land in one transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, delete, false, func, insert, or_, select, update
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.orm.util import AliasedClass

from lti_tool.courses.models import Membership, User, person_name
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.roles import CourseRole
from lti_tool.matching import engine
from lti_tool.mentoring.relationships import Pairing, join_relationships, leave_relationship
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
from lti_tool.programs.services import allowed_roles_of
from lti_tool.settings import Settings
from lti_tool.statements.events import (
    ACTOR_COLUMNS,
    PublishedMatch,
    actor_of,
    published_match,
    record_matches_published,
    record_rematch_requested,
)

ACTIVE = (MatchStatus.DRAFT.value, MatchStatus.PUBLISHED.value)
PAGE_SIZE = 50  # matches per page of the review page
PICK_SIZE = 20  # people a search for a mentor (or a mentee) offers
MAX_SEARCH = 200
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
    """A program's matching input: the engine's view of it, and the participant id behind each engine id."""

    program: engine.Program
    cohort: engine.Cohort
    participant_ids: dict[str, int]
    persons: dict[str, engine.Person]


# What the engine needs of a participant, read as plain columns in one joined SELECT: at 11,000 participants,
# loading them as ORM objects with their memberships and users took most of a run's own time.
_POOL_COLUMNS = (
    Participant.id,
    Participant.skill_levels,
    Participant.goals,
    Participant.languages,
    Participant.availability,
    Participant.timezone,
    Participant.department,
    Participant.capacity,
    Participant.preferred_ids,
    Participant.wants_to_mentor,
    Participant.wants_to_be_mentored,
    Membership.course_role,
    User.name,
    User.given_name,
    User.family_name,
)


def _person(row: Row[Any], slots: Callable[[tuple[str, ...], str], frozenset[str]]) -> engine.Person:
    return engine.Person(
        id=_engine_id(row.id),
        skills={key: int(level) for key, level in row.skill_levels.items()},
        goals=tuple(row.goals),
        languages=frozenset(row.languages),
        availability=slots(tuple(row.availability), row.timezone),
        department=row.department or None,
        capacity=row.capacity,
        preferences=frozenset(_engine_id(other) for other in row.preferred_ids or ()),
        name=person_name(row.name, row.given_name, row.family_name),
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


def _sides(program: Program, course_role: str, wants_to_mentor: bool, wants_to_be_mentored: bool) -> tuple[bool, bool]:
    """(on the mentor side, on the mentee side) of the pool for someone with a complete profile."""
    if program.model == MentoringModel.REVERSE.value:
        # Two cohorts, staff and learners; the engine decides per skill who teaches whom.
        staff = CourseRole(course_role).is_staff
        return staff, not staff
    may_mentor, may_be_mentored = allowed_roles_of(program, course_role)
    return may_mentor and wants_to_mentor, may_be_mentored and wants_to_be_mentored


def _on_side(program: Program, side: int) -> ColumnElement[bool]:
    """SQL for `_sides(...)[side]` (0 mentor, 1 mentee; in the peer model either), from the one rule above."""
    peer = program.model == MentoringModel.PEER.value
    kinds = [
        and_(
            Membership.course_role == role.value,
            Participant.wants_to_mentor.is_(wants_to_mentor),
            Participant.wants_to_be_mentored.is_(wants_to_be_mentored),
        )
        for role in CourseRole
        for wants_to_mentor in (True, False)
        for wants_to_be_mentored in (True, False)
        if any(
            _sides(program, role.value, wants_to_mentor, wants_to_be_mentored)[i] for i in ((0, 1) if peer else (side,))
        )
    ]
    return or_(*kinds) if kinds else false()


def in_pool(program: Program) -> ColumnElement[bool]:
    """SQL: the participant has a complete profile and an active membership (joined to Membership)."""
    return and_(
        Participant.program_id == program.id, Participant.completed_at.is_not(None), Membership.active.is_(True)
    )


def build_pool(program: Program, *, fixed: Iterable[Match] = (), only: Collection[int] | None = None) -> Pool:
    """Participants with complete profiles and an active membership, on the sides the program allows them.

    `only` (participant ids) limits it to the people one action needs: scoring a pair needs two, not the course."""
    query = (
        select(*_POOL_COLUMNS)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(in_pool(program))
        .order_by(Participant.id)
    )
    if only is not None:
        query = query.where(Participant.id.in_(list(only)))
    # Many people share a weekly pattern and a zone: their UTC hours are worked out once.
    slots = functools.lru_cache(maxsize=None)(lambda free, zone: frozenset(utc_hour_slots(free, zone)))
    sides = functools.lru_cache(maxsize=None)(functools.partial(_sides, program))  # eight kinds of people
    mentors: list[engine.Person] = []
    mentees: list[engine.Person] = []
    participant_ids: dict[str, int] = {}
    persons: dict[str, engine.Person] = {}
    for row in db.session.execute(query):
        person = _person(row, slots)
        participant_ids[person.id], persons[person.id] = row.id, person
        as_mentor, as_mentee = sides(row.course_role, row.wants_to_mentor, row.wants_to_be_mentored)
        if as_mentor:
            mentors.append(person)
        if as_mentee:
            mentees.append(person)
    model = engine.MentoringModel(program.model)
    if model is engine.MentoringModel.PEER:
        pool_people = {p.id: p for p in (*mentors, *mentees)}
        cohort = engine.Cohort(participants=tuple(pool_people.values()))
    else:
        cohort = engine.Cohort(mentors=tuple(mentors), mentees=tuple(mentees))
    known = set(persons)
    fixed_pairs = tuple(
        engine.Pair(mentor=_engine_id(m.mentor_id), mentee=_engine_id(m.mentee_id))
        for m in fixed
        if _engine_id(m.mentor_id) in known and _engine_id(m.mentee_id) in known
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
    return Pool(program=spec, cohort=cohort, participant_ids=participant_ids, persons=persons)


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


Progress = Callable[[int, int], None]  # (done, total): how far a long action is, for its job's progress bar


def _silent(done: int, total: int) -> None:
    """The progress of an action nobody watches (one run in a request, a command)."""


RUN_STEPS = 3  # a run's progress: the pool read, the engine's answer, the drafts written


def run_matching(program: Program, *, progress: Progress = _silent) -> MatchingRun:
    """Propose drafts for everyone not yet matched; published matches and locked drafts are kept as they are.

    With matches already published this is how late joiners are matched into the places left. Nothing is
    written before the engine has answered, so `progress` may be recorded in another transaction meanwhile.
    """
    progress(0, RUN_STEPS)
    kept = _kept(program)
    pool = build_pool(program, fixed=kept)
    progress(1, RUN_STEPS)
    if not pool.cohort.participants and not (pool.cohort.mentors and pool.cohort.mentees):
        raise MatchingError(
            "There is nobody to match yet.",
            hint="Matching needs complete profiles on both sides: ask participants to fill in their profile.",
        )
    try:
        result = engine.match(pool.program, pool.cohort, seed=program.matching_seed)
    except engine.MatchingInputError as error:
        raise MatchingError(f"The profiles cannot be matched as they are: {error}") from error
    progress(2, RUN_STEPS)
    # Bulk statements: a run replaces thousands of drafts at a large course.
    db.session.execute(
        delete(Match).where(
            Match.program_id == program.id, Match.status == MatchStatus.DRAFT.value, Match.locked.is_(False)
        ),
        execution_options={"synchronize_session": False},
    )
    kept_pairs = {(_engine_id(m.mentor_id), _engine_id(m.mentee_id)) for m in kept}
    drafts = [
        {
            "program_id": program.id,
            "mentor_id": pool.participant_ids[found.mentor],
            "mentee_id": pool.participant_ids[found.mentee],
            "score": found.score,
            "explanation": _explanation(found.explanation, dict(found.teaches)),
            "status": MatchStatus.DRAFT.value,
            "source": MatchSource.ENGINE.value,
            "locked": False,
        }
        for found in result.matches
        if (found.mentor, found.mentee) not in kept_pairs
    ]
    if drafts:
        db.session.execute(insert(Match), drafts)
    run = MatchingRun(
        program_id=program.id,
        seed=program.matching_seed,
        objective=result.objective,
        upper_bound=result.proof.upper_bound,
        matched=len(result.matches),
        unmatched=[
            {"participant_id": str(pool.participant_ids[u.mentee]), "reason": u.reason.value, "message": u.message}
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


# A match's mentor and mentee with their memberships and users, in the same SELECT (no load per match).
_WITH_PEOPLE = (
    joinedload(Match.mentor).joinedload(Participant.membership).joinedload(Membership.user),
    joinedload(Match.mentee).joinedload(Participant.membership).joinedload(Membership.user),
)


def _named(user: type[User] | AliasedClass[User], search: str) -> ColumnElement[bool]:
    """The user's name (as LTI gave it, or given and family name) or email contains `search`, in any case."""
    full = func.coalesce(user.given_name, "") + " " + func.coalesce(user.family_name, "")
    return or_(
        *(column.icontains(search, autoescape=True) for column in (user.name, full, user.family_name, user.email))
    )


def clean_search(search: str | None) -> str:
    return " ".join((search or "").split())[:MAX_SEARCH]


@dataclass(frozen=True)
class MatchPage:
    """One page of a program's matches of one status, optionally only those naming `search`."""

    matches: list[Match]
    search: str
    number: int
    pages: int
    matching: int  # how many matches the search finds, on every page

    @property
    def offset(self) -> int:
        """How many matches come before this page's first."""
        return (self.number - 1) * PAGE_SIZE


def match_page(program: Program, status: MatchStatus, *, search: str = "", page: int = 1) -> MatchPage:
    """A page of matches (oldest first) with their people loaded, whatever the program's size: two statements."""
    query: Select[tuple[Match]] = select(Match).where(Match.program_id == program.id, Match.status == status.value)
    if search:
        mentor_user, mentee_user = aliased(User), aliased(User)
        mentor, mentee = aliased(Participant), aliased(Participant)
        mentor_membership, mentee_membership = aliased(Membership), aliased(Membership)
        query = (
            query.join(mentor, mentor.id == Match.mentor_id)
            .join(mentor_membership, mentor_membership.id == mentor.membership_id)
            .join(mentor_user, mentor_user.id == mentor_membership.user_id)
            .join(mentee, mentee.id == Match.mentee_id)
            .join(mentee_membership, mentee_membership.id == mentee.membership_id)
            .join(mentee_user, mentee_user.id == mentee_membership.user_id)
            .where(or_(_named(mentor_user, search), _named(mentee_user, search)))
        )
    matching = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, math.ceil(matching / PAGE_SIZE))
    number = min(max(1, page), pages)
    found = db.session.execute(
        query.order_by(Match.id).offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE).options(*_WITH_PEOPLE)
    ).scalars()
    return MatchPage(list(found.unique()), search, number, pages, matching)


@dataclass(frozen=True)
class Totals:
    """The review page's summary, counted in SQL."""

    drafts: int
    locked: int
    manual: int
    mean_draft_score: float | None
    published: int
    mentors: int  # possible mentors and mentees (complete profile, active membership)
    mentees: int


def totals(program: Program) -> Totals:
    by_status = {
        status: (count, locked or 0, manual or 0, mean)
        for status, count, locked, manual, mean in db.session.execute(
            select(
                Match.status,
                func.count(Match.id),
                func.sum(case((Match.locked.is_(True), 1), else_=0)),
                func.sum(case((Match.source == MatchSource.MANUAL.value, 1), else_=0)),
                func.avg(Match.score),
            )
            .where(Match.program_id == program.id, Match.status.in_(ACTIVE))
            .group_by(Match.status)
        )
    }
    drafts = by_status.get(MatchStatus.DRAFT.value, (0, 0, 0, None))
    counted = select(func.count(Participant.id)).join(Membership, Membership.id == Participant.membership_id)
    mentors, mentees = (
        db.session.execute(counted.where(in_pool(program), _on_side(program, side))).scalar_one() for side in (0, 1)
    )
    return Totals(
        drafts=drafts[0],
        locked=int(drafts[1]),
        manual=int(drafts[2]),
        mean_draft_score=None if drafts[3] is None else float(drafts[3]),
        published=by_status.get(MatchStatus.PUBLISHED.value, (0,))[0],
        mentors=mentors,
        mentees=mentees,
    )


class Side(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"


@dataclass(frozen=True)
class Candidate:
    """Someone a search offers for a match: a mentor with a place left, or a mentee without a match."""

    participant_id: int
    name: str
    email: str | None
    load: int  # active matches on that side
    capacity: int | None  # mentors only


def candidates(program: Program, side: Side, search: str, *, limit: int = PICK_SIZE) -> list[Candidate]:
    """Up to `limit` people in the pool for `side` whose name or email contains `search`, by name.

    Mentors only while they have a place left; mentees only without a match (where a mentee has one)."""
    role = Match.mentor_id if side is Side.MENTOR else Match.mentee_id
    load = (
        select(role.label("participant_id"), func.count(Match.id).label("load"))
        .where(Match.program_id == program.id, Match.status.in_(ACTIVE))
        .group_by(role)
        .subquery()
    )
    taken = func.coalesce(load.c.load, 0)
    capacity = func.coalesce(Participant.capacity, program.default_capacity)
    query = (
        select(Participant.id, User, taken, capacity)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .outerjoin(load, load.c.participant_id == Participant.id)
        .where(in_pool(program), _on_side(program, 0 if side is Side.MENTOR else 1))
        .order_by(User.family_name, User.given_name, Participant.id)
        .limit(limit)
    )
    if search:
        query = query.where(_named(User, search))
    if side is Side.MENTOR:
        query = query.where(taken < capacity)
    elif program.model not in (MentoringModel.PEER.value, MentoringModel.REVERSE.value):
        query = query.where(taken == 0)
    return [
        Candidate(pid, user.display_name, user.email, int(n), int(cap) if side is Side.MENTOR else None)
        for pid, user, n, cap in db.session.execute(query)
    ]


def participant_names(program: Program, participant_ids: Collection[int]) -> dict[int, str]:
    """Display names of some of a program's participants, in one statement."""
    if not participant_ids:
        return {}
    rows = db.session.execute(
        select(Participant.id, User)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(Participant.program_id == program.id, Participant.id.in_(list(participant_ids)))
    )
    return {pid: user.display_name for pid, user in rows}


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
    pool = pool if pool is not None else build_pool(program, only=[mentor.id, mentee.id])
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


def manual_match(program: Program, mentor: Participant, mentee: Participant) -> Match:
    """The instructor's own pairing, saved as a draft with its score and any broken rule spelled out."""
    if _already_matched(program, mentee):
        raise MatchingError("This mentee already has a match; reassign or remove it instead.")
    draft = assess(program, mentor, mentee)
    draft.source = MatchSource.MANUAL.value
    db.session.add(draft)
    db.session.flush()
    return draft


def set_locked(program: Program, match: Match, locked: bool) -> None:
    _draft(program, match).locked = locked


def remove_draft(program: Program, match: Match) -> None:
    db.session.delete(_draft(program, match))


def reassign(program: Program, match: Match, mentor: Participant) -> Match:
    """Give a draft's mentee another mentor; the new pair is rescored and its broken rules shown."""
    _draft(program, match)
    fresh = assess(program, mentor, match.mentee, excluding=[match.id])
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
    pool = build_pool(program, only=[first.mentor_id, first.mentee_id, second.mentor_id, second.mentee_id])
    one = assess(program, first.mentor, second.mentee, excluding=excluding, pool=pool)
    two = assess(program, second.mentor, first.mentee, excluding=excluding, pool=pool)
    first.mentee_id, first.score, first.explanation = second.mentee_id, one.score, one.explanation
    second.mentee_id, second.score, second.explanation = two.mentee_id, two.score, two.explanation
    first.source = second.source = MatchSource.MANUAL.value


def publish(program: Program, *, settings: Settings, tool_base: str, progress: Progress = _silent) -> int:
    """Make every draft visible to its pair, recording each as a `matched` statement.

    At a large course this is thousands of matches: they are read as columns (no ORM rows to load and flush),
    their statements built (what `progress` follows: done of all drafts) before anything is written, then
    relationships, matches and statements written in batched statements, in one transaction."""
    mentor, mentee = aliased(Participant), aliased(Participant)
    mentor_user, mentee_user = aliased(User), aliased(User)
    mentor_membership, mentee_membership = aliased(Membership), aliased(Membership)
    rows = db.session.execute(
        select(
            Match.id,
            Match.mentor_id,
            Match.mentee_id,
            Match.explanation,
            mentee.registration,
            *(getattr(mentee_user, column) for column in ACTOR_COLUMNS),
            *(getattr(mentor_user, column) for column in ACTOR_COLUMNS),
        )
        .join(mentor, mentor.id == Match.mentor_id)
        .join(mentor_membership, mentor_membership.id == mentor.membership_id)
        .join(mentor_user, mentor_user.id == mentor_membership.user_id)
        .join(mentee, mentee.id == Match.mentee_id)
        .join(mentee_membership, mentee_membership.id == mentee.membership_id)
        .join(mentee_user, mentee_user.id == mentee_membership.user_id)
        .where(Match.program_id == program.id, Match.status == MatchStatus.DRAFT.value)
        .order_by(Match.id)
    ).all()
    if not rows:
        raise MatchingError("There are no draft matches to publish.", hint="Run matching first.")
    now = utcnow()
    progress(0, len(rows))
    width = len(ACTOR_COLUMNS)
    record_matches_published(
        program,
        [
            PublishedMatch(
                match_id=row[0],
                mentee_registration=row[4],
                mentee=actor_of(*row[5 : 5 + width]),
                mentor=actor_of(*row[5 + width :]),
                skills=_taught(row[3]),
                published_at=now,
            )
            for row in rows
        ],
        settings=settings,
        tool_base=tool_base,
        progress=lambda built: progress(built, len(rows)),
    )
    relationship_of = join_relationships(program, [Pairing(row[0], row[1], row[2]) for row in rows])
    db.session.execute(
        update(Match),
        [
            {
                "id": row[0],
                "status": MatchStatus.PUBLISHED.value,
                "published_at": now,
                "locked": False,
                "relationship_id": relationship_of[row[0]],
            }
            for row in rows
        ],
    )
    return len(rows)


def _taught(explanation: object) -> tuple[str, ...]:
    teaches = explanation.get("teaches") if isinstance(explanation, dict) else None
    return tuple(sorted(teaches)) if isinstance(teaches, dict) else ()


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
            .options(
                joinedload(RematchRequest.requested_by).joinedload(Participant.membership).joinedload(Membership.user),
                joinedload(RematchRequest.match).options(*_WITH_PEOPLE),
            )
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
    """Self-match: the mentee's best mentors with a place left, as unsaved scored matches, best first.

    The pool is the mentee and the mentors with a place left after the published matches (found in SQL), not
    the whole course: a mentee's page reads the same few statements whatever the course's size."""
    load = (
        select(Match.mentor_id, func.count(Match.id).label("load"))
        .where(Match.program_id == program.id, Match.status == MatchStatus.PUBLISHED.value)
        .group_by(Match.mentor_id)
        .subquery()
    )
    open_mentors = (
        select(Participant.id)
        .join(Membership, Membership.id == Participant.membership_id)
        .outerjoin(load, load.c.mentor_id == Participant.id)
        .where(
            in_pool(program),
            _on_side(program, 0),
            Participant.id != participant.id,
            func.coalesce(load.c.load, 0) < func.coalesce(Participant.capacity, program.default_capacity),
        )
    )
    pool = build_pool(program, only=[participant.id, *db.session.execute(open_mentors).scalars()])
    mentee_id = _engine_id(participant)
    if mentee_id not in {p.id for p in pool.cohort.sides(pool.program.model)[1]}:
        return []
    found = engine.suggest_mentors(pool.program, pool.cohort, top_n=top_n, mentees=[mentee_id])
    chosen = found.get(mentee_id, ())
    mentors = {
        m.id: m
        for m in db.session.execute(
            select(Participant)
            .where(Participant.id.in_([pool.participant_ids[s.mentor] for s in chosen]))
            .options(joinedload(Participant.membership).joinedload(Membership.user))
        ).scalars()
    }
    return [
        (
            mentors[pool.participant_ids[s.mentor]],
            Match(
                program_id=program.id,
                mentor_id=pool.participant_ids[s.mentor],
                mentee_id=participant.id,
                score=s.score,
                explanation=_explanation(s.explanation),
            ),
        )
        for s in chosen
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
    chosen.relationship_id = join_relationships(program, [Pairing(chosen.id, chosen.mentor_id, chosen.mentee_id)])[
        chosen.id
    ]
    record_matches_published(program, [published_match(chosen)], settings=settings, tool_base=tool_base)
    return chosen
