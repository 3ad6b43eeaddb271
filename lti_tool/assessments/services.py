"""Skill assessment rounds: who rates whom on which skills, submitting ratings, growth, strengths and grades.

Rules, stated once here and in words on the pages:
- Assessed people ("mentees") are the program's participants who want to be mentored, plus anyone who is a
  mentee or a peer in one of its relationships. Each rates themself; their mentors (peers rate each other) rate
  them as "mentor"; the course's staff may rate anyone assessed, as "instructor".
- The skills rated are the mentee's focus skills: the goals on their profile plus the skills of their goals on
  the pair page (dropped goals aside), in framework order; with none, every skill of the framework.
- Levels, growth, strengths and grades are computed by the plain functions of `growth.py`.
- One assessment per rater, mentee and round: submitting again while the round is open replaces it; every
  submission is an xAPI statement of its own (its id keyed by the submission time) and voids the one it replaces.
- In a graded round, every change of a mentee's score is queued for the LMS gradebook in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import contains_eager, selectinload

from lti_tool.assessments.charts import BarChart, Series, change_text, grouped_bars, level_text
from lti_tool.assessments.growth import (
    SCORE_MAXIMUM,
    Growth,
    RoundRatings,
    compare_rounds,
    disagreements,
    grade_score,
    in_order,
    strengths_and_weaknesses,
)
from lti_tool.assessments.models import (
    AssessmentRound,
    GradeRule,
    RaterRole,
    RoundKind,
    SkillAssessment,
    SkillRating,
)
from lti_tool.courses.models import Membership, User
from lti_tool.errors import MentorLtiError, NotFound
from lti_tool.extensions import db, utcnow
from lti_tool.gradebook.services import Activity, ScoreValues, lock_for_scoring, queue_scores, waiting_memberships
from lti_tool.lti.roles import CourseRole
from lti_tool.mentoring.models import Goal, GoalStatus, MemberRole, Relationship, RelationshipMember
from lti_tool.mentoring.relationships import relationships_of
from lti_tool.programs.models import MentoringModel, Participant, Program, Skill
from lti_tool.programs.services import LEVEL_NAMES, LEVELS, participant_for
from lti_tool.settings import Settings
from lti_tool.statements.events import record_assessment_submitted
from xapi.events import ScoreInput

MAX_TITLE = 120
MAX_COMMENT = 2000
POSITION_RANGE = (1, 99)

KIND_LABELS = {RoundKind.BASELINE.value: "Baseline", RoundKind.FOLLOW_UP.value: "Follow-up"}
GRADE_RULE_LABELS = {
    GradeRule.AVERAGE_LEVEL.value: "Average rubric level achieved",
    GradeRule.COMPLETION.value: "Completion",
}
GRADE_RULE_WORDS = {
    GradeRule.AVERAGE_LEVEL.value: (
        f"the average level over the rated skills, out of {LEVELS}, as a percentage (level 3 of {LEVELS} is 60 %). "
        "Each skill counts the mentor's rating; where no mentor rated it, the instructor's; where neither did, "
        "the mentee's own."
    ),
    GradeRule.COMPLETION.value: "100 % once the mentee has submitted their self-assessment.",
}


def focus_rule_words(role: RaterRole, name: str) -> str:
    """Which skills the rating form lists, in the words of the person rating: a mentee reads of their own goals,
    a mentor of their mentee's, staff the rule."""
    if role is RaterRole.SELF:
        return (
            "These are your focus skills: the goals on your profile and the skills of your goals on your pair page. "
            "With none of those, you rate every skill of the program."
        )
    if role is RaterRole.MENTOR:
        return (
            f"These are {name}'s focus skills: the goals on their profile and the skills of their goals on your pair "
            "page. With none of those, you rate every skill of the program."
        )
    return (
        "The skills rated are the mentee's focus skills: the goals on their profile and the skills of their goals on "
        "the pair page; a mentee with none is rated on every skill of the program's framework."
    )


LEVEL_RULE_WORDS = (
    "A skill's level in a round is the mentor's rating (their average, if several rated); where no mentor rated "
    "it, the instructor's; where neither did, the mentee's own. Growth compares the first round with ratings to "
    "the latest, on the skills rated in both."
)


