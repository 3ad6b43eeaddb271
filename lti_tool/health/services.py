"""Program health for a course's staff: the figures of the health page and everything of one pair but private notes.

Private notes are never read here: no query of this package touches the private_note table.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    CTE,
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    Subquery,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.orm import selectinload

from lti_tool.assessments.charts import BarChart, Series, grouped_bars, level_text
from lti_tool.assessments.growth import in_order
from lti_tool.assessments.models import AssessmentRound, RaterRole, SkillAssessment, SkillRating
from lti_tool.assessments.services import RoundState, program_rounds, round_state, subject_count
from lti_tool.courses.models import Membership, User, person_name
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.health.charts import ColumnChart, column_chart, nice_ceiling, ticks
from lti_tool.mentoring.models import (
    ActionItem,
    CheckinRequest,
    Goal,
    GoalStatus,
    MentoringSession,
    Relationship,
    RelationshipMember,
    SessionRating,
    SessionResponse,
    SessionRevision,
    SessionStatus,
)
from lti_tool.mentoring.relationships import CheckinStatus, checkin_of, staff_pair
from lti_tool.programs.models import Participant, Program
from lti_tool.surveys.models import Survey, SurveyResponse
from lti_tool.surveys.questions import Distribution, QuestionType, distribution, parse_questions
from lti_tool.surveys.services import SurveyStatus, status_of
from lti_tool.wording import hours_text, most_chosen_text, ngettext, time_in_sessions_text

Attached = TypeVar("Attached", SessionResponse, SessionRating, ActionItem)
WEEKS_SHOWN = 16
GOAL_STATUS_LABELS = {
    GoalStatus.COMPLETED.value: "Completed",
    GoalStatus.IN_PROGRESS.value: "In progress",
    GoalStatus.NOT_STARTED.value: "Not started",
    GoalStatus.DROPPED.value: "Dropped",
}


def members_text(members: Iterable[tuple[str, str]]) -> str:
    """Who is in a pair, from (name, role) of each member: "Ada Lovelace (mentor), Ben Okri (mentee)"."""
    return ", ".join(f"{name} ({role})" for name, role in members)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week a moment falls in."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


class HealthError(MentorLtiError):
    """A health page's list was asked for with a page or search it cannot answer."""


@dataclass(frozen=True)
class PairMember:
    participant_id: int
    name: str
    role: str


@dataclass(frozen=True)
class PairSummary:
    """One relationship on the health page: who, whether everyone accepted, how much they met, their goals."""

    relationship_id: int
    ended_at: datetime | None
    members: list[PairMember]  # the active ones; everyone once the pair has ended
    all_accepted: bool
    sessions: int
    hours: float
    goals_set: int
    goals_completed: int
    checkin: CheckinStatus

    @property
    def names(self) -> str:
        return members_text((m.name, m.role) for m in self.members)


@dataclass(frozen=True)
class WeekActivity:
    week_of: date
    sessions: int
    hours: float
    pairs: int  # how many pairs met that week


@dataclass(frozen=True)
class RoundCompletion:
    """How many of the program's assessed learners (`assessments.services.subject_count`) assessed themselves in a
    round."""

    round: AssessmentRound
    completed: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.completed / self.total if self.total else 0.0


@dataclass(frozen=True)
class SkillGrowth:
    """A skill's mean level in learners' first and latest rounds with ratings, over the learners rated in both."""

    key: str
    name: str
    learners: int
    baseline: float
    latest: float

    @property
    def growth(self) -> float:
        return self.latest - self.baseline


@dataclass(frozen=True)
class SurveyResults:
    survey: Survey
    status: SurveyStatus
    responses: int
    participants: int  # who could answer: the program's participants
    distributions: list[Distribution]  # the coded questions'
    written: list[tuple[str, int]]  # (text question, how many wrote an answer); the answers are in the CSV export


@dataclass(frozen=True)
class PairTotals:
    """The program's pairs counted in SQL: the figures "at a glance" and the spread of hours per pair."""

    pairs: int  # ended ones included
    open_pairs: int
    accepted_pairs: int  # open, and every active member accepted the agreement
    overdue_pairs: int  # open and past their check-in date
    sessions: int  # counted sessions (disputed ones are not) of every pair, ended ones included
    hours: float
    hours_spread: list[tuple[str, int]]  # (a range of hours, how many pairs logged that much), every pair
    first_activity: datetime | None  # the first pair's creation or the first counted session, whichever is earlier
    last_session: datetime | None


