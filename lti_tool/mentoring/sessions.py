"""The session log of a pair: one member logs a meeting, the others confirm or dispute it, edits keep a history
both can read, each member rates it and keeps a private note, and action items have owners.

Rules decided here (the pages explain them where they apply):
- Only the member who logged a session edits it. The others dispute it, saying what is wrong; an edit then
  clears every answer (kept in the revision) so each other member confirms the new version again.
- A confirmation stands for the version it confirmed; a dispute can be turned into a confirmation, or its reason
  updated. The logger never answers their own log.
- Only an action item's owner ticks it done (or opens it again): it records their own follow-through.
- An ended pair, or a member who left it, changes nothing: the log stays as the pair's record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from lti_tool.errors import NotAuthorised, NotFound
from lti_tool.extensions import db, utcnow
from lti_tool.mentoring.checkins import answer_open_requests
from lti_tool.mentoring.goals import day_text, moment_text
from lti_tool.mentoring.models import (
    ActionItem,
    ActionItemChange,
    MentoringSession,
    PrivateNote,
    RelationshipMember,
    SessionFormat,
    SessionRating,
    SessionResponse,
    SessionRevision,
    SessionStatus,
)
from lti_tool.mentoring.relationships import MentoringError, PairAccess, require_open
from lti_tool.settings import Settings
from lti_tool.statements.events import record_mentoring_session, void_mentoring_session_record
from xapi.events import AttendanceRecord

DURATION_RANGE = (5, 600)  # five minutes to a ten-hour workshop
# A session may start a little ahead of the clock (people round the start to the quarter hour, clocks differ).
FUTURE_MARGIN = timedelta(minutes=15)
# A pair may have met on the day its match was announced, before the instructor pressed "publish".
BEFORE_PAIR_MARGIN = timedelta(days=1)
MAX_TOPICS = 1000
MAX_NOTES = 5000
MAX_ACTION = 300
MAX_ACTIONS = 10
BLANK_ACTION_ROWS = 3
MAX_REASON = 2000
MAX_COMMENT = 1000

FORMAT_LABELS = {
    SessionFormat.IN_PERSON.value: "In person",
    SessionFormat.VIDEO.value: "Video call",
    SessionFormat.PHONE.value: "Phone call",
    SessionFormat.CHAT.value: "Chat",
}
STATUS_LABELS = {
    SessionStatus.LOGGED.value: "Awaiting confirmation",
    SessionStatus.CONFIRMED.value: "Confirmed",
    SessionStatus.DISPUTED.value: "Disputed",
}


class SessionEntryError(MentoringError):
    """A logged or edited session broke a rule of the pair; `field_errors` maps form field names to messages."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__(" ".join(field_errors.values()))
        self.field_errors = field_errors


@dataclass(frozen=True)
class ActionEntry:
    """An action item as entered; `row` is the form row it came from, so an error can stand next to it."""

    row: int
    text: str
    owner_id: int  # a participant id; 0 when none was chosen
    due_on: date | None


@dataclass(frozen=True)
class SessionEntry:
    """A session's shared fields as the member typed them: date and time on their own clock."""

    day: date
    start: time
    duration_minutes: int
    format: str
    topics: str
    skill_keys: tuple[str, ...]
    shared_notes: str
    actions: tuple[ActionEntry, ...] = ()


def clean_text(text: str) -> str:
    # Browsers send CRLF line ends from a textarea; store one kind.
    return text.replace("\r\n", "\n").strip()


# --- Time zones ---------------------------------------------------------------------------------------------------


def local_to_utc(day: date, start: time, timezone: str) -> datetime | None:
    """A wall-clock time in `timezone` as UTC; None when it does not exist there (skipped when clocks go forward).

    A time that happens twice (clocks going back) is read as the first of the two.
    """
    zone = ZoneInfo(timezone)
    local = datetime.combine(day, start, tzinfo=zone)
    moment = local.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return None
    return moment


def local_moment(moment: datetime, timezone: str) -> datetime:
    return moment.astimezone(ZoneInfo(timezone))


def local_date(moment: datetime, timezone: str) -> date:
    return local_moment(moment, timezone).date()