class AssessmentError(MentorLtiError):
    """A rating or a round change was refused; the message says why and what to do instead."""

    status = 422


class RoundStateError(AssessmentError):
    """The round's state does not allow this: ratings only while it is open, open only when not, close when open."""

    status = 409


class RoundState(StrEnum):
    NOT_OPENED = "not-opened"
    OPEN = "open"
    CLOSED = "closed"


def round_state(round_: AssessmentRound) -> RoundState:
    if round_.opened_at is None:
        return RoundState.NOT_OPENED
    return RoundState.CLOSED if round_.closed_at is not None else RoundState.OPEN


def local_time(moment: datetime | None, timezone: str) -> str:
    """A UTC moment as the viewer reads it, in their profile's time zone (UTC when they have none)."""
    if moment is None:
        return ""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, timezone = ZoneInfo("UTC"), "UTC"
    return f"{moment.astimezone(zone):%d %b %Y, %H:%M} ({timezone})"


def viewer_timezone(program: Program, membership: Membership) -> str:
    participant = participant_for(program, membership)
    return participant.timezone if participant is not None else "UTC"


# --- Rounds: the instructor creates, opens and closes them ----------------------------------------------------


@dataclass(frozen=True)
class RoundSettings:
    title: str
    kind: RoundKind
    position: int
    graded: bool
    grade_rule: GradeRule


def program_rounds(program: Program) -> list[AssessmentRound]:
    """The program's rounds in the order growth runs: by position, then by creation."""
    return list(
        db.session.execute(
            select(AssessmentRound)
            .where(AssessmentRound.program_id == program.id)
            .order_by(AssessmentRound.position, AssessmentRound.id)
        ).scalars()
    )


def round_of(program: Program, round_id: int) -> AssessmentRound:
    """A round of this program; a guessed id from another course is not found."""
    found = db.session.get(AssessmentRound, round_id)
    if found is None or found.program_id != program.id:
        raise NotFound("There is no such assessment round in this course.")
    return found


def next_position(program: Program) -> int:
    highest = db.session.execute(
        select(func.max(AssessmentRound.position)).where(AssessmentRound.program_id == program.id)
    ).scalar_one()
    return min(POSITION_RANGE[1], (highest or 0) + 1)


def _apply(round_: AssessmentRound, settings: RoundSettings) -> None:
    title = settings.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise AssessmentError(f"Give the round a title of at most {MAX_TITLE} characters.")
    if not POSITION_RANGE[0] <= settings.position <= POSITION_RANGE[1]:
        raise AssessmentError(f"Choose an order from {POSITION_RANGE[0]} to {POSITION_RANGE[1]}.")
    round_.title, round_.kind, round_.position = title, settings.kind.value, settings.position
    round_.graded, round_.grade_rule = settings.graded, settings.grade_rule.value


def create_round(program: Program, settings: RoundSettings) -> AssessmentRound:
    """A new round, not yet open: learners see it once the instructor opens it."""
    round_ = AssessmentRound(program_id=program.id)
    _apply(round_, settings)
    db.session.add(round_)
    db.session.flush()
    return round_


def update_round(round_: AssessmentRound, settings: RoundSettings) -> None:
    """Title, kind, order and grading can change at any time; scores that a change of grading changes are queued
    for the gradebook."""
    grading = (round_.graded, round_.grade_rule)
    _apply(round_, settings)
    if (round_.graded, round_.grade_rule) != grading:  # a new title or order changes no score
        queue_round_scores(round_)


def open_round(round_: AssessmentRound, *, now: datetime | None = None) -> None:
    """Open (or reopen) the window: mentees, mentors and staff can submit until it closes."""
    if round_state(round_) is RoundState.OPEN:
        raise RoundStateError(f"“{round_.title}” is already open.")
    round_.opened_at, round_.closed_at = now or utcnow(), None


def close_round(round_: AssessmentRound, *, now: datetime | None = None) -> None:
    if round_state(round_) is not RoundState.OPEN:
        raise RoundStateError(f"“{round_.title}” is not open, so it cannot be closed.")
    round_.closed_at = now or utcnow()


@dataclass(frozen=True)
class RoundCompletion:
    """How many of the program's mentees have a self-assessment and a mentor's rating in a round."""

    self_done: int = 0
    mentor_done: int = 0
    instructor_done: int = 0


