"""Relationships: who a published match brings together, who may open a pair page, and the agreement."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, func, insert, select, true
from sqlalchemy.orm import selectinload

from lti_tool.courses.models import Membership, User
from lti_tool.errors import MentorLtiError, NotAuthorised, NotFound
from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.models import (
    ExpectationsChange,
    MentoringSession,
    Relationship,
    RelationshipMember,
    SessionStatus,
)
from lti_tool.programs.models import Match, MentoringModel, Participant, Program
from lti_tool.settings import Settings
from lti_tool.statements.events import record_agreement_accepted

MAX_EXPECTATIONS = 2000
State = TypeVar("State")


class MentoringError(MentorLtiError):
    """A pair-page action was refused; the message says why and what to do instead."""


def _role_pair(program: Program) -> tuple[str, str]:
    if program.model == MentoringModel.PEER.value:
        return "peer", "peer"
    return "mentor", "mentee"


def _active_member(relationship: Relationship, participant_id: int) -> RelationshipMember | None:
    return next((m for m in relationship.members if m.participant_id == participant_id and m.left_at is None), None)


class Pairing(NamedTuple):
    """A just-published match, as far as relationships care: who it brings together."""

    match_id: int
    mentor_id: int
    mentee_id: int


def join_relationships(program: Program, matches: Sequence[Pairing]) -> dict[int, int]:
    """Attach just-published matches to their relationships, creating them or adding the new members; answers
    each match's relationship id (by match id), which the caller stores on the match with its other changes.

    Group programs gather a mentor's mentees in one relationship; peer programs keep one relationship per
    pair of peers whichever direction each match runs; other models have one relationship per match. The
    plan is made in memory and written in a few bulk statements, however many matches are published at once.
    """
    shares = program.model in (MentoringModel.GROUP.value, MentoringModel.PEER.value)
    # Relationship key (an existing id, or -1, -2... for one planned here) -> its active members.
    active: dict[int, set[int]] = defaultdict(set)
    if shares:
        for relationship_id, participant_id in db.session.execute(
            select(RelationshipMember.relationship_id, RelationshipMember.participant_id)
            .join(Relationship, Relationship.id == RelationshipMember.relationship_id)
            .where(
                Relationship.program_id == program.id,
                Relationship.ended_at.is_(None),
                RelationshipMember.left_at.is_(None),
            )
            .order_by(RelationshipMember.relationship_id)
        ):
            active[relationship_id].add(participant_id)
    of_participant: dict[int, list[int]] = defaultdict(list)
    for key, members in active.items():
        for participant_id in members:
            of_participant[participant_id].append(key)
    mentor_role, mentee_role = _role_pair(program)
    planned: list[int] = []
    new_members: list[tuple[int, int, str]] = []
    key_of_match: dict[int, int] = {}
    for match in matches:
        together = (
            [match.mentor_id] if program.model == MentoringModel.GROUP.value else [match.mentor_id, match.mentee_id]
        )
        found = (
            next((k for k in of_participant[together[0]] if active[k].issuperset(together)), None) if shares else None
        )
        if found is None:
            found = -(len(planned) + 1)
            planned.append(found)
        for participant_id, role in ((match.mentor_id, mentor_role), (match.mentee_id, mentee_role)):
            if participant_id not in active[found]:
                active[found].add(participant_id)
                of_participant[participant_id].append(found)
                new_members.append((found, participant_id, role))
        key_of_match[match.match_id] = found
    now = utcnow()
    # The new rows are alike, so their ids may come back in any order: no per-row ordering, one batched INSERT.
    created = (
        list(
            db.session.scalars(
                insert(Relationship).returning(Relationship.id),
                [{"program_id": program.id, "created_at": now}] * len(planned),
            )
        )
        if planned
        else []
    )
    ids = dict(zip(planned, created, strict=True))
    if new_members:
        db.session.execute(
            insert(RelationshipMember),
            [{"relationship_id": ids.get(k, k), "participant_id": p, "role": role} for k, p, role in new_members],
        )
    return {match_id: ids.get(key, key) for match_id, key in key_of_match.items()}


def leave_relationship(match: Match) -> None:
    """A published match ended: the relationship ends with its last match; the history stays with it."""
    if match.relationship_id is None:
        return
    relationship = db.session.get(Relationship, match.relationship_id)
    if relationship is None:
        return
    now = utcnow()
    still_linked = db.session.execute(
        select(Match.id).where(Match.relationship_id == relationship.id, Match.id != match.id, Match.ended_at.is_(None))
    ).first()
    if still_linked is None:
        for member in relationship.members:
            member.left_at = member.left_at or now
        relationship.ended_at = now
        return
    if relationship.program.model == MentoringModel.GROUP.value:
        # The mentor keeps the group; the mentee of the ended match leaves it. (Peers stay while one direction
        # of their pair is still published.)
        leaving = _active_member(relationship, match.mentee_id)
        if leaving is not None:
            leaving.left_at = now


@dataclass(frozen=True)
class PairAccess:
    """An open pair page: the relationship and the viewer's own member row.

    The one visibility rule of the pair pages lives here: a member who left (their match ended, or the pair did)
    sees the pair as it was when they left — what happened up to their `left_at`, their own history included —
    and nothing after it. Every reading service filters with `visible` (queries) or `sees` (loaded rows), and
    shows what changes in place (a goal's progress, a member's expectations) `as_it_was` from its history.
    """

    relationship: Relationship
    me: RelationshipMember

    @property
    def cutoff(self) -> datetime | None:
        """The last moment the viewer may see: when they left, or None while they are a member."""
        return self.me.left_at

    def sees(self, moment: datetime | None) -> bool:
        """Whether something that happened at `moment` is the viewer's to see (None: it has not happened)."""
        return moment is not None and (self.cutoff is None or moment <= self.cutoff)

    def visible(self, column: Any) -> ColumnElement[bool]:
        """A query filter: rows whose `column` (a creation time) is up to the viewer's cut-off."""
        return true() if self.cutoff is None else column <= self.cutoff

    def as_it_was(self, current: State, changes: Iterable[tuple[datetime, State]], initial: State) -> State:
        """Something that changes in place, as the viewer may see it: as it is now, or for a member who left, as
        the last of its `changes` (when, and what it became; oldest first) up to their cut-off left it, else as it
        began (`initial`)."""
        if self.cutoff is None:
            return current
        seen = [state for moment, state in changes if self.sees(moment)]
        return seen[-1] if seen else initial

    def expectations_of(self, member: RelationshipMember) -> str:
        """A member's own expectations for the pair, as the viewer may see them."""
        changes = ((change.changed_at, change.expectations) for change in member.expectations_changes)
        return self.as_it_was(member.expectations, changes, "")

    @property
    def stated_expectations(self) -> list[tuple[RelationshipMember, str]]:
        """The members the viewer may know of who have stated expectations, with them as the viewer may see them."""
        stated = ((member, self.expectations_of(member)) for member in self.known_members)
        return [(member, text) for member, text in stated if text]

    @property
    def members(self) -> list[RelationshipMember]:
        """Who is in the pair as the viewer sees it: its active members, or, for a member who left, those who were
        in it when they left (someone who joined a group later is not theirs to know)."""
        cutoff = self.cutoff
        if cutoff is None:
            return self.active_members
        return [
            m for m in self.relationship.members if m.joined_at <= cutoff and (m.left_at is None or m.left_at >= cutoff)
        ]

    @property
    def known_members(self) -> list[RelationshipMember]:
        """Everyone ever in the pair whom the viewer may know of: for a member who left, who joined before that."""
        return [m for m in self.relationship.members if self.sees(m.joined_at)]

    @property
    def others(self) -> list[RelationshipMember]:
        return [m for m in self.members if m.id != self.me.id]

    @property
    def is_open(self) -> bool:
        """Whether the viewer may still act on the pair: it has not ended and they have not left it."""
        return self.relationship.ended_at is None and self.me.left_at is None

    @property
    def active_members(self) -> list[RelationshipMember]:
        return [m for m in self.relationship.members if m.left_at is None]

    def accepted_at(self, member: RelationshipMember) -> datetime | None:
        """When `member` accepted the agreement, if the viewer may know it."""
        return member.accepted_at if self.sees(member.accepted_at) else None

    @property
    def waiting_on(self) -> list[RelationshipMember]:
        """Whom the agreement waits on, as the viewer sees the pair."""
        return [m for m in self.members if self.accepted_at(m) is None]


