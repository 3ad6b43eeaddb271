"""Courses of any size in seconds: bulk inserts through the models, shaped as the real workflow leaves them.

A launch, a profile form and the matching workflow for each of 11,000 people would take hours; the query-count
tests need a small course and a ten times larger one, and `benchmarks/pages.py` the issue's 11,001 members. Both
import this module (benchmarks import from tests, as they already use tests' served apps and sandbox launches).

The rows are those the real paths write (see tests/mentoring/conftest.py `publish_pairs`, which goes through
them): people with complete profiles; for each published pair a published `Match` linked to its `Relationship`,
a mentor and a mentee `RelationshipMember`, the matching run; then what pairs do on their pages (agreements
accepted, sessions with responses, ratings and action items, goals with milestones and comments), assessment
rounds with self and mentor ratings, an end-of-program survey with answers, and one outbox row per recorded
event. Outbox bodies are placeholders: no page reads them, and delivery has its own benchmark.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from lti_tool.assessments.models import AssessmentRound, RaterRole, RoundKind, SkillAssessment, SkillRating
from lti_tool.courses.models import Course, Membership, User
from lti_tool.extensions import db, utcnow
from lti_tool.lti.roles import CourseRole
from lti_tool.mentoring.models import (
    ActionItem,
    Goal,
    GoalComment,
    GoalStatus,
    MemberRole,
    MentoringSession,
    Milestone,
    Relationship,
    RelationshipMember,
    SessionRating,
    SessionResponse,
    SessionStatus,
)
from lti_tool.programs import services as programs
from lti_tool.programs.models import Match, MatchingRun, MatchSource, MatchStatus, MentoringModel, Participant
from lti_tool.statements.models import OutboxState, StatementOutbox
from lti_tool.surveys import services as surveys
from lti_tool.surveys.models import SurveyKind, SurveyResponse

LEARNER_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
EVENINGS = ["mon-18", "wed-18", "thu-18"]
FORMATS = ("video", "in-person", "phone", "chat")
GOAL_STATUSES = (GoalStatus.IN_PROGRESS, GoalStatus.NOT_STARTED, GoalStatus.COMPLETED, GoalStatus.DROPPED)
CHUNK = 5_000  # rows per INSERT ... VALUES batch: well under SQLite's bound-parameter limit for any of these tables


@dataclass(frozen=True)
class CourseSize:
    """How much of everything; `for_pairs` scales the issue's course (`ISSUE`) to a number of published pairs."""

    pairs: int
    mentors: int
    waiting: int  # mentees with a complete profile who joined after matching: no match yet
    sessions_per_pair: float
    goals_per_pair: float
    rounds: int
    self_assessed: float  # share of mentees who assess themselves in each round (mentors rate every pair)
    survey_answers: int
    drafts: int = 0  # waiting mentees the latest run of matching proposed a mentor for (drafts not yet published)

    @property
    def mentees(self) -> int:
        return self.pairs + self.waiting

    @property
    def members(self) -> int:
        """Course members, the instructor who launched included."""
        return 1 + self.mentors + self.mentees

    @classmethod
    def for_pairs(cls, pairs: int) -> CourseSize:
        share = pairs / ISSUE.pairs
        return replace(
            ISSUE,
            pairs=pairs,
            mentors=max(1, math.ceil(ISSUE.mentors * share)),
            waiting=round(ISSUE.waiting * share),
            survey_answers=round(ISSUE.survey_answers * share),
        )


# The course of issue 12 (shared/notes/scale.md): 11,001 members, 1,000 mentors of capacity 10, 4,000 pairs and
# 6,000 late joiners; ~20,000 sessions, ~5,300 goals, 2 rounds (~19,400 assessments), 3,000 survey answers.
ISSUE = CourseSize(
    pairs=4_000,
    mentors=1_000,
    waiting=6_000,
    sessions_per_pair=5.0,
    goals_per_pair=1.32,
    rounds=2,
    self_assessed=0.57,
    survey_answers=3_000,
)


