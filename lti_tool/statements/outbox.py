"""Writing statements to the outbox, choosing each one's LRS, and the LRS registrations administrators manage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update

from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.models import Platform
from lti_tool.settings import Settings
from lti_tool.statements.models import LrsEndpoint, LrsStatus, OutboxState, StatementOutbox
from xapi.client import LrsClient
from xapi.models import Statement


class LrsConfigError(MentorLtiError):
    """An LRS registration is invalid (bad URL, unknown platform)."""


def emit(statement: Statement, *, event: str, platform_id: int | None, course_id: int | None) -> StatementOutbox:
    """Queue a statement in the caller's transaction: it exists exactly when the change it records is committed."""
    row = StatementOutbox(**_queued(statement, event, platform_id, course_id))
    db.session.add(row)
    return row


_QUEUE = insert(StatementOutbox.__table__)  # built once: `emit_at_once` runs on every launch


def emit_at_once(statement: Statement, *, event: str, platform_id: int | None, course_id: int | None) -> None:
    """`emit` in one INSERT now, in the caller's transaction, without an ORM row to track and flush."""
    db.session.execute(_QUEUE, _queued(statement, event, platform_id, course_id))


def emit_many(statements: Sequence[Statement], *, event: str, platform_id: int | None, course_id: int | None) -> None:
    """`emit` for many statements of one event at once: one bulk insert, in the caller's transaction too."""
    if statements:
        db.session.execute(insert(StatementOutbox), [_queued(s, event, platform_id, course_id) for s in statements])


def _queued(statement: Statement, event: str, platform_id: int | None, course_id: int | None) -> dict[str, Any]:
    return {
        "statement_id": str(statement.id),
        "event": event,
        "body": statement.to_json_bytes().decode(),
        "platform_id": platform_id,
        "course_id": course_id,
        "state": OutboxState.PENDING.value,
        "next_attempt_at": utcnow(),
    }


@dataclass(frozen=True)
class LrsTarget:
    """Where a statement goes; `source` says where it was configured (for status, never the password)."""

    endpoint: str
    username: str
    password: str
    source: str

    def client(self, timeout: float) -> LrsClient:
        return LrsClient(self.endpoint, self.username, self.password, timeout=timeout)


def lrs_targets(settings: Settings) -> dict[int | None, LrsTarget]:
    """Configured LRSs by platform id; key None is the LRS shared with all platforms (`lrs add --all-platforms`,
    else the environment's MENTOR_LTI_LRS_*): a platform's statements go to its own LRS, else to that one."""
    targets: dict[int | None, LrsTarget] = {}
    if settings.lrs_endpoint:
        targets[None] = LrsTarget(
            settings.lrs_endpoint, settings.lrs_username, settings.lrs_password.get_secret_value(), "environment"
        )
    for row in db.session.execute(select(LrsEndpoint)).scalars():
        source = "all platforms" if row.platform_id is None else f"platform {row.platform_id}"
        targets[row.platform_id] = LrsTarget(row.endpoint, row.username, row.password, source)
    return targets


def target_for(targets: dict[int | None, LrsTarget], platform_id: int | None) -> LrsTarget | None:
    return targets.get(platform_id) or targets.get(None)


def set_lrs(*, endpoint: str, username: str, password: str, platform_name: str | None) -> LrsEndpoint:
    """Add or replace the LRS of a platform (or, None, the one shared with all). New credentials lift an
    authentication pause."""
    try:
        LrsClient(endpoint, username, password).close()  # validates the URL without contacting it
    except ValueError as error:
        raise LrsConfigError(f"Invalid LRS endpoint: {error}.") from error
    platform_id = None
    if platform_name:
        platform = db.session.execute(select(Platform).where(Platform.name == platform_name)).scalar_one_or_none()
        if platform is None:
            raise LrsConfigError(f"No platform named {platform_name!r}.", hint="Run `mentor-lti platform list`.")
        platform_id = platform.id
    row = db.session.execute(select(LrsEndpoint).where(_registered_for(platform_id))).scalar_one_or_none()
    if row is None:
        row = LrsEndpoint(platform_id=platform_id)
        db.session.add(row)
    row.endpoint, row.username, row.password = endpoint.rstrip("/"), username, password
    resume(row.endpoint)
    db.session.flush()
    return row


