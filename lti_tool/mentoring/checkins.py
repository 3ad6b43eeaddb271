"""Check-ins: whether a relationship keeps its program's cadence, and members asking each other to meet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.goals import day_text, moment_text
from lti_tool.mentoring.models import CheckinRequest, Goal, Relationship
from lti_tool.mentoring.relationships import (
    CheckinStatus,
    MentoringError,
    PairAccess,
    checkin_status,
    last_meetings,
    relationships_of,
    require_open,
    waiting_on,
)
from lti_tool.programs.models import Participant
from lti_tool.settings import Settings
from lti_tool.statements.events import record_checkin_requested

MAX_MESSAGE = 500
REPEAT_AFTER = timedelta(hours=24)  # one nudge a day is a reminder; more would be nagging


@dataclass(frozen=True)
class CheckinView:
    """A relationship's cadence as one member reads it, dates in their own time zone."""

    every_days: int
    status: CheckinStatus
    started_on: date
    last_met_on: date | None
    due_on: date

    @property
    def notice(self) -> str:
        """One line on where the pair stands, e.g. "Overdue by 5 days — last met 03 Nov 2025"."""
        if self.last_met_on is not None:
            since = f"last met {day_text(self.last_met_on)}"
        else:
            since = f"no session logged since the pair started on {day_text(self.started_on)}"
        if not self.status.overdue:
            return f"Next check-in due by {day_text(self.due_on)} — {since}"
        days = self.status.days_overdue
        overdue = "Overdue since today" if days < 1 else f"Overdue by {days} day{'s' if days != 1 else ''}"
        return f"{overdue} — {since}"


def checkin_view(relationship: Relationship, last_met: datetime | None, timezone: str) -> CheckinView:
    """`relationships.checkin_status` (the one rule for "overdue") with its dates in the viewer's zone."""
    zone = ZoneInfo(timezone)
    status = checkin_status(relationship, last_met)
    return CheckinView(
        every_days=relationship.program.checkin_every_days,
        status=status,
        started_on=relationship.created_at.astimezone(zone).date(),
        last_met_on=last_met.astimezone(zone).date() if last_met else None,
        due_on=status.due.astimezone(zone).date(),
    )


@dataclass(frozen=True)
class RequestView:
    """An open check-in request: "X asked for a check-in on <date>: <message>"."""

    name: str
    mine: bool
    asked_at: str
    message: str
    recent: bool  # asked within REPEAT_AFTER: its author cannot ask again yet


def _asked_recently(requests: list[RequestView]) -> bool:
    """Whether the viewer's own request is open and recent: the form to ask again is not offered then."""
    return any(r.mine and r.recent for r in requests)


def open_requests(relationship_ids: list[int], *, until: datetime | None = None) -> dict[int, list[CheckinRequest]]:
    """The unanswered check-in requests per relationship, oldest first; or those open at `until` (a member's
    cut-off, see `PairAccess`) if given."""
    found: dict[int, list[CheckinRequest]] = {rid: [] for rid in relationship_ids}
    still_open = (
        CheckinRequest.answered_at.is_(None)
        if until is None
        else and_(
            CheckinRequest.created_at <= until,
            or_(CheckinRequest.answered_at.is_(None), CheckinRequest.answered_at > until),
        )
    )
    if relationship_ids:
        rows = db.session.execute(
            select(CheckinRequest)
            .where(CheckinRequest.relationship_id.in_(relationship_ids), still_open)
            .order_by(CheckinRequest.created_at, CheckinRequest.id)
            .options(selectinload(CheckinRequest.requested_by).selectinload(Participant.membership))
        ).scalars()
        for row in rows:
            found[row.relationship_id].append(row)
    return found


def _request_views(requests: list[CheckinRequest], viewer: Participant) -> list[RequestView]:
    now = utcnow()
    return [
        RequestView(
            name=r.requested_by.membership.user.display_name,
            mine=r.requested_by_id == viewer.id,
            asked_at=moment_text(r.created_at, viewer.timezone),
            message=r.message,
            recent=now - r.created_at < REPEAT_AFTER,
        )
        for r in requests
    ]