def _started_at(access: PairAccess, entry: SessionEntry, timezone: str, now: datetime) -> datetime:
    """When the session started, in UTC, if the pair could have met then; otherwise the errors, by field."""
    started = local_to_utc(entry.day, entry.start, timezone)
    errors: dict[str, str] = {}
    if started is None:
        errors["start"] = (
            f"{entry.start:%H:%M} does not exist on {day_text(entry.day)} in {timezone}: the clocks went forward "
            "that night. Enter the time your clock showed."
        )
    elif started > now + FUTURE_MARGIN:
        errors["day"] = (
            f"That is in the future: log a session once it has taken place. "
            f"It is now {moment_text(now, timezone)} in {timezone}."
        )
    else:
        earliest = access.relationship.created_at - BEFORE_PAIR_MARGIN
        if started < earliest:
            errors["day"] = (
                f"This pair started on {day_text(local_date(access.relationship.created_at, timezone))}: log "
                f"sessions from {moment_text(earliest, timezone)} on (a day early, for a first meeting on the day "
                "pairs were announced). Earlier meetings were not part of this pair."
            )
    errors.update(_action_errors(access, entry, timezone, started))
    if errors or started is None:
        raise SessionEntryError(errors)
    return started


def _action_errors(access: PairAccess, entry: SessionEntry, timezone: str, started: datetime | None) -> dict[str, str]:
    owners = {m.participant_id for m in access.active_members}
    session_day = local_date(started, timezone) if started is not None else entry.day
    errors: dict[str, str] = {}
    for action in entry.actions:
        if action.owner_id not in owners:
            errors[f"actions-{action.row}-owner"] = "Choose who in the pair will do it."
        if action.due_on is not None and action.due_on < session_day:
            errors[f"actions-{action.row}-due_on"] = (
                f"Choose a due date on or after the session's date, {day_text(session_day)}."
            )
    return errors


# --- Reading ------------------------------------------------------------------------------------------------------


def session_for(access: PairAccess, session_id: int) -> MentoringSession:
    """One of the pair's sessions; a session of another pair is not found, so a guessed id tells nothing."""
    found = db.session.get(MentoringSession, session_id)
    if found is None or found.relationship_id != access.relationship.id or not access.sees(found.created_at):
        raise NotFound("There is no such session in this pair.")
    return found


def _pair_sessions(access: PairAccess) -> list[MentoringSession]:
    return list(
        db.session.execute(
            select(MentoringSession)
            .where(
                MentoringSession.relationship_id == access.relationship.id, access.visible(MentoringSession.created_at)
            )
            .order_by(MentoringSession.started_at.desc(), MentoringSession.id.desc())
        ).scalars()
    )


def _by_session(model: Any, session_ids: list[int], *order: Any) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    if session_ids:
        for row in db.session.execute(
            select(model).where(model.session_id.in_(session_ids)).order_by(*order)
        ).scalars():
            found[row.session_id].append(row)
    return found


def action_items_of(mentoring_session: MentoringSession) -> list[ActionItem]:
    return _by_session(ActionItem, [mentoring_session.id], ActionItem.id)[mentoring_session.id]


def _responses(mentoring_session: MentoringSession) -> list[SessionResponse]:
    return _by_session(SessionResponse, [mentoring_session.id], SessionResponse.id)[mentoring_session.id]


def expected_responders(access: PairAccess, mentoring_session: MentoringSession) -> list[RelationshipMember]:
    """Who answers a session: every other member (as the viewer sees the pair) who was in it when it was logged
    (someone who joined a group later was not at its earlier sessions)."""
    logged_at = mentoring_session.created_at or utcnow()
    return [
        m for m in access.members if m.participant_id != mentoring_session.logged_by_id and m.joined_at <= logged_at
    ]


def _status_of(responses: Iterable[SessionResponse]) -> str:
    answers = {r.status for r in responses}
    if SessionStatus.DISPUTED.value in answers:
        return SessionStatus.DISPUTED.value
    if SessionStatus.CONFIRMED.value in answers:
        return SessionStatus.CONFIRMED.value
    return SessionStatus.LOGGED.value