@dataclass(frozen=True)
class BuiltCourse:
    course_id: int
    program_id: int
    relationship_ids: list[int]
    counts: dict[str, int]  # rows written per table


def _insert(model: type[Any], rows: list[dict[str, Any]], counts: dict[str, int]) -> list[int]:
    """Insert rows in batches; their ids in the order given."""
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        batch = rows[start : start + CHUNK]
        ids.extend(db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), batch))
    counts[model.__tablename__] = counts.get(model.__tablename__, 0) + len(rows)
    return ids


def build_course(course: Course, size: CourseSize, *, seed: int = 12, now: datetime | None = None) -> BuiltCourse:
    """Fill `course` (which someone has launched into, with no program yet) with a program of `size`. Commits."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data, not secrets)
    now = now or utcnow()
    counts: dict[str, int] = {}
    issuer = course.deployment.platform.issuer
    started = now - timedelta(weeks=12)
    program = programs.create_program(
        course, title="Ten thousand learners", model=MentoringModel.ONE_ON_ONE, resource_link_id=None
    )
    program.default_capacity, program.starts_on = 10, started.date()
    db.session.flush()
    skills = [s.key for s in program.skills]

    # People: mentors first, then mentees; names sort as their numbers do.
    people = [("mentor", n) for n in range(1, size.mentors + 1)] + [("mentee", n) for n in range(1, size.mentees + 1)]
    user_ids = _insert(
        User,
        [
            {
                "issuer": issuer,
                "sub": f"scale-{course.id}-{kind}-{n:05d}",  # users are the platform's: unique across courses
                "given_name": f"{kind.capitalize()}{n:05d}",
                "family_name": rng.choice(("Okafor", "Lovelace", "Nguyen", "García", "Kowalski", "Haddad")),
                "email": f"{kind}-{n:05d}.course-{course.id}@scale.example",
                "created_at": started,
                "updated_at": started,
            }
            for kind, n in people
        ],
        counts,
    )
    membership_ids = _insert(
        Membership,
        [
            {
                "user_id": user_id,
                "course_id": course.id,
                "roles": [LEARNER_ROLE],
                "course_role": CourseRole.LEARNER.value,
                "active": True,
                "last_launch_at": started,
            }
            for user_id in user_ids
        ],
        counts,
    )
    participant_ids = _insert(
        Participant,
        [
            {
                "program_id": program.id,
                "membership_id": membership_id,
                "registration": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "wants_to_mentor": kind == "mentor",
                "wants_to_be_mentored": kind == "mentee",
                "skill_levels": {k: rng.randint(3, 5) if kind == "mentor" else rng.randint(0, 3) for k in skills},
                "goals": rng.sample(skills, 2) if kind == "mentee" else [],
                "expertise": rng.sample(skills, 3) if kind == "mentor" else [],
                "availability": EVENINGS,
                "timezone": "Europe/Paris",
                "languages": ["en"],
                "capacity": 10 if kind == "mentor" else None,
                "completed_at": started,
                "created_at": started,
                "updated_at": started,
            }
            for (kind, _), membership_id in zip(people, membership_ids, strict=True)
        ],
        counts,
    )
    mentors = participant_ids[: size.mentors]
    mentees = participant_ids[size.mentors :]
    membership_of = dict(zip(participant_ids, membership_ids, strict=True))

    # Matching ran and was published: matches, relationships and their members, as `workflow.publish` leaves them.
    published = now - timedelta(weeks=10)
    pairs = [(mentors[i % size.mentors], mentees[i]) for i in range(size.pairs)]
    created = [published + timedelta(minutes=rng.randint(0, 60 * 24 * 14)) for _ in pairs]
    relationship_ids = _insert(
        Relationship, [{"program_id": program.id, "created_at": when} for when in created], counts
    )
    _insert(
        Match,
        [
            {
                "program_id": program.id,
                "mentor_id": mentor,
                "mentee_id": mentee,
                "score": round(rng.uniform(0.4, 0.95), 3),
                "explanation": {"reasons": ["Shares an evening slot"]},
                "status": MatchStatus.PUBLISHED.value,
                "source": MatchSource.ENGINE.value,
                "locked": False,
                "relationship_id": relationship_id,
                "created_at": published,
                "published_at": published,
            }
            for (mentor, mentee), relationship_id in zip(pairs, relationship_ids, strict=True)
        ],
        counts,
    )
    db.session.add(
        MatchingRun(program_id=program.id, created_at=published, seed=1, objective=0.7 * size.pairs, matched=size.pairs)
    )
    if size.drafts:
        _insert_drafts(program.id, mentors, mentees[size.pairs :], size, rng, now, counts)
    # Most members accept within days; some pairs are still waiting for one of them.
    members: list[dict[str, Any]] = []
    for (mentor, mentee), relationship_id, when in zip(pairs, relationship_ids, created, strict=True):
        for participant_id, role in ((mentor, MemberRole.MENTOR), (mentee, MemberRole.MENTEE)):
            accepted = when + timedelta(days=rng.randint(0, 5)) if rng.random() < 0.93 else None
            members.append(
                {
                    "relationship_id": relationship_id,
                    "participant_id": participant_id,
                    "role": role.value,
                    "joined_at": when,
                    "accepted_at": accepted,
                    "expectations": "",
                }
            )
    _insert(RelationshipMember, members, counts)
    accepted_count = sum(1 for m in members if m["accepted_at"] is not None)

    # Sessions: up to twice the mean per pair (some pairs never met), mostly confirmed by the other member.
    session_rows: list[dict[str, Any]] = []
    others: list[int] = []
    for (mentor, mentee), relationship_id, when in zip(pairs, relationship_ids, created, strict=True):
        for _ in range(rng.randint(0, round(2 * size.sessions_per_pair))):
            logger, other = (mentee, mentor) if rng.random() < 0.6 else (mentor, mentee)
            status = rng.choices(
                (SessionStatus.CONFIRMED, SessionStatus.LOGGED, SessionStatus.DISPUTED), (0.8, 0.15, 0.05)
            )[0]
            start = when + (now - when) * rng.random()
            session_rows.append(
                {
                    "relationship_id": relationship_id,
                    "logged_by_id": logger,
                    "started_at": start,
                    "timezone": "Europe/Paris",
                    "duration_minutes": rng.choice((30, 45, 60, 60, 90)),
                    "format": rng.choice(FORMATS),
                    "topics": "Planning the next steps",
                    "skill_keys": rng.sample(skills, 2),
                    "shared_notes": "We reviewed the week's work.",
                    "status": status.value,
                    "created_at": start,
                    "updated_at": start,
                }
            )
            others.append(other)
    session_ids = _insert(MentoringSession, session_rows, counts)
    responses, ratings, items = [], [], []
    for session_id, row, other in zip(session_ids, session_rows, others, strict=True):
        if row["status"] != SessionStatus.LOGGED.value:
            responses.append(
                {
                    "session_id": session_id,
                    "participant_id": other,
                    "status": row["status"],
                    "reason": "We did not meet." if row["status"] == SessionStatus.DISPUTED.value else "",
                    "responded_at": row["started_at"],
                }
            )
        if rng.random() < 0.7:
            ratings.append(
                {
                    "session_id": session_id,
                    "participant_id": row["logged_by_id"],
                    "rating": rng.randint(3, 5),
                    "comment": "Useful",
                    "rated_at": row["started_at"],
                }
            )
        if rng.random() < 0.5:
            items.append(
                {
                    "session_id": session_id,
                    "owner_id": row["logged_by_id"],
                    "text": "Read the next chapter",
                    "due_on": (row["started_at"] + timedelta(days=7)).date(),
                }
            )
    _insert(SessionResponse, responses, counts)
    _insert(SessionRating, ratings, counts)
    _insert(ActionItem, items, counts)

    # Goals: the mentee's, some with milestones and the mentor's comments.
    goal_rows: list[dict[str, Any]] = []
    goal_mentors: list[int] = []
    whole, fraction = divmod(size.goals_per_pair, 1)
    for (mentor, mentee), relationship_id, when in zip(pairs, relationship_ids, created, strict=True):
        for _ in range(int(whole) + (rng.random() < fraction)):
            status = rng.choices(GOAL_STATUSES, (0.5, 0.2, 0.25, 0.05))[0]
            goal_rows.append(
                {
                    "relationship_id": relationship_id,
                    "owner_id": mentee,
                    "title": "Ship a small project",
                    "skill_key": rng.choice(skills),
                    "measure": "A working demo",
                    "target_on": (now + timedelta(days=rng.randint(10, 60))).date(),
                    "status": status.value,
                    "progress": 100 if status is GoalStatus.COMPLETED else rng.randint(0, 90),
                    "created_at": when,
                    "updated_at": when,
                    "completed_at": (
                        now - timedelta(days=rng.randint(1, 20)) if status is GoalStatus.COMPLETED else None
                    ),
                }
            )
            goal_mentors.append(mentor)
    goal_ids = _insert(Goal, goal_rows, counts)
    milestones, comments = [], []
    for goal_id, mentor in zip(goal_ids, goal_mentors, strict=True):
        for index in range(rng.randint(0, 2)):
            milestones.append(
                {"goal_id": goal_id, "title": f"Step {index + 1}", "done_at": now if rng.random() < 0.5 else None}
            )
        if rng.random() < 0.4:
            comments.append({"goal_id": goal_id, "author_id": mentor, "text": "Good progress.", "created_at": now})
    _insert(Milestone, milestones, counts)
    _insert(GoalComment, comments, counts)

    # Assessment rounds: in each, some mentees assess themselves and every pair's mentor rates their mentee.
    mentor_of = dict((mentee, mentor) for mentor, mentee in pairs)
    round_ids = _insert(
        AssessmentRound,
        [
            {
                "program_id": program.id,
                "title": "Baseline" if index == 0 else f"Follow-up {index}",
                "kind": (RoundKind.BASELINE if index == 0 else RoundKind.FOLLOW_UP).value,
                "position": index,
                "opened_at": published + timedelta(weeks=4 * index),
                "closed_at": published + timedelta(weeks=4 * index + 2) if index < size.rounds - 1 else None,
                "graded": False,
                "created_at": published,
            }
            for index in range(size.rounds)
        ],
        counts,
    )
    assessment_rows: list[dict[str, Any]] = []
    for index, round_id in enumerate(round_ids):
        submitted = published + timedelta(weeks=4 * index, days=1)
        for mentee in mentees:
            raters = [(membership_of[mentee], RaterRole.SELF)] if rng.random() < size.self_assessed else []
            if mentee in mentor_of:
                raters.append((membership_of[mentor_of[mentee]], RaterRole.MENTOR))
            for rater, role in raters:
                assessment_rows.append(
                    {
                        "round_id": round_id,
                        "subject_id": mentee,
                        "rater_id": rater,
                        "rater_role": role.value,
                        "comment": "",
                        "submitted_at": submitted,
                    }
                )
    assessment_ids = _insert(SkillAssessment, assessment_rows, counts)
    _insert(
        SkillRating,
        [
            {"assessment_id": assessment_id, "skill_key": key, "level": min(5, 1 + index + rng.randint(0, 2))}
            for assessment_id, row in zip(assessment_ids, assessment_rows, strict=True)
            for key in rng.sample(skills, rng.randint(3, 5))
            for index in [round_ids.index(row["round_id"])]
        ],
        counts,
    )

    # An opened end-of-program survey, answered by some of the paired mentees.
    survey = surveys.create_survey(program, SurveyKind.END)
    survey.opened_at = now - timedelta(days=7)
    db.session.flush()
    _insert(
        SurveyResponse,
        [
            {
                "survey_id": survey.id,
                "participant_id": mentee,
                "answers": {
                    "satisfaction": rng.randint(1, 5),
                    "confidence": rng.randint(1, 5),
                    "goal-progress": rng.randint(1, 5),
                    "career-outcomes": rng.sample(["new-role", "promotion", "certification", "project-lead"], 1),
                    "recommend": rng.choice(("yes", "maybe", "no")),
                    "proudest-outcome": "Shipping my first package",
                },
                "submitted_at": now - timedelta(days=rng.randint(0, 6)),
                "revision": 1,
            }
            for mentee in rng.sample(mentees, min(size.survey_answers, len(mentees)))
        ],
        counts,
    )

    # One outbox row per event the real paths record: a launch and a completed profile per person, a match, an
    # acceptance, a session per member, a goal, an assessment, a survey answer; most already delivered.
    events = {
        "launched": len(people),
        "profile-completed": len(people),
        "matched": size.pairs,
        "agreement-accepted": accepted_count,
        "mentoring-session": 2 * len(session_ids),
        "goal-set": len(goal_ids),
        "assessment-submitted": len(assessment_ids),
        "survey-answered": counts.get("survey_response", 0),
    }
    platform_id = course.deployment.platform_id
    outbox = [
        {
            "statement_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event": event,
            "body": "{}",
            "platform_id": platform_id,
            "course_id": course.id,
            "state": (OutboxState.DELIVERED if rng.random() < 0.97 else OutboxState.PENDING).value,
            "attempts": 1,
            "next_attempt_at": now,
            "created_at": now,
        }
        for event, number in events.items()
        for _ in range(number)
    ]
    _insert(StatementOutbox, outbox, counts)
    db.session.commit()
    _analyze(counts)
    return BuiltCourse(course.id, program.id, relationship_ids, counts)


def _analyze(counts: dict[str, int]) -> None:
    """Refresh PostgreSQL's planner statistics of the tables just filled, as autovacuum would soon after: plans
    measured right after a bulk load otherwise assume the tables are as empty as they were at creation. Only
    these tables, not the whole database (its other schemas are other runs')."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    tables = ", ".join(f'"{name}"' for name in sorted(counts))  # our models' own table names, quoted ("user")
    db.session.execute(text(f"ANALYZE {tables}"))
    db.session.commit()


def _insert_drafts(
    program_id: int,
    mentors: list[int],
    waiting: list[int],
    size: CourseSize,
    rng: random.Random,
    now: datetime,
    counts: dict[str, int],
) -> None:
    """A later run of matching, as `workflow.run_matching` leaves it: drafts for the first `size.drafts` waiting
    mentees with mentors' places left (round robin after the published pairs), and the others unmatched."""
    if size.drafts > len(waiting):
        raise ValueError(f"{size.drafts} drafts need as many waiting mentees; the course has {len(waiting)}.")
    ran = now - timedelta(days=1)
    _insert(
        Match,
        [
            {
                "program_id": program_id,
                "mentor_id": mentors[(size.pairs + index) % size.mentors],
                "mentee_id": mentee,
                "score": round(rng.uniform(0.4, 0.95), 3),
                "explanation": {
                    "contributions": {"goal_gain": 0.41, "complementarity": 0.12, "availability": 0.17},
                    "values": {"goal_gain": 0.75, "complementarity": 0.8, "availability": 0.85},
                    "reasons": ["Can help with 2 of your goals", "Shares 3 free hours a week"],
                    "broken_rules": [],
                    "teaches": {},
                },
                "status": MatchStatus.DRAFT.value,
                "source": MatchSource.ENGINE.value,
                "locked": False,
                "created_at": ran,
            }
            for index, mentee in enumerate(waiting[: size.drafts])
        ],
        counts,
    )
    db.session.add(
        MatchingRun(
            program_id=program_id,
            created_at=ran,
            seed=1,
            objective=0.7 * (size.pairs + size.drafts),
            matched=size.pairs + size.drafts,
            unmatched=[
                {
                    "participant_id": str(mentee),
                    "reason": "capacity_exhausted",
                    "message": "Every mentor who fits is full.",
                }
                for mentee in waiting[size.drafts :]
            ],
        )
    )