def require_open(access: PairAccess) -> None:
    """Changes are for active members of an open pair; what an ended pair, or a member who left, had stays as
    the pair's record."""
    if not access.is_open:
        raise NotAuthorised(
            "This pair has ended, or you have left it: what it holds stays here as a record and can no longer change."
        )


def pair_for(course_id: int, relationship_id: int, membership: Membership) -> PairAccess:
    """The relationship if `membership` is one of its members in this course; otherwise not found.

    Not found rather than forbidden: a guessed id must not tell whether the pair exists.
    """
    relationship = db.session.get(
        Relationship,
        relationship_id,
        options=[selectinload(Relationship.members).selectinload(RelationshipMember.expectations_changes)],
    )
    if relationship is None or relationship.program.course_id != course_id:
        raise NotFound("There is no such mentoring pair in this course.")
    me = next((m for m in relationship.members if m.participant.membership_id == membership.id), None)
    if me is None:
        raise NotFound("There is no such mentoring pair in this course.")
    return PairAccess(relationship, me)


def staff_pair(program: Program, relationship_id: int) -> Relationship:
    """A relationship of the staff member's own program, for the instructor's per-pair view, with its members'
    names and emails loaded (a query per level, not per member: the view lists them)."""
    relationship = db.session.get(
        Relationship,
        relationship_id,
        options=[
            selectinload(Relationship.members)
            .selectinload(RelationshipMember.participant)
            .load_only(Participant.membership_id)
            .selectinload(Participant.membership)
            .load_only(Membership.user_id)
            .selectinload(Membership.user)
            .load_only(User.name, User.given_name, User.family_name, User.email)
        ],
    )
    if relationship is None or relationship.program_id != program.id:
        raise NotFound("There is no such mentoring pair in this program.")
    return relationship


