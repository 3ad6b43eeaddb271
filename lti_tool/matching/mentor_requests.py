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

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lti_tool.courses.models import Membership
from lti_tool.extensions import db, utcnow
from lti_tool.lti.roles import CourseRole
from lti_tool.matching import workflow
from lti_tool.matching.models import MentorRequest, RequestState
from lti_tool.programs.models import Match, MatchSource, MatchStatus, Participant, Program
from lti_tool.settings import Settings
from lti_tool.statements.events import RequestStep, actor, record_mentor_request_steps
from xapi.events import MentorRequestEvent

PAGE_SIZE = 50  # requests per page of the mentor's and the instructor's lists
EXPIRE_BATCH = 500  # requests expired (and their statements built) per statement

_WITH_PEOPLE = (
    joinedload(MentorRequest.mentor).joinedload(Participant.membership).joinedload(Membership.user),
    joinedload(MentorRequest.mentee).joinedload(Participant.membership).joinedload(Membership.user),
)


def utc_time(moment: datetime) -> str:
    """A request's time as its pages show it, e.g. "9 December 2026, 15:30 UTC"."""
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


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
    batches, recording each with its deadline as the time; answers how many. Two servers expiring at once
    expire each request once: only the rows this UPDATE changed get a statement."""
    expired = 0
    while True:
        due = select(MentorRequest.id).where(
            MentorRequest.state == RequestState.PENDING.value, MentorRequest.expires_at <= utcnow()
        )
        if program is not None:
            due = due.where(MentorRequest.program_id == program.id)
        ids = list(
            db.session.execute(
                update(MentorRequest)
                .where(
                    MentorRequest.id.in_(due.order_by(MentorRequest.id).limit(EXPIRE_BATCH).scalar_subquery()),
                    MentorRequest.state == RequestState.PENDING.value,
                )
                .values(state=RequestState.EXPIRED.value, answered_at=MentorRequest.expires_at)
                .returning(MentorRequest.id)
                .execution_options(synchronize_session=False)
            ).scalars()
        )
        if not ids:
            return expired
        expired += len(ids)
        found = db.session.execute(
            select(MentorRequest)
            .where(MentorRequest.id.in_(ids))
            .order_by(MentorRequest.id)
            .options(*_WITH_PEOPLE)
            .execution_options(populate_existing=True)  # rows this session had loaded show their new state
        ).scalars()
        by_program: dict[tuple[int, str], list[RequestStep]] = {}
        for request in found:
            step = _step(request, MentorRequestEvent.EXPIRED, request.mentee.membership, request.expires_at)
            by_program.setdefault((request.program_id, request.tool_base), []).append(step)
        for (program_id, tool_base), steps in by_program.items():
            owner = program if program is not None else db.session.get(Program, program_id)
            assert owner is not None  # noqa: S101 (a program's requests are deleted with it)
            record_mentor_request_steps(owner, steps, settings=settings, tool_base=tool_base)
        if len(ids) < EXPIRE_BATCH:
            return expired


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
    return _settle(
        program,
        request,
        mentor.membership,
        RequestState.ACCEPTED if accept else RequestState.DECLINED,
        settings=settings,
        tool_base=tool_base,
    )


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
    return _settle(
        program,
        _pending(program, request_id),
        staff,
        RequestState.ACCEPTED if approve else RequestState.CANCELLED,
        settings=settings,
        tool_base=tool_base,
        by_staff=True,
    )


def _settle(
    program: Program,
    request: MentorRequest,
    by: Membership,
    state: RequestState,
    *,
    settings: Settings,
    tool_base: str,
    by_staff: bool = False,
) -> MentorRequest:
    now = utcnow()
    request.state, request.answered_at, request.answered_by_id = state.value, now, by.id
    accepted = state is RequestState.ACCEPTED
    if accepted:
        event = MentorRequestEvent.APPROVED if by_staff else MentorRequestEvent.ACCEPTED
    else:
        event = MentorRequestEvent.CANCELLED if by_staff else MentorRequestEvent.DECLINED
    # Recorded first: an acceptance's `matched` statement (of the new match) follows it.
    record_mentor_request_steps(program, [_step(request, event, by, now)], settings=settings, tool_base=tool_base)
    if accepted:
        _accept(program, request, settings=settings, tool_base=tool_base)
    return request


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
    """None unless the program runs two-sided self-match. Expires what is due first, so a mentee whose request
    lapsed is told so on their next visit (the caller commits)."""
    if not (program.self_match and program.mentor_accepts):
        return None
    expire_due(program, settings=settings)
    return HomeNotice(
        latest=latest_request(participant) if participant.wants_to_be_mentored else None,
        waiting_for_me=waiting_count(participant) if participant.wants_to_mentor else 0,
    )
