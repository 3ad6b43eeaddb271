"""Program health for a course's staff: the figures of the health page and everything of one pair but private notes.

Private notes are never read here: no query of this package touches the private_note table.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from lti_tool.assessments.charts import BarChart, Series, grouped_bars, level_text
from lti_tool.assessments.growth import compare_rounds, in_order
from lti_tool.assessments.models import AssessmentRound, SkillAssessment
from lti_tool.assessments.services import (
    RoundState,
    completion_by_round,
    program_rounds,
    round_ratings,
    round_state,
    subjects,
)
from lti_tool.extensions import db, utcnow
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
from lti_tool.mentoring.relationships import (
    CheckinStatus,
    checkin_status,
    last_meetings,
    program_relationships,
    staff_pair,
    waiting_on,
)
from lti_tool.programs.models import Participant, Program
from lti_tool.surveys.models import Survey, SurveyResponse
from lti_tool.surveys.questions import Distribution, QuestionType, distribution, parse_questions
from lti_tool.surveys.services import SurveyStatus, status_of

Row = TypeVar("Row", SessionResponse, SessionRating, ActionItem)
WEEKS_SHOWN = 16
GOAL_STATUS_LABELS = {
    GoalStatus.COMPLETED.value: "Completed",
    GoalStatus.IN_PROGRESS.value: "In progress",
    GoalStatus.NOT_STARTED.value: "Not started",
    GoalStatus.DROPPED.value: "Dropped",
}


def member_name(member: RelationshipMember) -> str:
    return str(member.participant.membership.user.display_name)


def members_text(members: list[RelationshipMember]) -> str:
    """Who is in a pair, in words: "Ada Lovelace (mentor), Ben Okri (mentee)"."""
    return ", ".join(f"{member_name(m)} ({m.role})" for m in members)


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week a moment falls in."""
    day = moment.date()
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class PairSummary:
    """One relationship on the health page: who, whether everyone accepted, how much they met, their goals."""

    relationship: Relationship
    members: list[RelationshipMember]  # the active ones; everyone once the pair has ended
    all_accepted: bool
    sessions: int
    hours: float
    goals_set: int
    goals_completed: int
    checkin: CheckinStatus

    @property
    def names(self) -> str:
        return members_text(self.members)


@dataclass(frozen=True)
class WeekActivity:
    week_of: date
    sessions: int
    hours: float
    pairs: int  # how many pairs met that week


@dataclass(frozen=True)
class RoundCompletion:
    """How many of the program's assessed learners (`assessments.services.subjects`) assessed themselves in a round."""

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
class ProgramHealth:
    pairs: list[PairSummary]
    weeks: list[WeekActivity]
    goals: dict[str, int]  # goal status -> how many
    rounds: list[RoundCompletion]
    growth: list[SkillGrowth]
    surveys: list[SurveyResults]

    @property
    def open_pairs(self) -> list[PairSummary]:
        return [p for p in self.pairs if p.relationship.ended_at is None]

    @property
    def accepted_pairs(self) -> int:
        return sum(1 for p in self.open_pairs if p.all_accepted)

    @property
    def overdue_pairs(self) -> list[PairSummary]:
        return [p for p in self.open_pairs if p.checkin.overdue]

    @property
    def sessions(self) -> int:
        return sum(p.sessions for p in self.pairs)

    @property
    def hours(self) -> float:
        return sum(p.hours for p in self.pairs)

    @property
    def goals_set(self) -> int:
        return sum(self.goals.values())

    @property
    def goals_completed(self) -> int:
        return self.goals.get(GoalStatus.COMPLETED.value, 0)


def program_health(program: Program, *, now: datetime | None = None) -> ProgramHealth:
    now = now or utcnow()
    relationships = program_relationships(program)
    ids = [r.id for r in relationships]
    meetings = _counted_sessions(ids)
    goals = list(db.session.execute(select(Goal).where(Goal.relationship_id.in_(ids))).scalars()) if ids else []
    last_met = last_meetings(ids)
    pairs = [_summary(r, meetings, goals, last_met.get(r.id), now) for r in relationships]
    first = min([r.created_at for r in relationships] + [started for _, started, _ in meetings], default=None)
    return ProgramHealth(
        pairs=pairs,
        weeks=_weeks(meetings, first, now),
        goals={status: sum(1 for g in goals if g.status == status) for status in GOAL_STATUS_LABELS},
        rounds=_round_completion(program),
        growth=skill_growth(program),
        surveys=survey_results(program),
    )


def _counted_sessions(relationship_ids: list[int]) -> list[tuple[int, datetime, int]]:
    """(relationship id, start, minutes) of every session that counts: disputed ones do not."""
    if not relationship_ids:
        return []
    rows = db.session.execute(
        select(MentoringSession.relationship_id, MentoringSession.started_at, MentoringSession.duration_minutes)
        .where(
            MentoringSession.relationship_id.in_(relationship_ids),
            MentoringSession.status != SessionStatus.DISPUTED.value,
        )
        .order_by(MentoringSession.started_at)
    ).all()
    return [(rid, started, minutes) for rid, started, minutes in rows]


def _summary(
    relationship: Relationship,
    meetings: list[tuple[int, datetime, int]],
    goals: list[Goal],
    last_met: datetime | None,
    now: datetime,
) -> PairSummary:
    own = [minutes for rid, _, minutes in meetings if rid == relationship.id]
    own_goals = [g for g in goals if g.relationship_id == relationship.id]
    active = [m for m in relationship.members if m.left_at is None]
    return PairSummary(
        relationship=relationship,
        members=active or list(relationship.members),
        all_accepted=bool(active) and not waiting_on(relationship),
        sessions=len(own),
        hours=sum(own) / 60,
        goals_set=len(own_goals),
        goals_completed=sum(1 for g in own_goals if g.status == GoalStatus.COMPLETED.value),
        checkin=checkin_status(relationship, last_met, now=now),
    )