@dataclass(frozen=True)
class PairPage:
    """One page of the pair list, the pairs needing attention first; `search` narrows it by a member's name."""

    pairs: list[PairSummary]
    number: int  # 1-based
    pages: int
    matching: int  # pairs that match the search (every pair without one)
    search: str


@dataclass(frozen=True)
class ProgramHealth:
    totals: PairTotals
    pairs: PairPage
    weeks: list[WeekActivity]
    goals: dict[str, int]  # goal status -> how many
    rounds: list[RoundCompletion]
    growth: list[SkillGrowth]
    surveys: list[SurveyResults]

    @property
    def goals_set(self) -> int:
        return sum(self.goals.values())

    @property
    def goals_completed(self) -> int:
        return self.goals.get(GoalStatus.COMPLETED.value, 0)


def program_health(
    program: Program, number: int = 1, search: str = "", *, now: datetime | None = None
) -> ProgramHealth:
    """The health page's figures and its page `number` of pairs (see `pair_page`), each an aggregate query: the
    same few statements whatever the program's size."""
    now = now or utcnow()
    totals, pairs = pair_overview(program, number, search, now=now)
    rounds = program_rounds(program)
    return ProgramHealth(
        totals=totals,
        pairs=pairs,
        weeks=_weeks(program, totals, now),
        goals=_goal_counts(program),
        rounds=_round_completion(program, rounds),
        growth=skill_growth(program, rounds),
        surveys=survey_results(program),
    )


# --- Per-pair figures, aggregated in SQL ------------------------------------------------------------------------


def _counted(program: Program) -> ColumnElement[bool]:
    """The program's sessions that count: disputed ones do not."""
    return and_(Relationship.program_id == program.id, MentoringSession.status != SessionStatus.DISPUTED.value)


def _pair_figures(pairs: ColumnElement[bool], matches: ColumnElement[bool]) -> CTE:
    """One row per relationship of `pairs` (a condition on `Relationship`): its dates, counted sessions, minutes,
    first and last meeting, goals, active members, how many of them have not accepted the agreement, and `matches`
    (a condition on it, e.g. `_name_matches`)."""
    met = (
        select(
            MentoringSession.relationship_id.label("relationship_id"),
            func.count().label("sessions"),
            func.sum(MentoringSession.duration_minutes).label("minutes"),
            func.min(MentoringSession.started_at).label("first_met"),
            func.max(MentoringSession.started_at).label("last_met"),
        )
        .join(Relationship, Relationship.id == MentoringSession.relationship_id)
        .where(pairs, MentoringSession.status != SessionStatus.DISPUTED.value)
        .group_by(MentoringSession.relationship_id)
        .subquery()
    )
    goals = (
        select(
            Goal.relationship_id.label("relationship_id"),
            func.count().label("goals_set"),
            func.sum(case((Goal.status == GoalStatus.COMPLETED.value, 1), else_=0)).label("goals_completed"),
        )
        .join(Relationship, Relationship.id == Goal.relationship_id)
        .where(pairs)
        .group_by(Goal.relationship_id)
        .subquery()
    )
    active = RelationshipMember.left_at.is_(None)
    members = (
        select(
            RelationshipMember.relationship_id.label("relationship_id"),
            func.sum(case((active, 1), else_=0)).label("active"),
            func.sum(case((and_(active, RelationshipMember.accepted_at.is_(None)), 1), else_=0)).label("waiting"),
        )
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .where(pairs)
        .group_by(RelationshipMember.relationship_id)
        .subquery()
    )
    return (
        select(
            Relationship.id.label("relationship_id"),
            Relationship.created_at,
            Relationship.ended_at,
            func.coalesce(met.c.sessions, 0).label("sessions"),
            func.coalesce(met.c.minutes, 0).label("minutes"),
            met.c.first_met,
            met.c.last_met,
            func.coalesce(goals.c.goals_set, 0).label("goals_set"),
            func.coalesce(goals.c.goals_completed, 0).label("goals_completed"),
            func.coalesce(members.c.active, 0).label("active"),
            func.coalesce(members.c.waiting, 0).label("waiting"),
            matches.label("matches"),
        )
        .outerjoin(met, met.c.relationship_id == Relationship.id)
        .outerjoin(goals, goals.c.relationship_id == Relationship.id)
        .outerjoin(members, members.c.relationship_id == Relationship.id)
        .where(pairs)
        .cte("pair_figures")
    )