def completion_by_round(program: Program, *, round_id: int | None = None) -> dict[int, RoundCompletion]:
    """Each round's completion (or only that of `round_id`, for its page)."""
    # The distinct (round, role, mentee) first, then counted: PostgreSQL hashes them, where a count(DISTINCT)
    # sorts the 10,000 assessments of each round.
    distinct = (
        select(SkillAssessment.round_id, SkillAssessment.rater_role, SkillAssessment.subject_id)
        .join(AssessmentRound, AssessmentRound.id == SkillAssessment.round_id)
        .where(AssessmentRound.program_id == program.id)
        .distinct()
    )
    if round_id is not None:
        distinct = distinct.where(SkillAssessment.round_id == round_id)
    rated = distinct.subquery()
    rows = db.session.execute(
        select(rated.c.round_id, rated.c.rater_role, func.count()).group_by(rated.c.round_id, rated.c.rater_role)
    ).all()
    found: dict[int, dict[str, int]] = {}
    for round_id, role, count in rows:
        found.setdefault(round_id, {})[role] = count
    return {
        round_id: RoundCompletion(
            counts.get(RaterRole.SELF.value, 0),
            counts.get(RaterRole.MENTOR.value, 0),
            counts.get(RaterRole.INSTRUCTOR.value, 0),
        )
        for round_id, counts in found.items()
    }


# --- Who is assessed, by whom, on which skills ----------------------------------------------------------------


def _mentee_member_ids(program: Program) -> Select[tuple[int]]:
    """Participants who are an active mentee or peer in one of the program's relationships."""
    return (
        select(RelationshipMember.participant_id)
        .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
        .where(
            Relationship.program_id == program.id,
            RelationshipMember.left_at.is_(None),
            RelationshipMember.role.in_([MemberRole.MENTEE.value, MemberRole.PEER.value]),
        )
    )


def _assessed(program: Program) -> ColumnElement[bool]:
    return or_(Participant.wants_to_be_mentored.is_(True), Participant.id.in_(_mentee_member_ids(program)))


def subject_count(program: Program) -> int:
    """How many people are assessed in the program: mentees and peers, and those who asked for a mentor."""
    return int(
        db.session.execute(
            select(func.count(Participant.id)).where(Participant.program_id == program.id, _assessed(program))
        ).scalar_one()
    )


def is_subject(participant: Participant) -> bool:
    return (
        db.session.execute(
            select(Participant.id).where(Participant.id == participant.id, _assessed(participant.program))
        ).first()
        is not None
    )


def subject_of(program: Program, participant_id: int) -> Participant:
    """An assessed person of this program; anyone else (another course's, a mentor only, a guess) is not found."""
    found = db.session.get(Participant, participant_id)
    if found is None or found.program_id != program.id or not is_subject(found):
        raise NotFound("There is no such mentee in this course.")
    return found


# Whom each member role rates as "mentor": a mentor their mentees, a peer the other peers.
_RATES = {MemberRole.MENTOR.value: MemberRole.MENTEE.value, MemberRole.PEER.value: MemberRole.PEER.value}


def mentees_of(participant: Participant) -> list[Participant]:
    """Whom a participant rates as their mentor: their active mentees, or in peer relationships the other peers."""
    found: dict[int, Participant] = {}
    for relationship in relationships_of(participant):
        me = next(m for m in relationship.members if m.participant_id == participant.id and m.left_at is None)
        if me.role not in _RATES:
            continue
        for member in relationship.members:
            if member.left_at is None and member.id != me.id and member.role == _RATES[me.role]:
                found.setdefault(member.participant_id, member.participant)
    return sorted(found.values(), key=lambda p: (p.membership.user.display_name.casefold(), p.id))


def rater_role(program: Program, membership: Membership, subject: Participant) -> RaterRole:
    """How `membership` takes part in `subject`'s assessments: themself, their mentor, or course staff.

    The same rule decides who may open the mentee's growth page. Anyone else gets not found, so that a guessed
    id does not tell whether the person exists.
    """
    if subject.membership_id == membership.id:
        return RaterRole.SELF
    me = participant_for(program, membership)
    if me is not None and any(p.id == subject.id for p in mentees_of(me)):
        return RaterRole.MENTOR
    if CourseRole(membership.course_role).is_staff:
        return RaterRole.INSTRUCTOR
    raise NotFound("There is no such mentee in this course.")


