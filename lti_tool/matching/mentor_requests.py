"""Two-sided self-match: a mentee requests a suggested mentor, who accepts or declines by the program's deadline.

A pending request holds one of the mentor's places (so suggestions move on to others once a popular mentor's
places are spoken for); a decline or the deadline gives it back and tells the mentee on their home page, and a
declined pair is never suggested again. Staff see what is waiting and can approve or cancel in the mentor's
stead. Requests past their deadline are expired when someone reads them and by the jobs worker, so nobody has
to set up a scheduler. Every step is an xAPI statement, in the transaction of the change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, joinedload

from lti_tool.courses.models import Membership
from lti_tool.extensions import db, utcnow
from lti_tool.lti.roles import CourseRole
from lti_tool.matching import workflow
from lti_tool.matching.models import MentorRequest, RequestState
from lti_tool.programs.models import Match, MatchSource, MatchStatus, MentoringModel, Participant, Program
from lti_tool.settings import Settings
from lti_tool.statements.events import RequestStep, actor, record_mentor_request_steps
from xapi.events import MentorRequestEvent

PAGE_SIZE = 50  # requests per page of the mentor's and the instructor's lists
EXPIRE_BATCH = 500  # requests expired (and their statements built) per statement

_WITH_PEOPLE = (
    joinedload(MentorRequest.mentor).joinedload(Participant.membership).joinedload(Membership.user),
    joinedload(MentorRequest.mentee).joinedload(Participant.membership).joinedload(Membership.user),
)


def _step(request: MentorRequest, event: MentorRequestEvent, by: Membership, at: datetime) -> RequestStep:
    return RequestStep(
        request_id=request.id,
        mentee_registration=request.mentee.registration,
        actor=actor(by),
        mentor=actor(request.mentor.membership),
        event=event,
        at=at,
    )


def request_mentor(
    program: Program, mentee: Participant, mentor: Participant, *, settings: Settings, tool_base: str
) -> MentorRequest:
    """The mentee asks one of their suggested mentors; the mentor has the program's `request_days` to answer."""
    if not (program.self_match and program.mentor_accepts):
        raise workflow.MatchingError("In this program mentors do not answer requests.")
    expire_due(program, settings=settings)
    if workflow.already_matched(program, mentee):
        raise workflow.MatchingError("You already have a mentor in this program.")
    if waiting_request(mentee) is not None:
        raise workflow.MatchingError(
            "You are already waiting for a mentor's answer.", hint="Ask another mentor once they answer."
        )
    # The mentor's row is locked (PostgreSQL) so two mentees cannot take their last place at once.
    db.session.execute(select(Participant.id).where(Participant.id == mentor.id).with_for_update())
    offered = {m.id: proposal for m, proposal in workflow.suggestions(program, mentee)}
    if mentor.id not in offered:
        raise workflow.MatchingError(
            "That mentor is not among your suggestions any more (their places may be taken). Choose again."
        )
    now = utcnow()
    request = MentorRequest(
        program_id=program.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        score=offered[mentor.id].score,
        explanation=offered[mentor.id].explanation,
        tool_base=tool_base,
        created_at=now,
        expires_at=now + timedelta(days=program.request_days),
    )
    db.session.add(request)
    try:
        db.session.flush()
    except IntegrityError as error:  # the same mentee's request from another tab, a moment earlier
        raise workflow.MatchingError("You are already waiting for a mentor's answer.") from error
    record_mentor_request_steps(
        program,
        [_step(request, MentorRequestEvent.REQUESTED, mentee.membership, now)],
        settings=settings,
        tool_base=tool_base,
    )
    return request


def expire_due(program: Program | None, *, settings: Settings) -> int:
    """Expire the requests past their deadline (of `program`, or of every program: the jobs worker's round), in
    batches, recording each with its deadline as the time; answers how many."""
    condition = MentorRequest.expires_at <= utcnow()
    if program is not None:
        condition = condition & (MentorRequest.program_id == program.id)
    return _close_pending(
        condition, RequestState.EXPIRED, MentorRequestEvent.EXPIRED, MentorRequest.expires_at, program, settings
    )