def relationships_of(participant: Participant) -> list[Relationship]:
    """The relationships a participant is an active member of, newest first."""
    return list(
        db.session.execute(
            select(Relationship)
            .join(RelationshipMember, RelationshipMember.relationship_id == Relationship.id)
            .where(RelationshipMember.participant_id == participant.id, RelationshipMember.left_at.is_(None))
            .order_by(Relationship.id.desc())
            .options(selectinload(Relationship.members))
        ).scalars()
    )


def program_relationships(program: Program) -> list[Relationship]:
    """Every relationship of a program, open and ended, with members loaded."""
    return list(
        db.session.execute(
            select(Relationship)
            .where(Relationship.program_id == program.id)
            .order_by(Relationship.id)
            .options(selectinload(Relationship.members).selectinload(RelationshipMember.participant))
        ).scalars()
    )


def waiting_on(relationship: Relationship) -> list[RelationshipMember]:
    """The active members who have not yet accepted the agreement."""
    return [m for m in relationship.members if m.left_at is None and m.accepted_at is None]


def accept_agreement(access: PairAccess, expectations: str, *, settings: Settings, tool_base: str) -> None:
    """The viewer accepts the program's agreement, with their own pair-specific expectations if any."""
    expectations = expectations.strip()
    if len(expectations) > MAX_EXPECTATIONS:
        raise MentoringError(f"Keep your expectations under {MAX_EXPECTATIONS} characters.")
    require_open(access)
    me = access.me
    if me.accepted_at is not None:
        raise MentoringError("You have already accepted this agreement.")
    me.accepted_at = utcnow()
    _set_expectations(me, expectations, me.accepted_at)
    record_agreement_accepted(access.relationship, me, settings=settings, tool_base=tool_base)


def update_expectations(access: PairAccess, expectations: str) -> None:
    require_open(access)
    expectations = expectations.strip()
    if len(expectations) > MAX_EXPECTATIONS:
        raise MentoringError(f"Keep your expectations under {MAX_EXPECTATIONS} characters.")
    _set_expectations(access.me, expectations, utcnow())


def _set_expectations(member: RelationshipMember, expectations: str, now: datetime) -> None:
    """The one writer of a member's expectations: each change is kept, for whoever left the pair before it."""
    if expectations != member.expectations:
        member.expectations = expectations
        member.expectations_changes.append(ExpectationsChange(expectations=expectations, changed_at=now))


@dataclass(frozen=True)
class CheckinStatus:
    """When a relationship last met and when it should meet again, from the program's cadence."""

    last_met: datetime | None
    due: datetime
    overdue: bool

    @property
    def days_overdue(self) -> int:
        return max(0, (utcnow() - self.due).days)


def last_meetings(relationship_ids: list[int], *, until: datetime | None = None) -> dict[int, datetime]:
    """The latest session start per relationship (disputed sessions do not count), of the sessions logged up to
    `until` (a member's cut-off, see `PairAccess`) if given."""
    if not relationship_ids:
        return {}
    rows = db.session.execute(
        select(MentoringSession.relationship_id, func.max(MentoringSession.started_at))
        .where(
            MentoringSession.relationship_id.in_(relationship_ids),
            MentoringSession.status != SessionStatus.DISPUTED.value,
            true() if until is None else MentoringSession.created_at <= until,
        )
        .group_by(MentoringSession.relationship_id)
    ).all()
    return {rid: last for rid, last in rows}


def checkin_status(
    relationship: Relationship, last_met: datetime | None, *, now: datetime | None = None
) -> CheckinStatus:
    return checkin_of(
        relationship.program, relationship.created_at, relationship.ended_at, last_met, now=now or utcnow()
    )


def checkin_of(
    program: Program, created_at: datetime, ended_at: datetime | None, last_met: datetime | None, *, now: datetime
) -> CheckinStatus:
    """`checkin_status` from a relationship's dates alone, for lists that read them without loading the rows."""
    due = (last_met or created_at) + timedelta(days=max(1, program.checkin_every_days))
    return CheckinStatus(last_met=last_met, due=due, overdue=ended_at is None and now > due)