def focus_skills(program: Program, subject: Participant) -> list[Skill]:
    """The skills a mentee is rated on (see the module's rules), in framework order."""
    goal_skills = db.session.execute(
        select(Goal.skill_key).where(
            Goal.owner_id == subject.id, Goal.skill_key.is_not(None), Goal.status != GoalStatus.DROPPED.value
        )
    ).scalars()
    chosen = set(subject.goals or []) | set(goal_skills)
    return [s for s in program.skills if s.key in chosen] or list(program.skills)


def mentor_word(program: Program) -> str:
    """What the mentee's other raters are called on their pages."""
    return "peer" if program.model == MentoringModel.PEER.value else "mentor"


# --- Submitting -------------------------------------------------------------------------------------------------


def check_open(round_: AssessmentRound) -> None:
    state = round_state(round_)
    if state is RoundState.NOT_OPENED:
        raise RoundStateError(
            f"“{round_.title}” has not opened yet, so nothing was saved.",
            hint="Your instructor opens the round; come back then.",
        )
    if state is RoundState.CLOSED:
        raise RoundStateError(
            f"“{round_.title}” is closed, so nothing was saved.",
            hint="Ask your instructor to reopen the round if you still need to submit.",
        )


def assessment_by(round_: AssessmentRound, subject: Participant, rater: Membership) -> SkillAssessment | None:
    return db.session.execute(
        select(SkillAssessment)
        .where(
            SkillAssessment.round_id == round_.id,
            SkillAssessment.subject_id == subject.id,
            SkillAssessment.rater_id == rater.id,
        )
        .options(selectinload(SkillAssessment.ratings))
    ).scalar_one_or_none()


def submit_assessment(
    round_: AssessmentRound,
    subject: Participant,
    rater: Membership,
    role: RaterRole,
    levels: Mapping[str, int],
    comment: str,
    *,
    settings: Settings,
    tool_base: str,
    now: datetime | None = None,
) -> SkillAssessment:
    """Save `rater`'s levels for the mentee's focus skills, replacing their earlier submission in this round, and
    record the `scored` statement in the same transaction, voiding the replaced one's. The statement carries the
    mentee's grade for the round as it stands after this submission, when the round is graded and has one."""
    # One submission about a mentee at a time, seeing the round as it is now.
    lock_for_scoring(round_, Participant.id == subject.id)
    check_open(round_)
    keys = [skill.key for skill in focus_skills(round_.program, subject)]
    if not keys:
        raise AssessmentError("The program's skill framework has no skills to rate.")
    if set(levels) != set(keys) or any(not 1 <= level <= LEVELS for level in levels.values()):
        raise AssessmentError(f"Rate every skill listed, each with a level from 1 to {LEVELS}.")
    comment = comment.replace("\r\n", "\n").strip()
    if len(comment) > MAX_COMMENT:
        raise AssessmentError(f"Keep the comment under {MAX_COMMENT} characters.")
    assessment = assessment_by(round_, subject, rater)
    replaces = assessment.submitted_at if assessment is not None else None
    if assessment is None:
        assessment = SkillAssessment(round=round_, subject=subject, rater=rater)
        db.session.add(assessment)
    assessment.rater_role, assessment.comment, assessment.submitted_at = role.value, comment, now or utcnow()
    # Update rows in place: deleting and re-adding a skill's row in one flush would break its unique constraint.
    existing = {rating.skill_key: rating for rating in assessment.ratings}
    for key, rating in existing.items():
        if key not in levels:
            assessment.ratings.remove(rating)
    for key in keys:
        if key in existing:
            existing[key].level = levels[key]
        else:
            assessment.ratings.append(SkillRating(skill_key=key, level=levels[key]))
    db.session.flush()
    grade = gradebook_scores(round_, SkillAssessment.subject_id == subject.id).get(subject.id)
    score = (
        ScoreInput(raw=grade.score_given, min=0, max=grade.score_maximum)
        if grade is not None and grade.score_given is not None
        else None
    )
    record_assessment_submitted(assessment, settings=settings, tool_base=tool_base, score=score, replaces=replaces)
    queue_scores(round_, Participant.id == subject.id, {subject.membership_id: grade}, now=assessment.submitted_at)
    return assessment