def _weeks(meetings: list[tuple[int, datetime, int]], first: datetime | None, now: datetime) -> list[WeekActivity]:
    """Sessions and hours per week, from the program's first pair or session to this week (the latest
    WEEKS_SHOWN weeks at most), weeks without sessions included."""
    if first is None:
        return []
    last = week_of(max([now] + [started for _, started, _ in meetings]))
    start = max(week_of(first), last - timedelta(weeks=WEEKS_SHOWN - 1))
    sessions: Counter[date] = Counter()
    minutes: Counter[date] = Counter()
    pairs: defaultdict[date, set[int]] = defaultdict(set)
    for rid, started, duration in meetings:
        week = week_of(started)
        sessions[week] += 1
        minutes[week] += duration
        pairs[week].add(rid)
    weeks = []
    week = start
    while week <= last:
        weeks.append(WeekActivity(week, sessions[week], minutes[week] / 60, len(pairs[week])))
        week += timedelta(weeks=1)
    return weeks


def _round_completion(program: Program) -> list[RoundCompletion]:
    total = len(subjects(program))
    done = completion_by_round(program)
    return [RoundCompletion(r, done[r.id].self_done if r.id in done else 0, total) for r in program_rounds(program)]


def skill_growth(program: Program) -> list[SkillGrowth]:
    """Average growth per skill over the program's learners, each compared by the assessments' own rule
    (`assessments.growth.compare_rounds`: their first round with ratings against their latest)."""
    rounds = [r for r in program_rounds(program) if round_state(r) is not RoundState.NOT_OPENED]
    order = [skill.key for skill in program.skills]
    by_learner: defaultdict[int, defaultdict[int, list[SkillAssessment]]] = defaultdict(lambda: defaultdict(list))
    for assessment in db.session.execute(
        select(SkillAssessment)
        .where(SkillAssessment.round_id.in_([r.id for r in rounds]))
        .order_by(SkillAssessment.id)
        .options(selectinload(SkillAssessment.ratings))
    ).scalars():
        by_learner[assessment.subject_id][assessment.round_id].append(assessment)
    compared: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    for by_round in by_learner.values():
        growth = compare_rounds([(r.title, round_ratings(by_round.get(r.id, []))) for r in rounds], order)
        for skill in growth.skills:
            if skill.first is not None:
                compared[skill.key].append((skill.first, skill.latest))
    names = {skill.key: skill.name for skill in program.skills}
    return [
        SkillGrowth(
            key=key,
            name=names.get(key, key),
            learners=len(compared[key]),
            baseline=sum(first for first, _ in compared[key]) / len(compared[key]),
            latest=sum(latest for _, latest in compared[key]) / len(compared[key]),
        )
        for key in in_order(compared, order)
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
    answers: defaultdict[int, list[dict[str, object]]] = defaultdict(list)
    for survey_id, given in db.session.execute(
        select(SurveyResponse.survey_id, SurveyResponse.answers).where(
            SurveyResponse.survey_id.in_([s.id for s in surveys])
        )
    ).all():
        answers[survey_id].append(given)
    results = []
    for survey in surveys:
        questions = parse_questions(survey.questions)
        given = answers[survey.id]
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
    meetings = _counted_sessions([relationship.id])
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
    last_met = last_meetings([relationship.id]).get(relationship.id)
    return PairDetail(
        relationship=relationship,
        summary=_summary(relationship, meetings, goals, last_met, now or utcnow()),
        sessions=[
            SessionDetail(s, responses.get(s.id, []), ratings.get(s.id, []), items.get(s.id, []), edits[s.id])
            for s in sessions
        ],
        goals=goals,
        checkin_requests=requests,
    )


def by_session(model: type[Row], session_ids: list[int]) -> dict[int, list[Row]]:
    found: defaultdict[int, list[Row]] = defaultdict(list)
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
        f"{weeks[-1].week_of:%d %b %Y}: {level_text(total)} hours in {sum(w.sessions for w in weeks)} sessions."
    )
    if busiest.hours:
        summary += f" The busiest week was the week of {busiest.week_of:%d %b} ({level_text(busiest.hours)} hours)."
    return Figure(
        "weekly-hours",
        "Hours logged per week",
        summary,
        columns=column_chart([(f"{w.week_of:%d %b}", w.hours) for w in weeks]),
    )


def pairs_figure(pairs: list[PairSummary]) -> Figure | None:
    if not pairs:
        return None
    most = max(pairs, key=lambda p: p.hours)
    idle = sum(1 for p in pairs if p.sessions == 0)
    return Figure(
        "pair-hours",
        "Hours logged per pair",
        f"Hours of mentoring each of the {len(pairs)} pairs logged. Most: {most.names} ({level_text(most.hours)} "
        f"hours). {idle} pair{'s' if idle != 1 else ''} logged no session yet.",
        bars=_count_chart([p.names for p in pairs], [p.hours for p in pairs], "Hours", whole=False),
    )


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
    summary = f"{spread.answered} answer{'s' if spread.answered != 1 else ''}."
    if spread.answered:
        top_label, top_count = max(spread.counts, key=lambda item: item[1])
        summary += f" Most chose {top_label} ({top_count})."
    if spread.mean is not None:
        summary += f" Mean {spread.mean:.1f} out of 5."
    return Figure(
        f"survey-{survey.id}-{spread.question.key}",
        spread.question.text,
        summary,
        bars=_count_chart(labels, counts, "Answers"),
    )