def _conditions(figures: CTE, overdue_before: ColumnElement[datetime]) -> tuple[ColumnElement[bool], ...]:
    """(open, everyone accepted, overdue) of a `_pair_figures` row, as `checkin_status` and `waiting_on` decide:
    overdue when now is past (last meeting, else pairing) + the cadence, i.e. that moment is before
    `overdue_before` (`_overdue_before`)."""
    is_open = figures.c.ended_at.is_(None)
    accepted = and_(figures.c.active > 0, figures.c.waiting == 0)
    overdue = and_(is_open, func.coalesce(figures.c.last_met, figures.c.created_at) < overdue_before)
    return is_open, accepted, overdue


def _overdue_before(program: Program, now: datetime) -> datetime:
    return now - timedelta(days=max(1, program.checkin_every_days))


# A pair's hours fall in one of these ranges (in minutes, lower bound included) on the "hours per pair" chart.
HOURS_RANGES = (("None", 0, 1), ("Under 2 h", 1, 120), ("2 to 5 h", 120, 300), ("5 to 10 h", 300, 600),
                ("10 to 20 h", 600, 1200), ("20 h or more", 1200, None))  # fmt: skip
PAGE_SIZE = 50
MAX_SEARCH = 200


def _totals(figures: CTE, overdue_before: ColumnElement[datetime]) -> Subquery:
    """One row: the program's pair totals (`PairTotals`), then how many pairs match the search."""
    is_open, accepted, overdue = _conditions(figures, overdue_before)

    def how_many(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    minutes = figures.c.minutes
    spread = [
        how_many(minutes >= low if high is None else and_(minutes >= low, minutes < high))
        for _, low, high in HOURS_RANGES
    ]
    return (
        select(
            func.count().label("pairs"),
            how_many(is_open).label("open_pairs"),
            how_many(and_(is_open, accepted)).label("accepted_pairs"),
            how_many(overdue).label("overdue_pairs"),
            func.coalesce(func.sum(figures.c.sessions), 0).label("all_sessions"),
            func.coalesce(func.sum(minutes), 0).label("all_minutes"),
            func.min(figures.c.created_at).label("first_created"),
            func.min(figures.c.first_met).label("first_session"),
            func.max(figures.c.last_met).label("last_session"),
            *(n.label(f"spread_{index}") for index, n in enumerate(spread)),
            how_many(figures.c.matches).label("matching"),
        )
        .select_from(figures)
        .subquery("totals")
    )


def _page_of(figures: CTE, overdue_before: ColumnElement[datetime], offset: ColumnElement[int]) -> Subquery:
    """The `PAGE_SIZE` pairs from `offset` of those that match the search: overdue ones first (the longest without
    meeting first), then those waiting for an acceptance, then those that never met, then the others; ended pairs
    last."""
    is_open, accepted, overdue = _conditions(figures, overdue_before)
    attention = case((~is_open, 4), (overdue, 0), (~accepted, 1), (figures.c.sessions == 0, 2), else_=3)
    since = func.coalesce(figures.c.last_met, figures.c.created_at)
    return (
        select(figures, attention.label("attention"), since.label("since"))
        .where(figures.c.matches)
        .order_by(attention, since, figures.c.relationship_id)
        .limit(PAGE_SIZE)
        .offset(offset)
        .subquery("page")
    )


@functools.cache
def _overview_statement(searching: bool) -> Select[Any]:
    """`pair_overview`'s statement, built once per process with its values as bound parameters (program_id,
    pattern, overdue_before, offset): building and keying an expression of this size took a few milliseconds of
    every view."""
    program_id = bindparam("program_id", type_=Integer)
    figures = _pair_figures(
        Relationship.program_id == program_id,
        _name_matches(program_id, bindparam("pattern", type_=String)) if searching else true(),
    )
    overdue_before = bindparam("overdue_before", type_=UTCDateTime)
    totals = _totals(figures, overdue_before)
    page = _page_of(figures, overdue_before, bindparam("offset", type_=Integer))
    return (
        select(totals, page)
        .select_from(totals)
        .outerjoin(page, true())
        .order_by(page.c.attention, page.c.since, page.c.relationship_id)
    )


def pair_overview(
    program: Program, number: int = 1, search: str = "", *, now: datetime | None = None
) -> tuple[PairTotals, PairPage]:
    """The program's pair totals and page `number` of its pairs (see `pair_page`), from one reading of the per-pair
    figures: a statement whose rows are the page's pairs, each beside the totals (one row of totals alone when the
    page is empty). A page past the last shows the last, at the cost of a second statement."""
    now = now or utcnow()
    search = search.strip()
    if len(search) > MAX_SEARCH:
        raise HealthError(f"Search for at most {MAX_SEARCH} characters of a name.")
    if number < 1:
        raise HealthError("Pages are numbered from 1.", hint="Open the pair list from its first page.")
    values: dict[str, Any] = {
        "program_id": program.id,
        "overdue_before": _overdue_before(program, now),
        "offset": (number - 1) * PAGE_SIZE,
    }
    if search:
        values["pattern"] = _like_pattern(search)
    rows = db.session.execute(_overview_statement(bool(search)), values).all()
    first = rows[0]
    pages = max(1, math.ceil(first.matching / PAGE_SIZE))
    if number > pages:
        return pair_overview(program, pages, search, now=now)
    listed = [row for row in rows if row.relationship_id is not None]
    return _pair_totals(first), PairPage(_summaries(listed, program, now), number, pages, first.matching, search)


def _pair_totals(row: Row[Any]) -> PairTotals:
    first_activity = min((m for m in (row.first_created, row.first_session) if m is not None), default=None)
    return PairTotals(
        pairs=row.pairs,
        open_pairs=row.open_pairs,
        accepted_pairs=row.accepted_pairs,
        overdue_pairs=row.overdue_pairs,
        sessions=int(row.all_sessions),
        hours=int(row.all_minutes) / 60,
        hours_spread=[(label, int(row._mapping[f"spread_{n}"])) for n, (label, _, _) in enumerate(HOURS_RANGES)],
        first_activity=first_activity,
        last_session=row.last_session,
    )


def _like_pattern(search: str) -> str:
    """`search` anywhere in a text, its LIKE wildcards searched for as text (see `_name_matches`)."""
    return "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _name_matches(program_id: ColumnElement[int], pattern: ColumnElement[str]) -> ColumnElement[bool]:
    """A relationship with a member (active or not) whose name or email is like `pattern` (`_like_pattern`), any
    case. The program's matching members are found once, not per relationship: PostgreSQL prices a correlated
    subquery per row, and at 4,000 pairs that price made it JIT-compile the statement (~50 ms)."""
    full_name = func.coalesce(User.given_name, "") + " " + func.coalesce(User.family_name, "")
    return Relationship.id.in_(
        select(RelationshipMember.relationship_id)
        .join(Participant, Participant.id == RelationshipMember.participant_id)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(
            Participant.program_id == program_id,
            or_(*(column.ilike(pattern, escape="\\") for column in (User.name, full_name, User.email))),
        )
    )


def pair_page(program: Program, number: int = 1, search: str = "", *, now: datetime | None = None) -> PairPage:
    """A page of `PAGE_SIZE` pairs: overdue ones first (the longest without meeting first), then those waiting for an
    acceptance, then those that never met, then the others; ended pairs last. A page past the last shows the last."""
    return pair_overview(program, number, search, now=now)[1]


def _summaries(rows: Sequence[Row[Any]], program: Program, now: datetime) -> list[PairSummary]:
    """`_pair_figures` rows as summaries, with their members' names read in one query (as plain columns: a page of
    50 pairs builds no ORM object)."""
    members: defaultdict[int, list[tuple[PairMember, bool]]] = defaultdict(list)
    for relationship_id, participant_id, role, left_at, name, given_name, family_name in db.session.execute(
        select(
            RelationshipMember.relationship_id,
            RelationshipMember.participant_id,
            RelationshipMember.role,
            RelationshipMember.left_at,
            User.name,
            User.given_name,
            User.family_name,
        )
        .join(Participant, Participant.id == RelationshipMember.participant_id)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(RelationshipMember.relationship_id.in_([row.relationship_id for row in rows]))
        .order_by(RelationshipMember.id)
    ):
        member = PairMember(participant_id, person_name(name, given_name, family_name), role)
        members[relationship_id].append((member, left_at is None))
    summaries = []
    for row in rows:
        everyone = members[row.relationship_id]
        active = [member for member, is_active in everyone if is_active]
        summaries.append(
            PairSummary(
                relationship_id=row.relationship_id,
                ended_at=row.ended_at,
                members=active or [member for member, _ in everyone],
                all_accepted=row.active > 0 and row.waiting == 0,
                sessions=row.sessions,
                hours=row.minutes / 60,
                goals_set=row.goals_set,
                goals_completed=row.goals_completed,
                checkin=checkin_of(program, row.created_at, row.ended_at, row.last_met, now=now),
            )
        )
    return summaries


def _goal_counts(program: Program) -> dict[str, int]:
    counted: dict[str, int] = {
        status: n
        for status, n in db.session.execute(
            select(Goal.status, func.count())
            .join(Relationship, Relationship.id == Goal.relationship_id)
            .where(Relationship.program_id == program.id)
            .group_by(Goal.status)
        )
    }
    return {status: counted.get(status, 0) for status in GOAL_STATUS_LABELS}


def _weeks(program: Program, totals: PairTotals, now: datetime) -> list[WeekActivity]:
    """Sessions and hours per week, from the program's first pair or session to this week (the latest
    WEEKS_SHOWN weeks at most), weeks without sessions included: one query grouping by week."""
    if totals.first_activity is None:
        return []
    last = week_of(max(now, totals.last_session or now))
    start = max(week_of(totals.first_activity), last - timedelta(weeks=WEEKS_SHOWN - 1))
    mondays = [start + timedelta(weeks=n) for n in range((last - start).days // 7 + 1)]
    bounds = [datetime.combine(monday + timedelta(weeks=1), time(), UTC) for monday in mondays]
    started = MentoringSession.started_at
    week = case(*((started < bound, index) for index, bound in enumerate(bounds)))
    rows = db.session.execute(
        select(
            week.label("week"),
            func.count(),
            func.sum(MentoringSession.duration_minutes),
            func.count(func.distinct(MentoringSession.relationship_id)),
        )
        .join(Relationship, Relationship.id == MentoringSession.relationship_id)
        .where(_counted(program), started >= datetime.combine(start, time(), UTC), started < bounds[-1])
        .group_by("week")
    ).all()
    found = {index: (sessions, int(minutes), pairs) for index, sessions, minutes, pairs in rows}
    return [
        WeekActivity(monday, found.get(index, (0, 0, 0))[0], found.get(index, (0, 0, 0))[1] / 60,
                     found.get(index, (0, 0, 0))[2])
        for index, monday in enumerate(mondays)
    ]  # fmt: skip


def _round_completion(program: Program, rounds: list[AssessmentRound]) -> list[RoundCompletion]:
    """How many learners assessed themselves in each round (`completion_by_round`'s `self_done`, counted from the
    self-assessments alone: the other raters' assessments are half of a round's rows, and the page needs no count of
    them)."""
    if not rounds:
        return []
    total = subject_count(program)
    done: dict[int, int] = {
        round_id: count
        for round_id, count in db.session.execute(
            select(SkillAssessment.round_id, func.count(func.distinct(SkillAssessment.subject_id)))
            .where(
                SkillAssessment.round_id.in_([r.id for r in rounds]),
                SkillAssessment.rater_role == RaterRole.SELF.value,
            )
            .group_by(SkillAssessment.round_id)
        )
    }
    return [RoundCompletion(r, done.get(r.id, 0), total) for r in rounds]


def skill_growth(program: Program, rounds: list[AssessmentRound]) -> list[SkillGrowth]:
    """Average growth per skill over the program's learners, each compared by the assessments' own rule
    (`assessments.growth`: a skill's level in a round is its mentors' mean rating, else the instructors', else the
    learner's own; their first round with ratings is compared with their latest, on the skills rated in both).

    The rule runs in SQL here, so that a program of 10,000 learners and 70,000 ratings answers in one query;
    tests/health/test_health_queries.py checks it against `compare_rounds` on a generated program.
    """
    opened = [r for r in rounds if round_state(r) is not RoundState.NOT_OPENED]
    if not opened:
        return []
    position = case({r.id: index for index, r in enumerate(opened)}, value=SkillAssessment.round_id)

    def round_at(at: ColumnElement[int]) -> ColumnElement[int]:
        """The round at a position of `opened`."""
        return case({index: r.id for index, r in enumerate(opened)}, value=at)

    # Each learner's first and latest rounds with ratings, for the learners rated in two rounds at least (a
    # grouping of assessments, not of ratings)...
    rated = (
        select(
            SkillAssessment.subject_id.label("subject_id"),
            round_at(func.min(position)).label("first_round"),
            round_at(func.max(position)).label("latest_round"),
        )
        .where(
            SkillAssessment.round_id.in_([r.id for r in opened]),
            select(SkillRating.id).where(SkillRating.assessment_id == SkillAssessment.id).exists(),
        )
        .group_by(SkillAssessment.subject_id)
        .having(func.min(position) < func.max(position))
        .subquery("rated")
    )
    # ... the assessments of those two rounds, each with a code: 0, 1, 2 in the first round (mentor, instructor,
    # the learner's own), 3, 4, 5 in the latest; written once (MATERIALIZED), so that the ratings' grouping below
    # compares one small number per rating ...
    rank = case({RaterRole.MENTOR.value: 0, RaterRole.INSTRUCTOR.value: 1}, value=SkillAssessment.rater_role, else_=2)
    ends_assessments = (
        select(
            SkillAssessment.id.label("assessment_id"),
            SkillAssessment.subject_id.label("subject_id"),
            (case((SkillAssessment.round_id == rated.c.first_round, 0), else_=3) + rank).label("code"),
        )
        .join(
            rated,
            and_(
                rated.c.subject_id == SkillAssessment.subject_id,
                SkillAssessment.round_id.in_([rated.c.first_round, rated.c.latest_round]),
            ),
        )
        .cte("ends_assessments")
        .prefix_with("MATERIALIZED")
    )
    code = ends_assessments.c.code

    def level(first_code: int) -> ColumnElement[float]:
        """A skill's level in one of the two rounds: its mentors' mean rating, else its instructors', else the
        learner's own (NULL when it was not rated there). FILTER: each rating feeds only the mean it belongs to."""
        return func.coalesce(*(func.avg(SkillRating.level).filter(code == first_code + n) for n in range(3)))

    # ... their level of each skill in those two rounds, in one grouping of their ratings ...
    ends = (
        select(
            SkillRating.skill_key.label("skill_key"),
            level(0).label("first_level"),
            level(3).label("latest_level"),
        )
        .join(ends_assessments, ends_assessments.c.assessment_id == SkillRating.assessment_id)
        .group_by(ends_assessments.c.subject_id, SkillRating.skill_key)
        .subquery("ends")
    )
    # ... averaged over the learners rated on the skill in both.
    rows = db.session.execute(
        select(ends.c.skill_key, func.count(), func.avg(ends.c.first_level), func.avg(ends.c.latest_level))
        .where(ends.c.first_level.is_not(None), ends.c.latest_level.is_not(None))
        .group_by(ends.c.skill_key)
    ).all()
    compared = {key: (learners, float(baseline), float(latest_level)) for key, learners, baseline, latest_level in rows}
    names = {skill.key: skill.name for skill in program.skills}
    return [
        SkillGrowth(key, names.get(key, key), *compared[key])
        for key in in_order(compared, [skill.key for skill in program.skills])
    ]


def survey_results(program: Program) -> list[SurveyResults]:
    """Each opened survey's answers: how many answered, and the spread of each scale and choice question."""
    surveys = list(
        db.session.execute(
            select(Survey).where(Survey.program_id == program.id, Survey.opened_at.is_not(None)).order_by(Survey.id)
        ).scalars()
    )
    if not surveys:
        return []
    participants = db.session.execute(
        select(func.count(Participant.id)).where(Participant.program_id == program.id)
    ).scalar_one()
    # The answers as the JSON text they are stored as, parsed once per survey as one JSON array: a parse per
    # response (3,000 of them) costs twice as much.
    documents: defaultdict[int, list[str]] = defaultdict(list)
    for survey_id, document in db.session.execute(
        select(SurveyResponse.survey_id, cast(SurveyResponse.answers, Text)).where(
            SurveyResponse.survey_id.in_([s.id for s in surveys])
        )
    ):
        documents[survey_id].append(document)
    results = []
    for survey in surveys:
        questions = parse_questions(survey.questions)
        given: list[dict[str, Any]] = json.loads("[" + ",".join(documents[survey.id]) + "]")
        results.append(
            SurveyResults(
                survey=survey,
                status=status_of(survey),
                responses=len(given),
                participants=participants,
                distributions=[distribution(q, given) for q in questions if q.coded],
                written=[
                    (q.text, sum(1 for a in given if a.get(q.key))) for q in questions if q.type is QuestionType.TEXT
                ],
            )
        )
    return results


# --- One pair, for staff ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionDetail:
    session: MentoringSession
    responses: list[SessionResponse]
    ratings: list[SessionRating]
    action_items: list[ActionItem]
    edits: int  # how many times it was edited after being logged


@dataclass(frozen=True)
class PairDetail:
    relationship: Relationship
    summary: PairSummary
    sessions: list[SessionDetail]  # newest first
    goals: list[Goal]
    checkin_requests: list[CheckinRequest]


def pair_detail(program: Program, relationship_id: int, *, now: datetime | None = None) -> PairDetail:
    """Everything staff may see of one of their program's pairs: all but the members' private notes."""
    relationship = staff_pair(program, relationship_id)
    now = now or utcnow()
    figures = _pair_figures(Relationship.id == relationship.id, true())
    [summary] = _summaries(db.session.execute(select(figures)).all(), program, now)
    sessions = list(
        db.session.execute(
            select(MentoringSession)
            .where(MentoringSession.relationship_id == relationship.id)
            .order_by(MentoringSession.started_at.desc(), MentoringSession.id.desc())
        ).scalars()
    )
    session_ids = [s.id for s in sessions]
    responses = by_session(SessionResponse, session_ids)
    ratings = by_session(SessionRating, session_ids)
    items = by_session(ActionItem, session_ids)
    edits = Counter(
        db.session.execute(select(SessionRevision.session_id).where(SessionRevision.session_id.in_(session_ids)))
        .scalars()
        .all()
    )
    goals = list(
        db.session.execute(
            select(Goal)
            .where(Goal.relationship_id == relationship.id)
            .order_by(Goal.id)
            .options(selectinload(Goal.milestones), selectinload(Goal.comments))
        ).scalars()
    )
    requests = list(
        db.session.execute(
            select(CheckinRequest)
            .where(CheckinRequest.relationship_id == relationship.id)
            .order_by(CheckinRequest.created_at.desc())
        ).scalars()
    )
    return PairDetail(
        relationship=relationship,
        summary=summary,
        sessions=[
            SessionDetail(s, responses.get(s.id, []), ratings.get(s.id, []), items.get(s.id, []), edits[s.id])
            for s in sessions
        ],
        goals=goals,
        checkin_requests=requests,
    )


def by_session(model: type[Attached], session_ids: list[int]) -> dict[int, list[Attached]]:
    found: defaultdict[int, list[Attached]] = defaultdict(list)
    if session_ids:
        rows = db.session.execute(select(model).where(model.session_id.in_(session_ids)).order_by(model.id))
        for row in rows.scalars():
            found[row.session_id].append(row)
    return found


# --- The health page's charts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A chart with the words that stand for it: its SVG title and description (the summary a screen reader
    reads), and the geometry (`bars` or `columns`)."""

    id: str
    title: str
    description: str
    bars: BarChart | None = None
    columns: ColumnChart | None = None


def _count_chart(labels: list[str], values: list[float], name: str, *, whole: bool = True) -> BarChart:
    """Bars of counts (`whole`: grid lines on whole numbers only) or of amounts such as hours."""
    top = nice_ceiling(max(values, default=0.0))
    if whole and top < 5:
        top = float(max(1, math.ceil(max(values, default=0.0))))
        marks: tuple[float, ...] = tuple(float(n) for n in range(int(top) + 1))
    else:
        marks = ticks(top)
    return grouped_bars(labels, [Series(name, tuple(values))], maximum=top, ticks=marks, bar_height=12)


def weekly_figure(weeks: list[WeekActivity]) -> Figure | None:
    if not weeks:
        return None
    busiest = max(weeks, key=lambda w: w.hours)
    total = sum(w.hours for w in weeks)
    summary = (
        f"Hours of mentoring logged each week from the week of {weeks[0].week_of:%d %b %Y} to the week of "
        f"{weeks[-1].week_of:%d %b %Y}: {time_in_sessions_text(total * 60, sum(w.sessions for w in weeks))}."
    )
    if busiest.hours:
        summary += f" The busiest week was the week of {busiest.week_of:%d %b} ({hours_text(busiest.hours)})."
    return Figure(
        "weekly-hours",
        "Hours logged per week",
        summary,
        columns=column_chart([(f"{w.week_of:%d %b}", w.hours) for w in weeks]),
    )


def pairs_figure(totals: PairTotals) -> Figure | None:
    """How many pairs logged how many hours: a bar per range of hours, whatever the number of pairs."""
    if not totals.pairs:
        return None
    spread = "; ".join(f"{label.lower()}: {n}" for label, n in totals.hours_spread)
    return Figure(
        "pair-hours",
        "Pairs by hours logged",
        f"How many of the {totals.pairs} pairs logged how many hours of mentoring ({spread}).",
        bars=_count_chart([label for label, _ in totals.hours_spread],
                          [float(n) for _, n in totals.hours_spread], "Pairs"),
    )  # fmt: skip


def goals_figure(goals: dict[str, int]) -> Figure | None:
    total = sum(goals.values())
    if not total:
        return None
    parts = ", ".join(f"{GOAL_STATUS_LABELS[s].lower()}: {n}" for s, n in goals.items())
    return Figure(
        "goals",
        "Goals by status",
        f"{goals.get(GoalStatus.COMPLETED.value, 0)} of {total} goals completed ({parts}).",
        bars=_count_chart([GOAL_STATUS_LABELS[s] for s in goals], [float(n) for n in goals.values()], "Goals"),
    )


def completion_figure(rounds: list[RoundCompletion]) -> Figure | None:
    if not rounds:
        return None
    return Figure(
        "assessment-completion",
        "Self-assessments submitted per round (% of mentees)",
        "Share of mentees who submitted their self-assessment: "
        + "; ".join(f"{r.round.title} {level_text(r.percent)}% ({r.completed} of {r.total})" for r in rounds)
        + ".",
        bars=grouped_bars(
            [r.round.title for r in rounds],
            [Series("Submitted (%)", tuple(r.percent for r in rounds))],
            maximum=100,
            ticks=(0, 25, 50, 75, 100),
            bar_height=12,
        ),
    )


def growth_figure(growth: list[SkillGrowth]) -> Figure | None:
    if not growth:
        return None
    return Figure(
        "skill-growth",
        "Average level per skill: first and latest rating",
        "Mean rubric level (1 to 5) per skill in learners' first and latest rated rounds: "
        + "; ".join(f"{g.name} from {level_text(g.baseline)} to {level_text(g.latest)}" for g in growth)
        + ".",
        bars=grouped_bars(
            [g.name for g in growth],
            [
                Series("First rating", tuple(g.baseline for g in growth)),
                Series("Latest rating", tuple(g.latest for g in growth)),
            ],
            maximum=5,
            ticks=(0, 1, 2, 3, 4, 5),
        ),
    )


def question_figure(survey: Survey, spread: Distribution) -> Figure:
    labels = [label for label, _ in spread.counts]
    counts = [float(n) for _, n in spread.counts]
    summary = " ".join(
        part
        for part in (ngettext("%(num)s answer.", "%(num)s answers.", spread.answered), most_chosen_text(spread.counts))
        if part
    )
    if spread.mean is not None:
        summary += f" Mean {spread.mean:.1f} out of 5."
    return Figure(
        f"survey-{survey.id}-{spread.question.key}",
        spread.question.text,
        summary,
        bars=_count_chart(labels, counts, "Answers"),
    )