# --- What the pages show ----------------------------------------------------------------------------------------


def round_ratings(assessments: Iterable[SkillAssessment]) -> RoundRatings:
    found: dict[RaterRole, dict[str, list[int]]] = {}
    for assessment in assessments:
        levels = found.setdefault(RaterRole(assessment.rater_role), {})
        for rating in assessment.ratings:
            levels.setdefault(rating.skill_key, []).append(rating.level)
    return RoundRatings(found)


def gradebook_scores(round_: AssessmentRound, *conditions: ColumnElement[bool]) -> dict[int, ScoreValues]:
    """Participant id -> the mentee's score in a graded round as the LMS gradebook receives it, for the mentees
    rated in the round (of the assessments `conditions` select), in one statement; none when the round is not
    graded."""
    if not round_.graded:
        return {}
    levels: dict[int, dict[RaterRole, dict[str, list[int]]]] = {}
    for subject_id, role, key, level in db.session.execute(
        select(SkillAssessment.subject_id, SkillAssessment.rater_role, SkillRating.skill_key, SkillRating.level)
        .join(SkillRating, SkillRating.assessment_id == SkillAssessment.id)
        .where(SkillAssessment.round_id == round_.id, *conditions)
        .order_by(SkillAssessment.id, SkillRating.id)  # the order round_ratings sees them in
    ):
        levels.setdefault(subject_id, {}).setdefault(RaterRole(role), {}).setdefault(key, []).append(level)
    rule = GradeRule(round_.grade_rule)
    scores = {}
    for subject_id, by_role in levels.items():
        ratings = RoundRatings(by_role)
        activity = Activity.COMPLETED if ratings.has(RaterRole.SELF) else Activity.IN_PROGRESS
        scores[subject_id] = ScoreValues(grade_score(rule, ratings), SCORE_MAXIMUM, activity)
    return scores


def queue_round_scores(round_: AssessmentRound, *, again: bool = False, now: datetime | None = None) -> None:
    """Queue every assessed mentee's score of the round for the gradebook: those that changed (after a change of
    the round's grading), or all of them (`again`: the instructor's resync). A constant number of statements for
    any number of mentees."""
    program = round_.program
    mentees = and_(Participant.program_id == program.id, _assessed(program))
    memberships = lock_for_scoring(round_, mentees)
    scores = gradebook_scores(round_)
    queue_scores(
        round_,
        mentees,
        {membership_id: scores.get(subject_id) for subject_id, membership_id in memberships.items()},
        now=now or utcnow(),
        again=again,
    )


def grade_text(score: float | None) -> str:
    return "no grade yet" if score is None else f"{level_text(score)} %"


@dataclass(frozen=True)
class RatingTask:
    """One assessment a member can submit in an open round, and when they last did."""

    round: AssessmentRound
    subject: Participant
    role: RaterRole
    submitted_at: datetime | None

    @property
    def waiting(self) -> bool:
        return self.submitted_at is None


@dataclass(frozen=True)
class MemberAssessments:
    """A member's side of the assessments: what they can rate in open rounds, and whether they are assessed."""

    tasks: list[RatingTask]
    subject: Participant | None  # the member themself when they are assessed: their growth page
    mentees: list[Participant]  # whom they rate as a mentor (or a peer): their growth pages too

    @property
    def waiting(self) -> list[RatingTask]:
        return [task for task in self.tasks if task.waiting]


def member_assessments(program: Program, membership: Membership) -> MemberAssessments:
    me = participant_for(program, membership)
    if me is None:
        return MemberAssessments([], None, [])
    subject = me if is_subject(me) else None
    mentees = mentees_of(me)
    people = [(subject, RaterRole.SELF)] if subject is not None else []
    people += [(mentee, RaterRole.MENTOR) for mentee in mentees]
    rounds = [r for r in program_rounds(program) if round_state(r) is RoundState.OPEN]
    if not rounds or not people:
        return MemberAssessments([], subject, mentees)
    submitted = {
        (round_id, subject_id): at
        for round_id, subject_id, at in db.session.execute(
            select(SkillAssessment.round_id, SkillAssessment.subject_id, SkillAssessment.submitted_at).where(
                SkillAssessment.rater_id == membership.id,
                SkillAssessment.round_id.in_([r.id for r in rounds]),
            )
        ).all()
    }
    tasks = [
        RatingTask(round_, person, role, submitted.get((round_.id, person.id)))
        for round_ in rounds
        for person, role in people
    ]
    return MemberAssessments(tasks, subject, mentees)