@dataclass(frozen=True)
class SeenSession:
    """A session as the viewer may see it: as it is now, or for a member who left, as it was when they left."""

    session: MentoringSession
    action_items: list[ActionItem]
    responses: list[SessionResponse]
    ratings: list[SessionRating]


def _seen(
    access: PairAccess,
    sessions: list[MentoringSession],
    items: dict[int, list[ActionItem]],
    responses: dict[int, list[SessionResponse]],
    ratings: dict[int, list[SessionRating]],
) -> list[SeenSession]:
    """The sessions cut at the viewer's cut-off (see `PairAccess`). A session edited after it is shown as the
    version its first later revision kept; answers, ratings and ticks given after it are left out. The stand-ins
    built for that are never added to the database session."""
    cutoff = access.cutoff
    if cutoff is None:
        return [SeenSession(s, items[s.id], responses[s.id], ratings[s.id]) for s in sessions]
    ticks = _ticks([item.id for found in items.values() for item in found])
    later_edits: dict[int, SessionRevision] = {}
    for revision in db.session.execute(
        select(SessionRevision)
        .where(SessionRevision.session_id.in_([s.id for s in sessions]), SessionRevision.edited_at > cutoff)
        .order_by(SessionRevision.version.desc())
    ).scalars():
        later_edits[revision.session_id] = revision  # the lowest version wins: it holds the state at the cut-off
    seen = []
    for mentoring_session in sessions:
        later = later_edits.get(mentoring_session.id)
        if later is None:
            shown_items = [_as_seen(access, item, ticks[item.id]) for item in items[mentoring_session.id]]
            shown_responses = [r for r in responses[mentoring_session.id] if access.sees(r.responded_at)]
            fields, version = snapshot(mentoring_session, [], []), mentoring_session.version
        else:
            shown_responses = [
                SessionResponse(participant_id=a["participant_id"], status=a["status"], reason=a["reason"])
                for a in later.fields["responses"]
            ]
            shown_items = [
                ActionItem(owner_id=a["owner_id"], text=a["text"], due_on=_day(a["due_on"]))
                for a in later.fields["action_items"]
            ]
            fields, version = later.fields, later.version
        shown = _stand_in(mentoring_session, fields, version, shown_responses)
        shown_ratings = [r for r in ratings[mentoring_session.id] if access.sees(r.rated_at)]
        seen.append(SeenSession(shown, shown_items, shown_responses, shown_ratings))
    return seen