def remove_lrs(platform_name: str | None) -> None:
    platform_id = None
    if platform_name:
        platform_id = db.session.execute(select(Platform.id).where(Platform.name == platform_name)).scalar_one_or_none()
        if platform_id is None:
            raise LrsConfigError(f"No platform named {platform_name!r}.")
    deleted = db.session.execute(delete(LrsEndpoint).where(_registered_for(platform_id)))
    if not deleted.rowcount:  # type: ignore[attr-defined]
        raise LrsConfigError("No LRS is configured there.", hint="Run `mentor-lti lrs list`.")


def _registered_for(platform_id: int | None) -> ColumnElement[bool]:
    """The LRS registration of a platform, or (None) the one shared with all platforms."""
    return LrsEndpoint.platform_id.is_(None) if platform_id is None else LrsEndpoint.platform_id == platform_id


def list_lrs() -> list[tuple[LrsEndpoint, str | None]]:
    rows = db.session.execute(
        select(LrsEndpoint, Platform.name).outerjoin(Platform, Platform.id == LrsEndpoint.platform_id)
    ).all()
    return [(row, name) for row, name in rows]


def resume(endpoint: str | None = None) -> int:
    """Lift authentication pauses (of one endpoint, or all); answers how many were lifted.

    Pending statements become due now: those that waited for an LRS or for the pause to end were put off until
    a later recheck, and an administrator who just fixed the configuration expects the next flush to send them.
    """
    query = update(LrsStatus).where(LrsStatus.paused_reason.is_not(None))
    if endpoint:
        query = query.where(LrsStatus.endpoint == endpoint)
    lifted: int = db.session.execute(query.values(paused_reason=None)).rowcount  # type: ignore[attr-defined]
    now = utcnow()
    db.session.execute(
        update(StatementOutbox)
        .where(StatementOutbox.state == OutboxState.PENDING.value, StatementOutbox.next_attempt_at > now)
        .values(next_attempt_at=now)
    )
    return lifted


def state_counts(course_id: int | None = None) -> dict[str, int]:
    query = select(StatementOutbox.state, func.count(StatementOutbox.id)).group_by(StatementOutbox.state)
    if course_id is not None:
        query = query.where(StatementOutbox.course_id == course_id)
    counts = {state.value: 0 for state in OutboxState}
    counts.update({state: count for state, count in db.session.execute(query).all()})
    return counts


def dead_letters(course_id: int | None = None, limit: int = 50) -> list[StatementOutbox]:
    query = select(StatementOutbox).where(StatementOutbox.state == OutboxState.DEAD.value)
    if course_id is not None:
        query = query.where(StatementOutbox.course_id == course_id)
    return list(db.session.execute(query.order_by(StatementOutbox.id.desc()).limit(limit)).scalars())


def lrs_statuses() -> list[LrsStatus]:
    return list(db.session.execute(select(LrsStatus).order_by(LrsStatus.endpoint)).scalars())


def requeue(*, dead: bool, course_id: int | None = None, since: datetime | None = None) -> int:
    """Send statements again: dead letters after a fix (`dead`), or a course's whole history (backfill).

    Resending delivered statements is safe: the LRS recognises each id with the same content as already there.
    """
    states = [OutboxState.DEAD.value] if dead else [OutboxState.DEAD.value, OutboxState.DELIVERED.value]
    query = update(StatementOutbox).where(StatementOutbox.state.in_(states))
    if course_id is not None:
        query = query.where(StatementOutbox.course_id == course_id)
    if since is not None:
        query = query.where(StatementOutbox.created_at >= since)
    result = db.session.execute(
        query.values(state=OutboxState.PENDING.value, next_attempt_at=utcnow(), attempts=0, last_error=None)
    )
    resume()
    return result.rowcount  # type: ignore[attr-defined, no-any-return]