ROUND_PAGE_SIZE = 50  # mentees a round page lists at a time


class ProgressFilter(StrEnum):
    """Which mentees a round page lists."""

    EVERYONE = "everyone"
    NO_SELF = "no-self"
    NO_MENTOR = "no-mentor"
    NOT_BY_YOU = "not-by-you"
    NOT_IN_GRADEBOOK = "not-in-gradebook"  # graded rounds: a score the LMS does not have in its latest version


def filter_labels(round_: AssessmentRound) -> dict[str, str]:
    labels = {
        ProgressFilter.EVERYONE.value: "Everyone",
        ProgressFilter.NO_SELF.value: "No self-assessment yet",
        ProgressFilter.NO_MENTOR.value: f"No {mentor_word(round_.program)} rating yet",
        ProgressFilter.NOT_BY_YOU.value: "Not rated by you",
    }
    if round_.graded:
        labels[ProgressFilter.NOT_IN_GRADEBOOK.value] = "Score not in the gradebook yet"
    return labels


@dataclass(frozen=True)
class SubjectProgress:
    """A mentee's assessments in one round, for the instructor's round page."""

    subject: Participant
    self_at: datetime | None
    mentors: int  # how many of their mentors rated them
    instructors: int
    rated_by_viewer: bool
    score: float | None