def request_checkin(access: PairAccess, message: str, *, settings: Settings, tool_base: str) -> CheckinRequest:
    """The viewer asks the others to meet; a second request while their last one is open and recent is refused."""
    require_open(access)
    message = message.replace("\r\n", "\n").strip()
    if len(message) > MAX_MESSAGE:
        raise MentoringError(f"Keep your message under {MAX_MESSAGE} characters.")
    me = access.me.participant
    relationship = access.relationship
    earlier = db.session.execute(
        select(CheckinRequest.created_at).where(
            CheckinRequest.relationship_id == relationship.id,
            CheckinRequest.requested_by_id == me.id,
            CheckinRequest.answered_at.is_(None),
            CheckinRequest.created_at > utcnow() - REPEAT_AFTER,
        )
    ).scalar()
    if earlier is not None:
        raise MentoringError(
            f"You already asked for a check-in on {moment_text(earlier, me.timezone)}.",
            hint="It is answered when one of you logs your next session; you can ask again a day after asking.",
        )
    request = CheckinRequest(relationship_id=relationship.id, requested_by=me, message=message, created_at=utcnow())
    db.session.add(request)
    db.session.flush()
    record_checkin_requested(request, settings=settings, tool_base=tool_base)
    return request


def answer_open_requests(relationship: Relationship, *, answered_at: datetime | None = None) -> int:
    """A session was logged: every open check-in request of the relationship is answered. The sessions service
    calls this in the transaction that logs the session; returns how many requests it answered."""
    when = answered_at or utcnow()
    answered = open_requests([relationship.id])[relationship.id]
    for request in answered:
        request.answered_at = when
    return len(answered)


def section(access: PairAccess) -> dict[str, Any]:
    """When the pair last met, whether it is overdue, and the open check-in requests."""
    relationship = access.relationship
    me = access.me.participant
    last_met = last_meetings([relationship.id], until=access.cutoff).get(relationship.id)
    requests = _request_views(open_requests([relationship.id], until=access.cutoff)[relationship.id], me)
    return {
        "checkin": checkin_view(relationship, last_met, me.timezone),
        "checkin_requests": requests,
        "checkin_may_request": access.is_open and not _asked_recently(requests),
        "checkin_max_message": MAX_MESSAGE,
    }


# --- The learner's home ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairSummary:
    """One of a learner's open relationships, as their home lists it."""

    relationship_id: int
    others: list[str]
    agreement_waits_on_me: bool
    checkin: CheckinView
    requests: list[RequestView]
    has_goals: bool

    @property
    def may_request(self) -> bool:
        return not _asked_recently(self.requests)

    @property
    def next_step(self) -> str:
        """What the pair does next, from where it stands: "agreement" (accept it), "first-meeting" (agree on
        one and meet), "goals" (met but set none) or "next-session" (meet again and log it)."""
        if self.agreement_waits_on_me:
            return "agreement"
        if self.checkin.last_met_on is None:
            return "first-meeting"
        return "next-session" if self.has_goals else "goals"


def home_pairs(participant: Participant) -> list[PairSummary]:
    """The participant's open relationships, with what waits on them in each."""
    relationships = [r for r in relationships_of(participant) if r.ended_at is None]
    ids = [r.id for r in relationships]
    met, requests = last_meetings(ids), open_requests(ids)
    with_goals = set(db.session.execute(select(Goal.relationship_id).where(Goal.relationship_id.in_(ids))).scalars())
    summaries = []
    for relationship in relationships:
        active = [m for m in relationship.members if m.left_at is None]
        summaries.append(
            PairSummary(
                relationship_id=relationship.id,
                others=[
                    m.participant.membership.user.display_name for m in active if m.participant_id != participant.id
                ],
                agreement_waits_on_me=any(m.participant_id == participant.id for m in waiting_on(relationship)),
                checkin=checkin_view(relationship, met.get(relationship.id), participant.timezone),
                requests=_request_views(requests[relationship.id], participant),
                has_goals=relationship.id in with_goals,
            )
        )
    return summaries