def close_for_matched(program: Program, *, settings: Settings) -> int:
    """Close (cancelled, the mentee being the statement's actor) the waiting requests of the program's mentees who
    have a published match, e.g. one staff paired them with and published while they waited; answers how many.
    In peer and reverse programs a person may have several matches, so their requests stay."""
    if program.model in (MentoringModel.PEER.value, MentoringModel.REVERSE.value):
        return 0
    matched = select(Match.mentee_id).where(Match.program_id == program.id, Match.status == MatchStatus.PUBLISHED.value)
    return _close_pending(
        (MentorRequest.program_id == program.id) & MentorRequest.mentee_id.in_(matched),
        RequestState.CANCELLED,
        MentorRequestEvent.CLOSED,
        utcnow(),
        program,
        settings,
    )


def _close_pending(
    condition: ColumnElement[bool],
    state: RequestState,
    event: MentorRequestEvent,
    at: datetime | InstrumentedAttribute[datetime],
    program: Program | None,
    settings: Settings,
) -> int:
    """Move the pending requests that meet `condition` to `state` at `at`, in batches, each with its statement
    (the mentee is the actor: nobody answered); answers how many. Two servers doing this at once close each
    request once: only the rows this UPDATE changed get a statement."""
    closed = 0
    while True:
        due = select(MentorRequest.id).where(MentorRequest.state == RequestState.PENDING.value, condition)
        ids = list(
            db.session.execute(
                update(MentorRequest)
                .where(
                    MentorRequest.id.in_(due.order_by(MentorRequest.id).limit(EXPIRE_BATCH).scalar_subquery()),
                    MentorRequest.state == RequestState.PENDING.value,
                )
                .values(state=state.value, answered_at=at)
                .returning(MentorRequest.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        if not ids:
            return closed
        closed += len(ids)
        found = db.session.execute(
            select(MentorRequest)
            .where(MentorRequest.id.in_(ids))
            .order_by(MentorRequest.id)
            .options(*_WITH_PEOPLE)
            .execution_options(populate_existing=True)  # rows this session had loaded show their new state
        ).scalars()
        by_program: dict[tuple[int, str], list[RequestStep]] = {}
        for request in found:
            assert request.answered_at is not None  # noqa: S101 (just set)
            step = _step(request, event, request.mentee.membership, request.answered_at)
            by_program.setdefault((request.program_id, request.tool_base), []).append(step)
        for (program_id, tool_base), steps in by_program.items():
            owner = program if program is not None else db.session.get(Program, program_id)
            assert owner is not None  # noqa: S101 (a program's requests are deleted with it)
            record_mentor_request_steps(owner, steps, settings=settings, tool_base=tool_base)
        if len(ids) < EXPIRE_BATCH:
            return closed


def _pending(program: Program, request_id: int) -> MentorRequest:
    """The request, locked (PostgreSQL) so that an answer and the expiry of the same request never both happen."""
    request = db.session.execute(
        select(MentorRequest)
        .where(MentorRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if request is None or request.program_id != program.id:
        raise workflow.MatchingError("That request does not exist in this program.")
    if request.state != RequestState.PENDING.value:
        raise workflow.MatchingError(f"That request was already {request.state}.")
    return request


def _accept(program: Program, request: MentorRequest, *, settings: Settings, tool_base: str) -> Match:
    if workflow.already_matched(program, request.mentee):
        raise workflow.MatchingError(
            "This mentee already has a mentor.", hint="Cancel the request instead, to tell them."
        )
    capacity = request.mentor.capacity or program.default_capacity
    published = db.session.execute(
        select(func.count(Match.id)).where(
            Match.program_id == program.id,
            Match.mentor_id == request.mentor_id,
            Match.status == MatchStatus.PUBLISHED.value,
        )
    ).scalar_one()
    if published >= capacity:
        raise workflow.MatchingError(
            f"The mentor has no place left ({published} of {capacity} taken).", hint="Decline or cancel instead."
        )
    match = Match(
        program_id=program.id,
        mentor_id=request.mentor_id,
        mentee_id=request.mentee_id,
        score=request.score,
        explanation=request.explanation,
        source=MatchSource.SELF.value,
    )
    workflow.publish_one(program, match, settings=settings, tool_base=tool_base)
    request.match_id = match.id
    return match


def answer(
    program: Program,
    request_id: int,
    mentor: Participant,
    *,
    accept: bool,
    settings: Settings,
    tool_base: str,
) -> MentorRequest:
    """The requested mentor accepts (the pair is published as a match) or declines (never suggested again)."""
    expire_due(program, settings=settings)
    request = _pending(program, request_id)
    if request.mentor_id != mentor.id:
        raise workflow.MatchingError("Only the mentor who was asked can answer this request.")
    if accept:
        return _settle(program, request, mentor.membership, MentorRequestEvent.ACCEPTED, settings, tool_base)
    return _settle(program, request, mentor.membership, MentorRequestEvent.DECLINED, settings, tool_base)


def step_in(
    program: Program,
    request_id: int,
    staff: Membership,
    *,
    approve: bool,
    settings: Settings,
    tool_base: str,
) -> MentorRequest:
    """Staff approve a waiting request in the mentor's stead (the pair is published) or cancel it."""
    if not CourseRole(staff.course_role).is_staff or staff.course_id != program.course_id:
        raise workflow.MatchingError("Only the course's staff can step in.")
    expire_due(program, settings=settings)
    event = MentorRequestEvent.APPROVED if approve else MentorRequestEvent.CANCELLED
    return _settle(program, _pending(program, request_id), staff, event, settings, tool_base)


def withdraw(
    program: Program, request_id: int, mentee: Participant, *, settings: Settings, tool_base: str
) -> MentorRequest:
    """The mentee takes back their own waiting request: the mentor's place is free again at once, and the mentee
    may ask someone else (or the same mentor again: a withdrawal is not a decline)."""
    expire_due(program, settings=settings)
    request = _pending(program, request_id)
    if request.mentee_id != mentee.id:
        raise workflow.MatchingError("Only the mentee who asked can withdraw this request.")
    return _settle(program, request, mentee.membership, MentorRequestEvent.WITHDRAWN, settings, tool_base)


_STATE_OF = {
    MentorRequestEvent.ACCEPTED: RequestState.ACCEPTED,
    MentorRequestEvent.APPROVED: RequestState.ACCEPTED,
    MentorRequestEvent.DECLINED: RequestState.DECLINED,
    MentorRequestEvent.CANCELLED: RequestState.CANCELLED,
    MentorRequestEvent.WITHDRAWN: RequestState.CANCELLED,  # told apart by who answered: the mentee themself
}


def _settle(
    program: Program,
    request: MentorRequest,
    by: Membership,
    event: MentorRequestEvent,
    settings: Settings,
    tool_base: str,
) -> MentorRequest:
    now = utcnow()
    state = _STATE_OF[event]
    request.state, request.answered_at, request.answered_by_id = state.value, now, by.id
    # Recorded first: an acceptance's `matched` statement (of the new match) follows it.
    record_mentor_request_steps(program, [_step(request, event, by, now)], settings=settings, tool_base=tool_base)
    if state is RequestState.ACCEPTED:
        _accept(program, request, settings=settings, tool_base=tool_base)
    return request


def withdrawn(request: MentorRequest) -> bool:
    """Whether the mentee took the request back themself (rather than staff cancelling it)."""
    return request.state == RequestState.CANCELLED.value and request.answered_by_id == request.mentee.membership_id


def waiting_request(mentee: Participant) -> MentorRequest | None:
    """The mentee's request waiting for an answer, if any (one at most)."""
    return db.session.execute(
        select(MentorRequest)
        .where(MentorRequest.mentee_id == mentee.id, MentorRequest.state == RequestState.PENDING.value)
        .options(*_WITH_PEOPLE)
    ).scalar_one_or_none()


def latest_request(mentee: Participant) -> MentorRequest | None:
    """The mentee's newest request, whatever its state: what their home page tells them about."""
    return db.session.execute(
        select(MentorRequest)
        .where(MentorRequest.mentee_id == mentee.id)
        .order_by(MentorRequest.id.desc())
        .limit(1)
        .options(*_WITH_PEOPLE)
    ).scalar_one_or_none()


def waiting_count(mentor: Participant) -> int:
    return int(
        db.session.execute(
            select(func.count(MentorRequest.id)).where(
                MentorRequest.mentor_id == mentor.id, MentorRequest.state == RequestState.PENDING.value
            )
        ).scalar_one()
    )


def waiting_total(program: Program) -> int:
    """How many of the program's requests wait for an answer (past their deadline or not)."""
    return int(
        db.session.execute(
            select(func.count(MentorRequest.id)).where(
                MentorRequest.program_id == program.id, MentorRequest.state == RequestState.PENDING.value
            )
        ).scalar_one()
    )


@dataclass(frozen=True)
class RequestPage:
    """One page of waiting requests, oldest first (the nearest deadline first)."""

    requests: list[MentorRequest]
    number: int
    pages: int
    total: int


def _page(query: Select[tuple[MentorRequest]], page: int) -> RequestPage:
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    pages = max(1, math.ceil(total / PAGE_SIZE))
    number = min(max(1, page), pages)
    found = db.session.execute(
        query.order_by(MentorRequest.expires_at, MentorRequest.id)
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
        .options(*_WITH_PEOPLE)
    ).scalars()
    return RequestPage(list(found.unique()), number, pages, total)


def waiting_for(mentor: Participant, *, page: int = 1) -> RequestPage:
    """The requests waiting for this mentor's answer: two statements however many there are."""
    return _page(
        select(MentorRequest).where(
            MentorRequest.mentor_id == mentor.id, MentorRequest.state == RequestState.PENDING.value
        ),
        page,
    )


def waiting_in(program: Program, *, page: int = 1) -> RequestPage:
    """Every request of the program waiting for an answer, for staff: two statements however many there are."""
    return _page(
        select(MentorRequest).where(
            MentorRequest.program_id == program.id, MentorRequest.state == RequestState.PENDING.value
        ),
        page,
    )


@dataclass(frozen=True)
class HomeNotice:
    """What a participant's home page says about requests: the mentee's newest, the mentor's waiting count."""

    latest: MentorRequest | None
    waiting_for_me: int


def home_notice(program: Program, participant: Participant, *, settings: Settings) -> HomeNotice | None:
    """None unless the program runs two-sided self-match, or requests made while it did still wait: those stay
    answerable (and the mentee may withdraw theirs) until answered or expired. Expires what is due first, so a
    mentee whose request lapsed is told so on their next visit (the caller commits)."""
    mentee, mentor = participant.wants_to_be_mentored, participant.wants_to_mentor
    if not (program.self_match and program.mentor_accepts):
        # Turned off: only what still waits is shown, and a program that never ran it writes nothing here.
        if (not mentee or waiting_request(participant) is None) and (not mentor or waiting_count(participant) == 0):
            return None
        expire_due(program, settings=settings)
        return HomeNotice(
            latest=waiting_request(participant) if mentee else None,
            waiting_for_me=waiting_count(participant) if mentor else 0,
        )
    expire_due(program, settings=settings)
    return HomeNotice(
        latest=latest_request(participant) if mentee else None,
        waiting_for_me=waiting_count(participant) if mentor else 0,
    )