@dataclass(frozen=True)
class ProgressPage:
    """One page of a round's mentees (by name), found by name and filter."""

    rows: list[SubjectProgress]
    query: str
    shown: ProgressFilter
    found: int  # mentees that the search and the filter find
    page: int
    pages: int

    @property
    def first(self) -> int:
        """The number of the page's first row among those found (1-based), 0 when none are."""
        return (self.page - 1) * ROUND_PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def _rated(round_: AssessmentRound, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return (
        select(SkillAssessment.id)
        .where(SkillAssessment.round_id == round_.id, SkillAssessment.subject_id == Participant.id, *conditions)
        .exists()
    )


def _filtered(round_: AssessmentRound, shown: ProgressFilter, viewer: Membership) -> ColumnElement[bool] | None:
    if shown is ProgressFilter.NO_SELF:
        return ~_rated(round_, SkillAssessment.rater_role == RaterRole.SELF.value)
    if shown is ProgressFilter.NO_MENTOR:
        return ~_rated(round_, SkillAssessment.rater_role == RaterRole.MENTOR.value)
    if shown is ProgressFilter.NOT_BY_YOU:
        return ~_rated(round_, SkillAssessment.rater_id == viewer.id)
    if shown is ProgressFilter.NOT_IN_GRADEBOOK and round_.graded:
        return Participant.membership_id.in_(waiting_memberships(round_))
    return None


def round_progress(
    round_: AssessmentRound, viewer: Membership, *, query: str = "", shown: str = "", page: int = 1
) -> ProgressPage:
    """A page of the round's mentees, by name: those whose name contains `query`, in the filter `shown` (an
    unknown one shows everyone), page `page` (kept within the pages there are). A constant number of statements
    whatever the size of the course."""
    query = " ".join(query.split())[:MAX_TITLE]
    chosen = ProgressFilter(shown) if shown in filter_labels(round_) else ProgressFilter.EVERYONE
    program = round_.program
    conditions = [Participant.program_id == program.id, _assessed(program)]
    if query:
        conditions.append(User.name_contains(query))
    if (condition := _filtered(round_, chosen, viewer)) is not None:
        conditions.append(condition)
    # The mentees found, as narrow rows: counted without the people's names unless searched by them, and sorted
    # by name as ids alone, so that a deep page sorts 10,000 names and ids in memory, not 10,000 whole rows.
    found_ids = select(Participant.id).where(*conditions)
    if query:
        found_ids = found_ids.join(Membership, Membership.id == Participant.membership_id).join(
            User, User.id == Membership.user_id
        )
    found = db.session.execute(select(func.count()).select_from(found_ids.subquery())).scalar_one()
    pages = max(1, -(-found // ROUND_PAGE_SIZE))
    page = min(max(page, 1), pages)
    by_name = (func.lower(User.display_name), Participant.id)
    page_ids = (
        select(Participant.id)
        .join(Membership, Membership.id == Participant.membership_id)
        .join(User, User.id == Membership.user_id)
        .where(*conditions)
        .order_by(*by_name)
        .offset((page - 1) * ROUND_PAGE_SIZE)
        .limit(ROUND_PAGE_SIZE)
    )
    subjects = list(
        db.session.execute(
            select(Participant)
            .join(Membership, Membership.id == Participant.membership_id)
            .join(User, User.id == Membership.user_id)
            .where(Participant.id.in_(page_ids.scalar_subquery()))
            .order_by(*by_name)
            .options(contains_eager(Participant.membership).contains_eager(Membership.user))
        ).scalars()
    )
    by_subject: dict[int, list[SkillAssessment]] = {}
    if subjects:
        for assessment in db.session.execute(
            select(SkillAssessment)
            .where(SkillAssessment.round_id == round_.id, SkillAssessment.subject_id.in_([s.id for s in subjects]))
            .options(selectinload(SkillAssessment.ratings))
        ).scalars():
            by_subject.setdefault(assessment.subject_id, []).append(assessment)
    rule = GradeRule(round_.grade_rule)
    rows = []
    for subject in subjects:
        own = by_subject.get(subject.id, [])
        roles = [a.rater_role for a in own]
        rows.append(
            SubjectProgress(
                subject=subject,
                self_at=next((a.submitted_at for a in own if a.rater_role == RaterRole.SELF.value), None),
                mentors=roles.count(RaterRole.MENTOR.value),
                instructors=roles.count(RaterRole.INSTRUCTOR.value),
                rated_by_viewer=any(a.rater_id == viewer.id for a in own),
                score=grade_score(rule, round_ratings(own)) if round_.graded else None,
            )
        )
    return ProgressPage(rows, query, chosen, found, page, pages)


@dataclass(frozen=True)
class RatingLine:
    name: str
    own: str
    mentors: str
    instructors: str


@dataclass(frozen=True)
class SubmissionNote:
    who: str
    submitted: str
    comment: str


@dataclass(frozen=True)
class RoundReport:
    """Every rating a mentee received in one round, with the raters' comments and, for them and staff, the grade."""

    round: AssessmentRound
    lines: list[RatingLine]
    notes: list[SubmissionNote]
    grade: str | None  # None when the round is not graded or the viewer may not see grades


@dataclass(frozen=True)
class GrowthRow:
    name: str
    first: str
    latest: str
    change: str


@dataclass(frozen=True)
class Gap:
    name: str
    own: str
    mentors: str
    words: str


@dataclass(frozen=True)
class GrowthReport:
    growth: Growth
    rows: list[GrowthRow]
    chart: BarChart | None
    chart_title: str
    chart_description: str
    strengths: list[str]
    weaknesses: list[str]
    gaps: list[Gap]
    gaps_round: str | None
    not_compared: list[str]
    rounds: list[RoundReport]


def growth_report(program: Program, subject: Participant, *, viewer_role: RaterRole, timezone: str) -> GrowthReport:
    """The growth page of a mentee: growth per skill, strengths and weaknesses, disagreements, every round.

    Grades are for the mentee and staff only: a mentor sees the ratings, not the grade.
    """
    names = {skill.key: skill.name for skill in program.skills}
    order = [skill.key for skill in program.skills]
    rounds = [r for r in program_rounds(program) if round_state(r) is not RoundState.NOT_OPENED]
    by_round: dict[int, list[SkillAssessment]] = {}
    for assessment in db.session.execute(
        select(SkillAssessment)
        .where(SkillAssessment.subject_id == subject.id, SkillAssessment.round_id.in_([r.id for r in rounds]))
        .order_by(SkillAssessment.id)
        .options(
            selectinload(SkillAssessment.ratings), selectinload(SkillAssessment.rater).selectinload(Membership.user)
        )
    ).scalars():
        by_round.setdefault(assessment.round_id, []).append(assessment)
    ratings = [(round_, round_ratings(by_round.get(round_.id, []))) for round_ in rounds]
    growth = compare_rounds([(round_.title, rated) for round_, rated in ratings], order)
    latest = next((rated for _, rated in reversed(ratings) if rated.levels()), RoundRatings())
    strengths, weaknesses = strengths_and_weaknesses(latest.levels())
    both = next(
        (
            (round_, rated)
            for round_, rated in reversed(ratings)
            if rated.has(RaterRole.SELF) and rated.has(RaterRole.MENTOR)
        ),
        None,
    )
    word = mentor_word(program)
    gaps = [
        Gap(
            names.get(d.key, d.key),
            level_text(d.self_level),
            level_text(d.mentor_level),
            f"rated {level_text(abs(d.gap))} level{'s' if abs(d.gap) != 1 else ''} "
            f"{'higher' if d.gap > 0 else 'lower'} by the mentee than by their {word}",
        )
        for d in (disagreements(both[1]) if both else [])
    ]
    show_grades = viewer_role is not RaterRole.MENTOR
    reports = [
        _round_report(round_, by_round.get(round_.id, []), rated, names, order, show_grades, timezone, word)
        for round_, rated in ratings
    ]
    chart, title, description = _growth_chart(growth, names)
    return GrowthReport(
        growth=growth,
        rows=[
            GrowthRow(names.get(g.key, g.key), level_text(g.first), level_text(g.latest), change_text(g.change))
            for g in growth.skills
        ],
        chart=chart,
        chart_title=title,
        chart_description=description,
        strengths=[names.get(key, key) for key in strengths],
        weaknesses=[names.get(key, key) for key in weaknesses],
        gaps=gaps,
        gaps_round=both[0].title if both else None,
        not_compared=[names.get(key, key) for key in growth.not_compared],
        rounds=[report for report in reports if report.lines],
    )


def _round_report(
    round_: AssessmentRound,
    assessments: list[SkillAssessment],
    rated: RoundRatings,
    names: Mapping[str, str],
    order: Sequence[str],
    show_grades: bool,
    timezone: str,
    word: str,
) -> RoundReport:
    who = {RaterRole.SELF.value: "Self-assessment", RaterRole.MENTOR.value: f"Rated by their {word}"}
    lines = [
        RatingLine(
            names.get(key, key),
            level_text(rated.mean(RaterRole.SELF, key)),
            level_text(rated.mean(RaterRole.MENTOR, key)),
            level_text(rated.mean(RaterRole.INSTRUCTOR, key)),
        )
        for key in in_order(rated.skills, order)
    ]
    notes = [
        SubmissionNote(
            f"{who.get(a.rater_role, 'Rated by an instructor')}, {a.rater.user.display_name}",
            local_time(a.submitted_at, timezone),
            a.comment,
        )
        for a in assessments
    ]
    grade = None
    if round_.graded and show_grades:
        grade = grade_text(grade_score(GradeRule(round_.grade_rule), rated))
    return RoundReport(round_, lines, notes, grade)


def _growth_chart(growth: Growth, names: Mapping[str, str]) -> tuple[BarChart | None, str, str]:
    if growth.latest is None or not growth.skills:
        return None, "", ""
    labels = [names.get(g.key, g.key) for g in growth.skills]
    scale = f"Level per skill, from 1 ({LEVEL_NAMES[0]}) to {LEVELS} ({LEVEL_NAMES[-1]})"
    if growth.first is None:
        series = [Series(growth.latest, tuple(g.latest for g in growth.skills))]
        title = f"{scale}, in {growth.latest}"
        values = [f"{label} {level_text(g.latest)}" for label, g in zip(labels, growth.skills, strict=True)]
    else:
        series = [
            Series(growth.first, tuple(g.first for g in growth.skills)),
            Series(growth.latest, tuple(g.latest for g in growth.skills)),
        ]
        title = f"{scale}, in {growth.first} and {growth.latest}"
        values = [
            f"{label} {level_text(g.first)} then {level_text(g.latest)}"
            for label, g in zip(labels, growth.skills, strict=True)
        ]
    chart = grouped_bars(labels, series, maximum=LEVELS, ticks=range(1, LEVELS + 1))
    return chart, title, "; ".join(values) + "."