def _ticks(item_ids: list[int]) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Each item's ticks (when, and its `done_at` after), oldest first, read in one query."""
    found: dict[int, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    if item_ids:
        for change in db.session.execute(
            select(ActionItemChange)
            .where(ActionItemChange.action_item_id.in_(item_ids))
            .order_by(ActionItemChange.changed_at, ActionItemChange.id)
        ).scalars():
            found[change.action_item_id].append((change.changed_at, change.done_at))
    return found


def _as_seen(access: PairAccess, item: ActionItem, ticks: list[tuple[datetime, datetime | None]]) -> ActionItem:
    """The item ticked off, or not, as its last tick up to the viewer's cut-off left it (a transient stand-in when
    that differs from now, never added to the database session)."""
    done_at = access.as_it_was(item.done_at, ticks, None)
    if done_at == item.done_at:
        return item
    return ActionItem(
        id=item.id,
        session_id=item.session_id,
        owner_id=item.owner_id,
        text=item.text,
        due_on=item.due_on,
        done_at=done_at,
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _stand_in(
    mentoring_session: MentoringSession, fields: dict[str, Any], version: int, responses: list[SessionResponse]
) -> MentoringSession:
    """The session with the shared `fields` of a snapshot and the status its `responses` give, as a transient
    object that is never added to the database session."""
    return MentoringSession(
        id=mentoring_session.id,
        relationship_id=mentoring_session.relationship_id,
        logged_by_id=mentoring_session.logged_by_id,
        created_at=mentoring_session.created_at,
        started_at=datetime.fromisoformat(fields["started_at"]),
        timezone=fields["timezone"],
        duration_minutes=fields["duration_minutes"],
        format=fields["format"],
        topics=fields["topics"],
        skill_keys=list(fields["skill_keys"]),
        shared_notes=fields["shared_notes"],
        status=_status_of(responses),
        version=version,
    )


@dataclass(frozen=True)
class SessionCard:
    """A session as one member sees it: times in their zone, who answered and who is still to, what they may do."""

    session: MentoringSession
    when: str
    logged_as: str | None  # the time as it was entered, when that zone is not the viewer's
    format_label: str
    status_label: str
    skills: list[str]
    responses: list[SessionResponse]
    waiting_for: list[int]  # participant ids of the expected responders who have not answered
    my_response: SessionResponse | None
    action_items: list[ActionItem]
    ratings: list[SessionRating]
    has_private_note: bool
    may_answer: bool
    may_edit: bool
    may_change: bool  # rate, keep a private note, tick own action items

    @property
    def edited(self) -> bool:
        return self.session.version > 1

    @property
    def may_confirm(self) -> bool:
        return self.may_answer and (
            self.my_response is None or self.my_response.status != SessionStatus.CONFIRMED.value
        )

    @property
    def disputes(self) -> list[SessionResponse]:
        return [r for r in self.responses if r.status == SessionStatus.DISPUTED.value]

    @property
    def confirmations(self) -> list[SessionResponse]:
        return [r for r in self.responses if r.status == SessionStatus.CONFIRMED.value]

    @property
    def open_action_items(self) -> list[ActionItem]:
        return [item for item in self.action_items if item.done_at is None]

    @property
    def done_action_items(self) -> list[ActionItem]:
        return [item for item in self.action_items if item.done_at is not None]


def session_cards(access: PairAccess, sessions: list[MentoringSession]) -> list[SessionCard]:
    """Cards for `sessions`, with their answers, ratings and action items read in one query each."""
    ids = [s.id for s in sessions]
    seen = _seen(
        access,
        sessions,
        _by_session(ActionItem, ids, ActionItem.id),
        _by_session(SessionResponse, ids, SessionResponse.id),
        _by_session(SessionRating, ids, SessionRating.id),
    )
    noted = set(
        db.session.execute(
            select(PrivateNote.session_id).where(
                PrivateNote.session_id.in_(ids), PrivateNote.author_id == access.me.participant_id
            )
        ).scalars()
    )
    me = access.me.participant
    skill_names = {skill.key: skill.name for skill in access.relationship.program.skills}
    is_open = access.is_open
    cards = []
    for view in seen:
        mentoring_session = view.session
        answered = {r.participant_id: r for r in view.responses}
        expected = [m.participant_id for m in expected_responders(access, mentoring_session)]
        cards.append(
            SessionCard(
                session=mentoring_session,
                when=moment_text(mentoring_session.started_at, me.timezone),
                logged_as=(
                    f"{moment_text(mentoring_session.started_at, mentoring_session.timezone)} "
                    f"in {mentoring_session.timezone}"
                    if mentoring_session.timezone != me.timezone
                    else None
                ),
                format_label=FORMAT_LABELS.get(mentoring_session.format, mentoring_session.format),
                status_label=STATUS_LABELS.get(mentoring_session.status, mentoring_session.status),
                skills=[skill_names.get(key, key) for key in mentoring_session.skill_keys],
                responses=view.responses,
                waiting_for=[pid for pid in expected if pid not in answered],
                my_response=answered.get(me.id),
                action_items=view.action_items,
                ratings=view.ratings,
                has_private_note=mentoring_session.id in noted,
                may_answer=is_open and me.id in expected,
                may_edit=is_open and mentoring_session.logged_by_id == me.id,
                may_change=is_open,
            )
        )
    return cards


def participant_names(access: PairAccess) -> dict[int, str]:
    """Display names of everyone who was ever in the pair, by participant id; the viewer is "you"."""
    return {
        m.participant_id: "you" if m.id == access.me.id else m.participant.membership.user.display_name
        for m in access.known_members
    }


def page_context(access: PairAccess) -> dict[str, Any]:
    """What the session templates (session_macros.html) read besides the sessions: names, zone, date format."""
    return {
        "session_names": participant_names(access),
        "session_zone": access.me.participant.timezone,
        "session_day_text": day_text,
    }


def section(access: PairAccess, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The pair page's session log, newest first, and the form to log one (`forms["log_form"]` after errors)."""
    from lti_tool.mentoring import session_forms  # here, not at the top: the forms import this module's rules

    forms = forms or {}
    cards = session_cards(access, _pair_sessions(access))
    return {
        **page_context(access),
        "session_cards": cards,
        "sessions_open": access.is_open,
        "sessions_awaiting_me": [card for card in cards if card.may_answer and card.my_response is None],
        "log_form": (forms.get("log_form") or session_forms.SessionForm.for_pair(access)) if access.is_open else None,
    }


# --- Logging and editing ------------------------------------------------------------------------------------------


def log_session(
    access: PairAccess,
    entry: SessionEntry,
    private_note: str,
    *,
    settings: Settings,
    tool_base: str,
    now: datetime | None = None,
) -> MentoringSession:
    """The viewer logs a session they had, entered on their own clock; the others are asked to confirm it.

    Sends the logger's `attended` statement and answers the pair's open check-in requests, in this transaction.
    """
    require_open(access)
    now = now or utcnow()
    me = access.me
    timezone = me.participant.timezone
    started = _started_at(access, entry, timezone, now)
    mentoring_session = MentoringSession(
        relationship=access.relationship,
        logged_by_id=me.participant_id,
        started_at=started,
        timezone=timezone,
        duration_minutes=entry.duration_minutes,
        format=entry.format,
        topics=clean_text(entry.topics),
        skill_keys=list(entry.skill_keys),
        shared_notes=clean_text(entry.shared_notes),
        status=SessionStatus.LOGGED.value,
        version=1,
        created_at=now,
    )
    db.session.add(mentoring_session)
    db.session.flush()
    _apply_actions(mentoring_session, [], entry.actions, now)
    _write_private_note(mentoring_session, me.participant_id, private_note)
    answer_open_requests(access.relationship, answered_at=now)
    record_mentoring_session(mentoring_session, me, AttendanceRecord.LOGGED, settings=settings, tool_base=tool_base)
    return mentoring_session


def require_logger(access: PairAccess, mentoring_session: MentoringSession) -> None:
    """Only the member who logged a session edits it (see the module's docstring for why)."""
    require_open(access)
    if mentoring_session.logged_by_id != access.me.participant_id:
        logger = participant_names(access).get(mentoring_session.logged_by_id, "the member who logged it")
        raise NotAuthorised(
            f"Only {logger}, who logged this session, can edit it.",
            hint="If something in it is wrong, dispute it and say what: they can then correct it.",
        )


def edit_session(
    access: PairAccess,
    mentoring_session: MentoringSession,
    entry: SessionEntry,
    *,
    settings: Settings,
    tool_base: str,
    now: datetime | None = None,
) -> bool:
    """The logger changes a session's shared fields; False if nothing changed (and nothing is written).

    The previous values, and the answers they had, are kept as a SessionRevision and the version goes up. Every
    answer is cleared, so the others confirm the new version. In the LRS, statements are never edited: the
    previous version's `attended` statements (the logger's, and each confirmation) are voided, and the logger's
    is sent again with the new duration and start; confirmations follow when the others confirm again.
    """
    require_logger(access, mentoring_session)
    now = now or utcnow()
    me = access.me
    timezone = me.participant.timezone
    started = _started_at(access, entry, timezone, now)
    items = action_items_of(mentoring_session)
    responses = _responses(mentoring_session)
    before = snapshot(mentoring_session, items, responses)
    topics, shared_notes = clean_text(entry.topics), clean_text(entry.shared_notes)
    proposed = {
        "started_at": started.isoformat(),
        "duration_minutes": entry.duration_minutes,
        "format": entry.format,
        "topics": topics,
        "skill_keys": list(entry.skill_keys),
        "shared_notes": shared_notes,
        "action_items": _proposed_actions(items, entry.actions),
    }
    if all(before[key] == value for key, value in proposed.items()):
        return False

    void_mentoring_session_record(
        mentoring_session, me, AttendanceRecord.LOGGED, settings=settings, tool_base=tool_base
    )
    members = {m.participant_id: m for m in access.relationship.members}
    for response in responses:
        if response.status == SessionStatus.CONFIRMED.value:
            void_mentoring_session_record(
                mentoring_session,
                members[response.participant_id],
                AttendanceRecord.CONFIRMED,
                settings=settings,
                tool_base=tool_base,
            )
        db.session.delete(response)
    db.session.add(
        SessionRevision(
            session_id=mentoring_session.id,
            version=mentoring_session.version,
            edited_by_id=me.participant_id,
            edited_at=now,
            fields=before,
        )
    )
    mentoring_session.started_at = started
    mentoring_session.timezone = timezone
    mentoring_session.duration_minutes = entry.duration_minutes
    mentoring_session.format = entry.format
    mentoring_session.topics = topics
    mentoring_session.skill_keys = list(entry.skill_keys)
    mentoring_session.shared_notes = shared_notes
    mentoring_session.status = SessionStatus.LOGGED.value
    mentoring_session.version += 1
    _apply_actions(mentoring_session, items, entry.actions, now)
    record_mentoring_session(mentoring_session, me, AttendanceRecord.LOGGED, settings=settings, tool_base=tool_base)
    return True


def _apply_actions(
    mentoring_session: MentoringSession, items: list[ActionItem], actions: Iterable[ActionEntry], now: datetime
) -> None:
    """Rows 0..n-1 of the form hold the existing items in order: a row left blank removes its item, a filled
    row updates it (a new owner starts it over as not done, kept as an untick), and rows after those add items."""
    by_row = {action.row: action for action in actions}
    for row, item in enumerate(items):
        action = by_row.pop(row, None)
        if action is None:
            db.session.delete(item)
            continue
        if item.owner_id != action.owner_id:
            _tick(item, False, now)
        item.text, item.owner_id, item.due_on = clean_text(action.text), action.owner_id, action.due_on
    for action in sorted(by_row.values(), key=lambda a: a.row):
        db.session.add(
            ActionItem(
                session_id=mentoring_session.id,
                text=clean_text(action.text),
                owner_id=action.owner_id,
                due_on=action.due_on,
            )
        )


def _action_fields(text: str, owner_id: int, due_on: date | None) -> dict[str, Any]:
    return {"text": text, "owner_id": owner_id, "due_on": due_on.isoformat() if due_on else None}


def _proposed_actions(items: list[ActionItem], actions: Iterable[ActionEntry]) -> list[dict[str, Any]]:
    by_row = {action.row: action for action in actions}
    kept = [by_row.pop(row) for row in range(len(items)) if row in by_row]
    added = sorted(by_row.values(), key=lambda a: a.row)
    return [_action_fields(clean_text(a.text), a.owner_id, a.due_on) for a in [*kept, *added]]


def snapshot(
    mentoring_session: MentoringSession, items: list[ActionItem], responses: list[SessionResponse]
) -> dict[str, Any]:
    """A session's shared fields, its action items and the answers it had, as a revision keeps them (JSON)."""
    return {
        "started_at": mentoring_session.started_at.isoformat(),
        "timezone": mentoring_session.timezone,
        "duration_minutes": mentoring_session.duration_minutes,
        "format": mentoring_session.format,
        "topics": mentoring_session.topics,
        "skill_keys": list(mentoring_session.skill_keys),
        "shared_notes": mentoring_session.shared_notes,
        "action_items": [_action_fields(item.text, item.owner_id, item.due_on) for item in items],
        "responses": [{"participant_id": r.participant_id, "status": r.status, "reason": r.reason} for r in responses],
    }


# --- Answers ------------------------------------------------------------------------------------------------------


def _require_responder(access: PairAccess, mentoring_session: MentoringSession) -> SessionResponse | None:
    """The viewer's current answer, if they may answer this session at all."""
    require_open(access)
    if mentoring_session.logged_by_id == access.me.participant_id:
        raise NotAuthorised(
            "You logged this session, so you cannot confirm or dispute it yourself.",
            hint="The others in the pair confirm it; edit it if something in it is wrong.",
        )
    if access.me not in expected_responders(access, mentoring_session):
        raise NotAuthorised("You joined this pair after this session was logged, so it is not yours to answer.")
    return next((r for r in _responses(mentoring_session) if r.participant_id == access.me.participant_id), None)


def _answer(
    access: PairAccess, mentoring_session: MentoringSession, response: SessionResponse | None, status: str, reason: str
) -> None:
    """Record the viewer's answer and the session's status that follows from all the answers."""
    if response is None:
        response = SessionResponse(session_id=mentoring_session.id, participant_id=access.me.participant_id)
        db.session.add(response)
    response.status, response.reason, response.responded_at = status, reason, utcnow()
    db.session.flush()
    mentoring_session.status = _status_of(_responses(mentoring_session))


def confirm_session(
    access: PairAccess, mentoring_session: MentoringSession, *, settings: Settings, tool_base: str
) -> None:
    """The viewer confirms they attended this version of the log, sending their own `attended` statement."""
    response = _require_responder(access, mentoring_session)
    if response is not None and response.status == SessionStatus.CONFIRMED.value:
        raise MentoringError("You have already confirmed this session.")
    _answer(access, mentoring_session, response, SessionStatus.CONFIRMED.value, "")
    record_mentoring_session(
        mentoring_session, access.me, AttendanceRecord.CONFIRMED, settings=settings, tool_base=tool_base
    )


def dispute_session(access: PairAccess, mentoring_session: MentoringSession, reason: str) -> None:
    """The viewer disputes the log with a reason (checked by the form); a dispute may be reworded, but a
    confirmation stands until the logger edits the session."""
    response = _require_responder(access, mentoring_session)
    if response is not None and response.status == SessionStatus.CONFIRMED.value:
        raise MentoringError(
            "You have confirmed this version of the session.",
            hint="If something in it is wrong, ask the member who logged it to edit it: you will then answer again.",
        )
    _answer(access, mentoring_session, response, SessionStatus.DISPUTED.value, clean_text(reason))


# --- Ratings, private notes, action items -------------------------------------------------------------------------


def rating_of(access: PairAccess, mentoring_session: MentoringSession) -> SessionRating | None:
    return db.session.execute(
        select(SessionRating).where(
            SessionRating.session_id == mentoring_session.id,
            SessionRating.participant_id == access.me.participant_id,
        )
    ).scalar_one_or_none()


def rate_session(access: PairAccess, mentoring_session: MentoringSession, rating: int, comment: str) -> None:
    """The viewer rates the session from 1 to 5 (the form checks the range), again if they change their mind."""
    require_open(access)
    found = rating_of(access, mentoring_session)
    if found is None:
        found = SessionRating(session_id=mentoring_session.id, participant_id=access.me.participant_id)
        db.session.add(found)
    found.rating, found.comment, found.rated_at = rating, clean_text(comment), utcnow()


def private_note_of(access: PairAccess, mentoring_session: MentoringSession) -> PrivateNote | None:
    """The viewer's own private note on a session. Nobody else's is ever read: not the other members', and
    staff pages have no path to this table."""
    return _note(mentoring_session, access.me.participant_id)


def _note(mentoring_session: MentoringSession, author_id: int) -> PrivateNote | None:
    return db.session.execute(
        select(PrivateNote).where(PrivateNote.session_id == mentoring_session.id, PrivateNote.author_id == author_id)
    ).scalar_one_or_none()


def save_private_note(access: PairAccess, mentoring_session: MentoringSession, text: str) -> bool:
    """The viewer's own note on the session; an empty note removes it. True if a note is kept."""
    require_open(access)
    return _write_private_note(mentoring_session, access.me.participant_id, text)


def _write_private_note(mentoring_session: MentoringSession, author_id: int, text: str) -> bool:
    text = clean_text(text)
    found = _note(mentoring_session, author_id)
    if not text:
        if found is not None:
            db.session.delete(found)
        return False
    if found is None:
        db.session.add(PrivateNote(session_id=mentoring_session.id, author_id=author_id, text=text))
    else:
        found.text = text
    return True


def mark_action_item(access: PairAccess, mentoring_session: MentoringSession, item_id: int, done: bool) -> ActionItem:
    """The item's owner ticks it done, or opens it again; ticking twice keeps the first time."""
    require_open(access)
    item = db.session.get(ActionItem, item_id)
    if item is None or item.session_id != mentoring_session.id:
        raise NotFound("There is no such action item in this session.")
    if item.owner_id != access.me.participant_id:
        raise NotAuthorised(
            f"Only {participant_names(access).get(item.owner_id, 'its owner')} can tick this action item.",
            hint="Each member ticks their own action items.",
        )
    _tick(item, done, utcnow())
    return item


def _tick(item: ActionItem, done: bool, now: datetime) -> None:
    """The one writer of an action item's done state: each tick and untick is kept, for whoever left the pair
    before it."""
    if done == (item.done_at is not None):
        return
    item.done_at = now if done else None
    item.changes.append(ActionItemChange(done_at=item.done_at, changed_at=now))


# --- History ------------------------------------------------------------------------------------------------------

_SHARED_FIELDS = (
    ("started_at", "When"),
    ("duration_minutes", "Duration"),
    ("format", "Format"),
    ("topics", "Topics"),
    ("skill_keys", "Skills practised"),
    ("shared_notes", "Shared notes"),
    ("action_items", "Action items"),
)


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Answer:
    name: str
    status: str
    reason: str


@dataclass(frozen=True)
class HistoryStep:
    """One version of a session's log: who made it and when, what it changed, and the answers it replaced."""

    version: int
    by: str
    at: str
    values: list[tuple[str, str]]
    changes: list[Change]
    answers_before: list[Answer]


def session_history(access: PairAccess, mentoring_session: MentoringSession) -> list[HistoryStep]:
    """Every version of the session's shared fields, newest first, described in the viewer's time zone."""
    revisions = list(
        db.session.execute(
            select(SessionRevision)
            .where(SessionRevision.session_id == mentoring_session.id)
            .order_by(SessionRevision.version)
        ).scalars()
    )
    # A member who left reads the versions up to their cut-off: the first later revision holds the one they saw.
    later = [revision for revision in revisions if not access.sees(revision.edited_at)]
    revisions = revisions[: len(revisions) - len(later)]
    names = participant_names(access)
    skill_names = {skill.key: skill.name for skill in access.relationship.program.skills}
    timezone = access.me.participant.timezone
    answers = [r for r in _responses(mentoring_session) if access.sees(r.responded_at)]
    current = later[0].fields if later else snapshot(mentoring_session, action_items_of(mentoring_session), answers)
    states = [revision.fields for revision in revisions] + [current]
    described = [_describe(state, names, skill_names, timezone) for state in states]
    steps = []
    for index in range(len(states)):
        if index == 0:
            by, at = mentoring_session.logged_by_id, mentoring_session.created_at
        else:
            by, at = revisions[index - 1].edited_by_id, revisions[index - 1].edited_at
        changes = []
        if index > 0:
            changes = [
                Change(label, described[index - 1][label], described[index][label])
                for label in described[index]
                if described[index - 1][label] != described[index][label]
            ]
        steps.append(
            HistoryStep(
                version=index + 1,
                by=names.get(by, "a former member"),
                at=moment_text(at, timezone),
                values=list(described[index].items()),
                changes=changes,
                answers_before=[
                    Answer(names.get(a["participant_id"], "a former member"), a["status"], a["reason"])
                    for a in states[index - 1]["responses"]
                ]
                if index > 0
                else [],
            )
        )
    return list(reversed(steps))


def _describe(
    state: dict[str, Any], names: dict[int, str], skill_names: dict[str, str], timezone: str
) -> dict[str, str]:
    def action(item: dict[str, Any]) -> str:
        due = f", due {day_text(date.fromisoformat(item['due_on']))}" if item["due_on"] else ""
        return f"{item['text']} ({names.get(item['owner_id'], 'a former member')}{due})"

    values = {
        "started_at": moment_text(datetime.fromisoformat(state["started_at"]), timezone),
        "duration_minutes": f"{state['duration_minutes']} minutes",
        "format": FORMAT_LABELS.get(state["format"], state["format"]),
        "topics": state["topics"] or "none",
        "skill_keys": ", ".join(skill_names.get(key, key) for key in state["skill_keys"]) or "none",
        "shared_notes": state["shared_notes"] or "none",
        "action_items": "; ".join(action(item) for item in state["action_items"]) or "none",
    }
    return {label: values[key] for key, label in _SHARED_FIELDS}
