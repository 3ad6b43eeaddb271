"""The matching workflow: run the engine on a program's profiles, review drafts, publish, rematch, self-match.

Every function takes explicit arguments and leaves committing to the view, so a change and the statements
that record it land in one transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import statistics
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import (
    CTE,
    JSON,
    ColumnElement,
    Integer,
    Row,
    Select,
    and_,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import aliased, defer, joinedload
from sqlalchemy.orm.util import AliasedClass

from lti_tool.courses.models import Membership, User, person_name
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.roles import CourseRole
from lti_tool.matching import engine
from lti_tool.matching.models import MentorRequest, RequestState
from lti_tool.mentoring.relationships import Pairing, join_relationships, leave_relationship
from lti_tool.profiles.services import (
    LANGUAGES,
    REFERENCE_MONDAY,
    UTC_HOUR_LABELS,
    utc_hour_slots,
    utc_offset_minutes,
)
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
# Explanations name languages and the UTC hours people share in words, not codes (pages reword the hours in
# the reader's own time zone: profiles.services.in_zone).
LABELS: dict[str, str] = {code: name for code, name, _ in LANGUAGES} | UTC_HOUR_LABELS


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


class KeptPair(NamedTuple):
    """A pair a run of matching must keep as it is, by participant ids."""

    mentor_id: int
    mentee_id: int


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


def _person(
    row: Row[Any], slots: Callable[[tuple[str, ...], str], frozenset[str]], offset: Callable[[str], int]
) -> engine.Person:
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
        utc_offset=offset(row.timezone),
    )


def reference_date(program: Program) -> date:
    """The day whose UTC offsets time zones are compared by: the cohort's start, so that summer time is that of
    the program's weeks, else the profiles' reference week (availability's UTC hours come from that week)."""
    return program.starts_on or REFERENCE_MONDAY


def _declined(program: Program) -> tuple[engine.Pair, ...]:
    """Pairs ended at a participant's request, and mentees' requests their mentor declined: with
    `never_repair_declined`, never proposed again."""
    ended = (
        select(Match.mentor_id, Match.mentee_id, RematchRequest.created_at)
        .join(RematchRequest, RematchRequest.match_id == Match.id)
        .where(Match.program_id == program.id, RematchRequest.status == RequestStatus.REMATCHED.value)
    )
    refused = select(MentorRequest.mentor_id, MentorRequest.mentee_id, MentorRequest.created_at).where(
        MentorRequest.program_id == program.id, MentorRequest.state == RequestState.DECLINED.value
    )
    both = union_all(ended, refused).subquery()
    rows = db.session.execute(
        select(both.c.mentor_id, both.c.mentee_id).order_by(both.c.created_at, both.c.mentor_id, both.c.mentee_id)
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


NAMED = 10  # people a problem with the profiles names; the others are counted
_MODEL_NAMES = {
    MentoringModel.ONE_ON_ONE.value: "one-on-one mentoring",
    MentoringModel.GROUP.value: "group mentoring",
    MentoringModel.PEER.value: "peer mentoring",
    MentoringModel.REVERSE.value: "reverse mentoring",
}


def model_name(model: str | None) -> str:
    return _MODEL_NAMES.get(model or "", model or "another model")


@dataclass(frozen=True)
class PoolProblem:
    """Why the profiles as they are cannot be matched under the program's model: whom it concerns, by name, and
    what to do about it."""

    message: str  # names the people, e.g. "Priya Natarajan and 3 others chose ..."
    hint: str  # what the instructor can do


def _listed(names: list[str], count: int) -> str:
    """ "A", "A and B", "A, B and C", "A, B and 8 others" for `count` people of whom `names` are the first."""
    others = count - len(names)
    shown = [*names, f"{others} other{'s' if others != 1 else ''}"] if others > 0 else names
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"


def _names(query: Select[tuple[User]]) -> tuple[list[str], int]:
    """The first NAMED people `query` finds, by name, and how many it finds: two statements."""
    count = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    if not count:
        return [], 0
    users = db.session.execute(query.order_by(User.family_name, User.given_name, User.id).limit(NAMED)).scalars()
    return [user.display_name for user in users], int(count)


def pool_problems(program: Program, sides: tuple[int, int] | None = None) -> list[PoolProblem]:
    """What stops the program's profiles from being matched under its current model (empty when nothing does).

    `sides` is (possible mentors, possible mentees) when the caller has counted them (`totals`)."""
    model = model_name(program.model)
    in_program = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .join(Participant, Participant.membership_id == Membership.id)
        .where(in_pool(program))
    )
    problems: list[PoolProblem] = []
    if program.model != MentoringModel.PEER.value:
        names, count = _names(in_program.where(_on_side(program, 0), _on_side(program, 1)))
        if count:
            problems.append(
                PoolProblem(
                    f"{_listed(names, count)} chose both to mentor and to be mentored, and in {model} each person "
                    "takes one role.",
                    hint="Ask them to untick one of the two roles on their profile, or make the program peer "
                    "mentoring in the program settings, where people take both.",
                )
            )
    mentors, mentees = sides if sides is not None else _side_counts(program)
    if program.model == MentoringModel.REVERSE.value:
        for empty, staff, side in ((mentors == 0, True, "staff member"), (mentees == 0, False, "learner")):
            if not empty:
                continue
            names, count = _names(_without_profile(program, staff=staff))
            who = f"ask {_listed(names, count)} to fill in theirs" if count else f"no {side} has joined the program yet"
            problems.append(
                PoolProblem(
                    f"In {model} staff (instructors and teaching assistants) and learners mentor each other, and "
                    f"no {side} has a complete profile.",
                    hint=f"Everyone who has one is a {'learner' if staff else 'staff member'}: {who}, or choose "
                    "another model in the program settings.",
                )
            )
    elif not mentors or not mentees:
        side = "to mentor" if not mentors else "to be mentored"
        if program.model == MentoringModel.PEER.value:
            side = "to mentor or to be mentored" if not mentors and not mentees else side
        problems.append(
            PoolProblem(
                f"Nobody with a complete profile has chosen {side}.",
                hint="Ask participants to fill in their profile and choose that role, or check who may take it "
                "in the program settings.",
            )
        )
    return problems


def _without_profile(program: Program, *, staff: bool) -> Select[tuple[User]]:
    """Active course members of one kind (staff or learners) with no complete profile in the program."""
    roles = [role.value for role in CourseRole if role.is_staff == staff]
    return (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(Participant, and_(Participant.membership_id == Membership.id, Participant.program_id == program.id))
        .where(
            Membership.course_id == program.course_id,
            Membership.active.is_(True),
            Membership.course_role.in_(roles),
            Participant.completed_at.is_(None),
        )
    )


def _side_counts(program: Program) -> tuple[int, int]:
    """(possible mentors, possible mentees): complete profiles with an active membership, on each side."""
    counted = select(func.count(Participant.id)).join(Membership, Membership.id == Participant.membership_id)
    mentors, mentees = (
        int(db.session.execute(counted.where(in_pool(program), _on_side(program, side))).scalar_one())
        for side in (0, 1)
    )
    return mentors, mentees


def refuse_unfit_pool(program: Program) -> None:
    """Raise the first pool problem, if any, before the engine would fail on it with its own ids."""
    problems = pool_problems(program)
    if problems:
        raise MatchingError(problems[0].message, hint=problems[0].hint)


def build_pool(program: Program, *, fixed: Iterable[KeptPair] = (), only: Collection[int] | None = None) -> Pool:
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
    offset = functools.lru_cache(maxsize=None)(functools.partial(utc_offset_minutes, on=reference_date(program)))
    sides = functools.lru_cache(maxsize=None)(functools.partial(_sides, program))  # eight kinds of people
    mentors: list[engine.Person] = []
    mentees: list[engine.Person] = []
    participant_ids: dict[str, int] = {}
    persons: dict[str, engine.Person] = {}
    for row in db.session.execute(query):
        person = _person(row, slots, offset)
        participant_ids[person.id], persons[person.id] = row.id, person
        as_mentor, as_mentee = sides(row.course_role, row.wants_to_mentor, row.wants_to_be_mentored)
        if as_mentor:
            mentors.append(person)
        if as_mentee:
            mentees.append(person)
    model = engine.MentoringModel(program.model)
    peer = model is engine.MentoringModel.PEER
    # Matches and declined pairs of an earlier model may not fit this one (a peer who mentored both ways is now a
    # mentee only): the engine gets those that do, so it never answers with its own ids.
    mentor_side = {p.id for p in mentors} | ({p.id for p in mentees} if peer else set())
    mentee_side = {p.id for p in mentees} | ({p.id for p in mentors} if peer else set())
    fixed_pairs: dict[str, engine.Pair] = {}  # by mentee: the engine keeps one mentor per mentee
    taken: dict[str, int] = {}
    matched_otherwise: set[str] = set()  # mentees whose kept match does not fit: they are not matched again
    for kept in fixed:
        pair = engine.Pair(mentor=_engine_id(kept.mentor_id), mentee=_engine_id(kept.mentee_id))
        if pair.mentee not in mentee_side:
            continue
        mentor = persons.get(pair.mentor)
        places = program.default_capacity if mentor is None or mentor.capacity is None else mentor.capacity
        if pair.mentor in mentor_side and pair.mentee not in fixed_pairs and taken.get(pair.mentor, 0) < places:
            fixed_pairs[pair.mentee] = pair
            taken[pair.mentor] = taken.get(pair.mentor, 0) + 1
        else:
            matched_otherwise.add(pair.mentee)
    matched_otherwise -= fixed_pairs.keys()
    if peer:
        pool_people = {p.id: p for p in (*mentors, *mentees)}
        cohort = engine.Cohort(participants=tuple(pool_people.values()))
    else:
        mentees = [p for p in mentees if p.id not in matched_otherwise]
        cohort = engine.Cohort(mentors=tuple(mentors), mentees=tuple(mentees))
    rules = dataclasses.replace(
        engine.Rules.from_mapping(program.rules),
        require_reciprocity=program.require_reciprocity,
        # Of the people in this pool only: a pool for one action (a mentee's suggestions) leaves most people out.
        declined_pairs=tuple(p for p in _declined(program) if p.mentor in mentor_side and p.mentee in mentee_side),
        fixed_pairs=tuple(fixed_pairs.values()),
        min_score=program.min_score,
        max_hours_apart=program.max_hours_apart,
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


_ENGINE_ID = re.compile(r"'(p\d+)'")


def _by_name(error: engine.MatchingInputError, pool: Pool) -> str:
    """The engine's complaint with each participant it quotes by id named instead: instructors know names."""
    return _ENGINE_ID.sub(
        lambda found: pool.persons[found[1]].label if found[1] in pool.persons else "a participant", str(error)
    )


def _explanation(
    explanation: engine.Explanation, weights: engine.Weights, teaches: dict[str, str] | None = None
) -> dict[str, object]:
    """A match's explanation as stored: criteria the program gives no weight (the waking hours of a program in one
    time zone) are left out, so that no page shows a bar that can never fill."""
    used = {name for name, share in weights.shares().items() if share > 0}
    return {
        "contributions": {name: value for name, value in explanation.contributions.items() if name in used},
        "values": {name: value for name, value in explanation.values.items() if name in used},
        "reasons": list(explanation.factors),
        "broken_rules": list(explanation.broken_rules),
        "teaches": dict(teaches or {}),
    }


def _other_model(program: Program) -> ColumnElement[bool]:
    """SQL: the match was made under another mentoring model than the program's (unknown counts as the same)."""
    return and_(Match.model.is_not(None), Match.model != program.model)


def _kept(program: Program) -> list[KeptPair]:
    """Pairs a run must keep as they are: published matches and locked drafts of the program's current model, and
    the pairs of mentees' requests waiting for their mentor's answer, which hold the mentor's place and the mentee
    until answered. Read as two columns: the run needs no more of them."""
    matches = db.session.execute(
        select(Match.mentor_id, Match.mentee_id).where(
            Match.program_id == program.id,
            (Match.status == MatchStatus.PUBLISHED.value)
            | ((Match.status == MatchStatus.DRAFT.value) & Match.locked.is_(True) & ~_other_model(program)),
        )
    )
    waiting = db.session.execute(
        select(MentorRequest.mentor_id, MentorRequest.mentee_id).where(
            MentorRequest.program_id == program.id, MentorRequest.state == RequestState.PENDING.value
        )
    )
    return [KeptPair(mentor, mentee) for mentor, mentee in (*matches, *waiting)]


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
    refuse_unfit_pool(program)
    kept = _kept(program)
    pool = build_pool(program, fixed=kept)
    progress(1, RUN_STEPS)
    try:
        result = engine.match(pool.program, pool.cohort, seed=program.matching_seed)
    except engine.MatchingInputError as error:
        raise MatchingError(f"The profiles cannot be matched as they are: {_by_name(error, pool)}") from error
    progress(2, RUN_STEPS)
    # Bulk statements: a run replaces thousands of drafts at a large course.
    # Locked drafts of another model go too: they were decided for a program that no longer exists as it was.
    db.session.execute(
        delete(Match).where(
            Match.program_id == program.id,
            Match.status == MatchStatus.DRAFT.value,
            Match.locked.is_(False) | _other_model(program),
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
            "explanation": _explanation(found.explanation, pool.program.weights, dict(found.teaches)),
            "status": MatchStatus.DRAFT.value,
            "source": MatchSource.ENGINE.value,
            "locked": False,
            "model": program.model,
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
    """The program's last run, without its list of unmatched mentees (thousands at a large course): pages count
    and name them in SQL (`not_matched`)."""
    return db.session.execute(
        select(MatchingRun)
        .where(MatchingRun.program_id == program.id)
        .order_by(MatchingRun.id.desc())
        .limit(1)
        .options(defer(MatchingRun.unmatched, raiseload=True))
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
    other_model: int  # drafts made under another mentoring model than the program's: never published


def totals(program: Program) -> Totals:
    by_status = {
        status: (count, locked or 0, manual or 0, mean, other_model or 0)
        for status, count, locked, manual, mean, other_model in db.session.execute(
            select(
                Match.status,
                func.count(Match.id),
                func.sum(case((Match.locked.is_(True), 1), else_=0)),
                func.sum(case((Match.source == MatchSource.MANUAL.value, 1), else_=0)),
                func.avg(Match.score),
                func.sum(case((_other_model(program), 1), else_=0)),
            )
            .where(Match.program_id == program.id, Match.status.in_(ACTIVE))
            .group_by(Match.status)
        )
    }
    drafts = by_status.get(MatchStatus.DRAFT.value, (0, 0, 0, None, 0))
    mentors, mentees = _side_counts(program)
    return Totals(
        drafts=drafts[0],
        locked=int(drafts[1]),
        manual=int(drafts[2]),
        mean_draft_score=None if drafts[3] is None else float(drafts[3]),
        published=by_status.get(MatchStatus.PUBLISHED.value, (0,))[0],
        mentors=mentors,
        mentees=mentees,
        other_model=int(drafts[4]),
    )


# Why a possible mentee has no match now, besides the engine's reasons (`engine.UnmatchedReason` values) that the
# last run gave those it left unmatched.
NOT_RUN, PROFILE_AFTER_RUN, REMOVED_SINCE_RUN = "not_run", "profile_after_run", "removed_since_run"
_NOT_MATCHED_MESSAGES = {
    NOT_RUN: "Not matched yet: run matching, or make a match yourself.",
    PROFILE_AFTER_RUN: "Completed their profile after the last run: run matching again to match them.",
    REMOVED_SINCE_RUN: (
        "Their draft was removed or their match ended after the last run: run matching again, or make a match yourself."
    ),
}


@dataclass(frozen=True)
class NotMatched:
    """A possible mentee with neither a draft nor a published match now, and why, as the review page says it."""

    participant_id: int
    name: str
    reason: str  # an `engine.UnmatchedReason` value of the last run, or one of NOT_RUN, PROFILE_AFTER_RUN, ...
    message: str


@dataclass(frozen=True)
class NotMatchedNow:
    shown: list[NotMatched]  # the first by name
    total: int
    by_reason: Counter[str]  # every one of them, by `NotMatched.reason`


def _run_reasons(run: MatchingRun) -> CTE:
    """SQL: (participant_id, reason, message) of each mentee the run left unmatched, read from its stored list
    by the database (SQLite's json_each, PostgreSQL's json_array_elements), never loaded here; materialized, so
    that a statement which uses it twice reads the list once."""
    each = func.json_each if db.engine.dialect.name == "sqlite" else func.json_array_elements
    elements = each(MatchingRun.unmatched).table_valued("value")
    entry = type_coerce(elements.c.value, JSON)
    return (
        select(
            cast(entry["participant_id"].as_string(), Integer).label("participant_id"),
            entry["reason"].as_string().label("reason"),
            entry["message"].as_string().label("message"),
        )
        .select_from(MatchingRun)
        .join(elements, true())
        .where(MatchingRun.id == run.id)
        .cte("run_reasons")
        .prefix_with("MATERIALIZED")
    )


def not_matched(program: Program, run: MatchingRun | None, *, limit: int) -> NotMatchedNow:
    """The first `limit` possible mentees (by name) without a draft or a published match, how many there are and
    why, counted by reason.

    Worked out from the matches as they are now, so hand edits, publishing and ended matches show at once; the
    last run's reason is kept for those it left unmatched. At most three statements, each reading a page of rows
    whatever the program's size: the counts by reason (grouped in SQL), the first `limit` by name, and the run's
    reasons for those."""
    # IN and NOT IN uncorrelated subqueries: both databases read each once (SQLite into a temporary index); a
    # correlated NOT EXISTS took SQLite 12 s at 10,000 mentees, and so would a join to the run's list.
    matched = select(Match.mentee_id).where(Match.program_id == program.id, Match.status.in_(ACTIVE))
    unmatched = (
        select(Participant.id, Participant.completed_at)
        .join(Membership, Membership.id == Participant.membership_id)
        .where(in_pool(program), _on_side(program, 1), Participant.id.not_in(matched))
    )
    by_reason: Counter[str] = Counter()
    if run is None:
        count = db.session.execute(select(func.count()).select_from(unmatched.subquery())).scalar_one()
        by_reason.update({NOT_RUN: int(count)} if count else {})
    else:
        reasons = _run_reasons(run)
        in_run = select(reasons.c.participant_id).where(reasons.c.participant_id.is_not(None))
        since_run = case((Participant.completed_at > run.created_at, PROFILE_AFTER_RUN), else_=REMOVED_SINCE_RUN)
        given_by_run = (
            select(reasons.c.reason, func.count())
            .where(reasons.c.participant_id.in_(unmatched.with_only_columns(Participant.id)))
            .group_by(reasons.c.reason)
        )
        not_in_run = (
            unmatched.with_only_columns(since_run, func.count())
            .where(Participant.id.not_in(in_run))
            .group_by(since_run)
        )
        for given, count in db.session.execute(union_all(given_by_run, not_in_run)):
            by_reason[str(given)] += int(count)
    total = by_reason.total()
    if not total:
        return NotMatchedNow([], 0, by_reason)
    first = db.session.execute(
        unmatched.add_columns(User)
        .join(User, User.id == Membership.user_id)
        .order_by(User.family_name, User.given_name, Participant.id)
        .limit(limit)
    ).all()
    from_run: dict[int, tuple[str, str]] = {}
    if run is not None:
        reasons = _run_reasons(run)
        named = select(reasons.c.participant_id, reasons.c.reason, reasons.c.message).where(
            reasons.c.participant_id.in_([pid for pid, _, _ in first])
        )
        from_run = {int(pid): (str(why), str(said)) for pid, why, said in db.session.execute(named)}

    def why(pid: int, completed_at: datetime) -> tuple[str, str]:
        if pid in from_run:
            return from_run[pid]
        if run is None:
            reason = NOT_RUN
        elif completed_at > run.created_at:
            reason = PROFILE_AFTER_RUN
        else:
            reason = REMOVED_SINCE_RUN
        return reason, _NOT_MATCHED_MESSAGES[reason]

    shown = [NotMatched(pid, user.display_name, *why(pid, completed_at)) for pid, completed_at, user in first]
    return NotMatchedNow(shown, total, by_reason)


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


def _draft(program: Program, match: Match, *, any_model: bool = False) -> Match:
    if match.status != MatchStatus.DRAFT.value:
        raise MatchingError("Only draft matches can be changed; published matches end through a rematch.")
    if not any_model and match.model is not None and match.model != program.model:
        raise MatchingError(
            f"This draft was made under {model_name(match.model)}, before the program became "
            f"{model_name(program.model)}.",
            hint="Remove it, or run matching again: that replaces every draft of the earlier model.",
        )
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
        raise MatchingError(f"These profiles cannot be matched: {_by_name(error, pool)}") from error
    return Match(
        program_id=program.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        score=verdict.score,
        explanation=_explanation(verdict.explanation, pool.program.weights, dict(verdict.teaches)),
        status=MatchStatus.DRAFT.value,
        model=program.model,
    )


def already_matched(program: Program, mentee: Participant, *, excluding: Iterable[int] = ()) -> bool:
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
    if already_matched(program, mentee):
        raise MatchingError("This mentee already has a match; reassign or remove it instead.")
    draft = assess(program, mentor, mentee)
    draft.source = MatchSource.MANUAL.value
    db.session.add(draft)
    db.session.flush()
    return draft


def set_locked(program: Program, match: Match, locked: bool) -> None:
    _draft(program, match).locked = locked


def remove_draft(program: Program, match: Match) -> None:
    db.session.delete(_draft(program, match, any_model=True))


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
    refuse_other_model_drafts(program)
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


def _other_model_drafts(program: Program) -> tuple[int, str]:
    """How many drafts were made under other models than the program's, and those models in words."""
    found = db.session.execute(
        select(Match.model, func.count(Match.id))
        .where(Match.program_id == program.id, Match.status == MatchStatus.DRAFT.value, _other_model(program))
        .group_by(Match.model)
        .order_by(Match.model)
    ).all()
    return sum(n for _, n in found), " and ".join(model_name(model) for model, _ in found)


def refuse_other_model_drafts(program: Program) -> None:
    """Drafts of another mentoring model are never published: nothing is, while any is left."""
    count, made = _other_model_drafts(program)
    if count:
        raise MatchingError(
            f"Nothing was published: {count} draft{'s were' if count != 1 else ' was'} made under {made}, and the "
            f"program is now {model_name(program.model)}.",
            hint="Run matching again (it replaces them), or remove them, then publish.",
        )


def model_change_notes(program: Program) -> list[str]:
    """What a change of the program's model leaves the instructor to do, in words (empty when nothing)."""
    count, made = _other_model_drafts(program)
    notes = [f"{problem.message} {problem.hint}" for problem in pool_problems(program)]
    if count:
        notes.insert(
            0,
            f"{count} draft{'s' if count != 1 else ''} made under {made} will not be published: run matching again "
            "to replace them.",
        )
    return notes


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


def criterion_points(contributions: object) -> dict[str, float]:
    """Per-criterion contributions (an explanation's, or an alternative's) in points of 100; junk counts as 0."""
    if not isinstance(contributions, dict):
        return {}
    return {
        str(key): 100 * float(value)
        for key, value in contributions.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }


def points_apart(mine: dict[str, float], theirs: dict[str, float]) -> list[tuple[str, int]]:
    """(criterion, points) where `mine` differs from `theirs` by a whole point or more, the largest first: what
    makes one pair score more or less than another."""
    apart = [(key, round(mine.get(key, 0.0) - theirs.get(key, 0.0))) for key in dict.fromkeys([*mine, *theirs])]
    return sorted(((key, delta) for key, delta in apart if delta), key=lambda item: (-abs(item[1]), item[0]))


def draft_differences(drafts: list[Match]) -> dict[int, list[tuple[str, int]]]:
    """For each draft of a page (by id): how its criteria differ from the median of the page's other drafts."""
    if len(drafts) < 2:
        return {}
    points = {d.id: criterion_points((d.explanation or {}).get("contributions")) for d in drafts}
    keys = list(dict.fromkeys(key for each in points.values() for key in each))
    answer = {}
    for draft in drafts:
        others = [each for other, each in points.items() if other != draft.id]
        median = {key: statistics.median(each.get(key, 0.0) for each in others) for key in keys}
        answer[draft.id] = points_apart(points[draft.id], median)
    return answer


ALTERNATIVE_MENTORS = 1000  # mentors with a place left an alternative is sought among (most places left first)


@dataclass(frozen=True)
class Alternative:
    """The best other mentor for a draft's mentee: their score and contributions, and whether they have a place
    left (reassign) or mentor another draft on the same page (swap)."""

    mentor_id: int
    name: str
    score: float
    contributions: dict[str, float]
    places_left: bool
    in_draft: int | None  # the id of the draft on the page this mentor mentors, when they have no place left


def alternatives(program: Program, drafts: list[Match]) -> dict[int, Alternative]:
    """For each draft (by id) of one page, its mentee's next-best mentor, never breaking a hard rule: among the
    page's other mentors and up to ALTERNATIVE_MENTORS mentors with a place left. One engine call for the page;
    the same few statements for 10 drafts as for 50."""
    current = [d for d in drafts if d.model is None or d.model == program.model]
    if not current:
        return {}
    load = (
        select(Match.mentor_id, func.count(Match.id).label("load"))
        .where(Match.program_id == program.id, Match.status.in_(ACTIVE))
        .group_by(Match.mentor_id)
        .subquery()
    )
    places = func.coalesce(Participant.capacity, program.default_capacity) - func.coalesce(load.c.load, 0)
    open_mentors = set(
        db.session.execute(
            select(Participant.id)
            .join(Membership, Membership.id == Participant.membership_id)
            .outerjoin(load, load.c.mentor_id == Participant.id)
            .where(in_pool(program), _on_side(program, 0), places > 0)
            .order_by(places.desc(), Participant.id)
            .limit(ALTERNATIVE_MENTORS)
        ).scalars()
    )
    page_mentors = {d.mentor_id: d.id for d in current}
    pool = build_pool(program, only={*open_mentors, *page_mentors, *(d.mentee_id for d in current)})
    wanted = [_engine_id(d.mentee_id) for d in current]
    on_mentee_side = {p.id for p in pool.cohort.sides(pool.program.model)[1]}
    # Without fixed pairs every mentor of the pool counts as free: the page's full mentors are swap partners.
    try:
        found = engine.suggest_mentors(
            pool.program, pool.cohort, top_n=2, mentees=[m for m in dict.fromkeys(wanted) if m in on_mentee_side]
        )
    except engine.MatchingInputError:  # profiles that do not fit the model: the review page says so already
        return {}
    answer: dict[int, Alternative] = {}
    for draft in current:
        best = next(
            (s for s in found.get(_engine_id(draft.mentee_id), ()) if s.mentor != _engine_id(draft.mentor_id)), None
        )
        if best is None:
            continue
        mentor_id = pool.participant_ids[best.mentor]
        has_place = mentor_id in open_mentors
        answer[draft.id] = Alternative(
            mentor_id=mentor_id,
            name=pool.persons[best.mentor].label,
            score=best.score,
            contributions=dict(best.explanation.contributions),
            places_left=has_place,
            in_draft=None if has_place else page_mentors.get(mentor_id),
        )
    return answer


def suggestions(program: Program, participant: Participant, top_n: int = 5) -> list[tuple[Participant, Match]]:
    """Self-match: the mentee's best mentors with a place left, as unsaved scored matches, best first.

    A mentor's places are taken by their published matches and by the mentees' requests waiting for their
    answer (two-sided self-match); a mentor who declined this mentee is never suggested to them again. The pool
    is the mentee and the mentors with a place left (found in SQL), not the whole course: a mentee's page reads
    the same few statements whatever the course's size."""
    held = union_all(
        select(Match.mentor_id.label("mentor_id")).where(
            Match.program_id == program.id, Match.status == MatchStatus.PUBLISHED.value
        ),
        select(MentorRequest.mentor_id.label("mentor_id")).where(
            MentorRequest.program_id == program.id, MentorRequest.state == RequestState.PENDING.value
        ),
    ).subquery()
    load = select(held.c.mentor_id, func.count().label("load")).group_by(held.c.mentor_id).subquery()
    declined = select(MentorRequest.mentor_id).where(
        MentorRequest.mentee_id == participant.id, MentorRequest.state == RequestState.DECLINED.value
    )
    taken = func.coalesce(load.c.load, 0)
    open_mentors = (
        select(Participant.id, taken)
        .join(Membership, Membership.id == Participant.membership_id)
        .outerjoin(load, load.c.mentor_id == Participant.id)
        .where(
            in_pool(program),
            _on_side(program, 0),
            Participant.id != participant.id,
            Participant.id.not_in(declined),
            taken < func.coalesce(Participant.capacity, program.default_capacity),
        )
    )
    loads = {mentor: int(count) for mentor, count in db.session.execute(open_mentors)}
    pool = build_pool(program, only=[participant.id, *loads])
    mentee_id = _engine_id(participant)
    if mentee_id not in {p.id for p in pool.cohort.sides(pool.program.model)[1]}:
        return []
    try:
        found = engine.suggest_mentors(
            pool.program,
            pool.cohort,
            top_n=top_n,
            mentees=[mentee_id],
            taken={_engine_id(mentor): count for mentor, count in loads.items() if count},
        )
    except engine.MatchingInputError:  # profiles that do not fit the model (the review page names them): none
        return []
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
                explanation=_explanation(s.explanation, pool.program.weights),
                model=program.model,
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
    if program.mentor_accepts:
        raise MatchingError("In this program the mentor you choose answers your request first.")
    if already_matched(program, participant):
        raise MatchingError("You already have a mentor in this program.")
    waiting = select(MentorRequest.id).where(
        MentorRequest.mentee_id == participant.id, MentorRequest.state == RequestState.PENDING.value
    )
    if db.session.execute(waiting).first() is not None:  # asked while two-sided self-match was on
        raise MatchingError("You are waiting for a mentor's answer.", hint="Withdraw that request first.")
    offered = {m.id: proposal for m, proposal in suggestions(program, participant, top_n=5)}
    if mentor.id not in offered:
        raise MatchingError("That mentor is not among your suggestions any more (they may be full). Choose again.")
    chosen = offered[mentor.id]
    chosen.source = MatchSource.SELF.value
    return publish_one(program, chosen, settings=settings, tool_base=tool_base)


def publish_one(program: Program, match: Match, *, settings: Settings, tool_base: str) -> Match:
    """Publish one new pair at once (a mentee's choice, or a mentor's acceptance of their request), the way
    publishing drafts does: its relationship and its `matched` statement."""
    match.status, match.published_at = MatchStatus.PUBLISHED.value, utcnow()
    db.session.add(match)
    db.session.flush()
    match.relationship_id = join_relationships(program, [Pairing(match.id, match.mentor_id, match.mentee_id)])[match.id]
    record_matches_published(program, [published_match(match)], settings=settings, tool_base=tool_base)
    return match
