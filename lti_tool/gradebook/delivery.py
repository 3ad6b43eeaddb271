"""Posts queued scores to the LMS gradebook through LTI Assignment and Grade Services 2.0, durably.

Like the statement outbox: any number of workers claim due rows under a lease, post them outside the claim's
transaction, then settle them. An LMS outage (or throttling) sends a score back to pending with exponential
backoff (at least Retry-After); a score the LMS refuses for good (the learner left the course) is parked, shown to
the instructor, and sent again by a resync. A retry sends exactly what the first attempt sent, timestamp
included; a score changed meanwhile is a new version with a later timestamp, and both LMSs refuse a score older
than the one they hold, so the gradebook can never go back to an older score. Moodle also refuses (409) a repeat
of the score it holds, e.g. the retry of a post whose answer was lost: that means it has the score. Canvas refuses
(400) a score whose timestamp is earlier than its own last update of the learner's result, by its clock: a repeat
of the score it holds, and a score given while the previous one was on its way. The tool then reads the learner's
result: holding this very score, it is delivered; holding another while this version is still the newest, it is
posted once more with a current timestamp; else a newer version is on its way, or the refusal stands (parked).

The round's line item is found or created on first delivery: the line item of a graded link the instructor placed
by deep linking, else one found by its `resourceId`, else a new one, then remembered in `gradebook_column`. A link
placed later takes over at its first launch (gradebook.placement).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import Table, and_, bindparam, case, or_, select, update

from lti_tool.courses.models import Course, Membership, ResourceLink
from lti_tool.deep_linking.services import LINE_ITEM_TAG, line_item_resource_id
from lti_tool.extensions import UTCDateTime, db, utcnow
from lti_tool.gradebook.models import GradebookColumn, ScoreOutbox, ScoreState
from lti_tool.gradebook.placement import placed_line_item
from lti_tool.gradebook.services import TIMESTAMP_STEP, service_problem
from lti_tool.lti.models import Platform
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.lti.services import ServiceClient, ServiceError
from lti_tool.lti.tool_configuration import AGS_LINEITEM, AGS_LINEITEM_READONLY, AGS_RESULT_READONLY, AGS_SCORE
from lti_tool.outboxes import claim_statement, poll_until_stopped
from lti_tool.runtime import runtime
from lti_tool.settings import Settings
from xapi.client import backoff_delay

log = logging.getLogger(__name__)

LINE_ITEM_MEDIA = "application/vnd.ims.lis.v2.lineitem+json"
LINE_ITEMS_MEDIA = "application/vnd.ims.lis.v2.lineitemcontainer+json"
SCORE_MEDIA = "application/vnd.ims.lis.v1.score+json"
RESULTS_MEDIA = "application/vnd.ims.lis.v2.resultcontainer+json"
BATCH_SIZE = 10
NO_SERVICE_RECHECK = timedelta(minutes=5)  # scores of a course without the gradebook service wait this long
RETRY_FLOOR_SECONDS = 5.0  # the shortest wait before a retry (backoff's full jitter may draw almost 0)


@dataclass(frozen=True)
class ClaimedScore:
    """A claimed outbox row as plain data: the score exactly as it stood when claimed, with its version."""

    id: int
    version: int
    column_id: int
    membership_id: int
    attempts: int
    score_given: float | None
    score_maximum: float
    activity_progress: str
    grading_progress: str
    scored_at: datetime


@dataclass
class ScoreReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    refused: int = 0
    waiting: int = 0  # the course has no gradebook service from the LMS yet
    errors: list[str] = field(default_factory=list)

    def add(self, other: ScoreReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.refused += other.refused
        self.waiting += other.waiting
        self.errors += other.errors

    def summary(self) -> str:
        return (
            f"{self.delivered} scores delivered, {self.retrying} to retry, {self.refused} refused by the LMS, "
            f"{self.waiting} waiting for the gradebook service"
        )


_outbox = cast(Table, ScoreOutbox.__table__)


def lease_seconds(settings: Settings, limit: int) -> float:
    """How long a worker holds a batch: every request of it timing out (a token, finding or creating the line
    item, one post per score), twice over. A lease that ran out early would only send a score twice."""
    return (limit + 3) * settings.platform_http_timeout_seconds * 2


def claim_scores(settings: Settings, limit: int = BATCH_SIZE) -> list[ClaimedScore]:
    """Claim up to `limit` due scores (pending ones whose time came, and ones whose worker died mid-send) and
    commit the claim."""
    t, now = _outbox.c, utcnow()
    due = or_(
        and_(t.state == ScoreState.PENDING.value, t.next_attempt_at <= bindparam("now", type_=UTCDateTime())),
        and_(t.state == ScoreState.SENDING.value, t.lease_until < bindparam("now", type_=UTCDateTime())),
    )
    statement = claim_statement(
        _outbox,
        due=due,
        order=(t.next_attempt_at, t.id),
        values={"state": ScoreState.SENDING.value, "lease_until": bindparam("until", type_=UTCDateTime())},
        returning=(
            t.id,
            t.version,
            t.column_id,
            t.membership_id,
            t.attempts,
            t.score_given,
            t.score_maximum,
            t.activity_progress,
            t.grading_progress,
            t.scored_at,
        ),
        postgresql=db.engine.dialect.name == "postgresql",
    )
    rows = db.session.execute(
        statement, {"now": now, "until": now + timedelta(seconds=lease_seconds(settings, limit)), "limit": limit}
    ).all()
    db.session.commit()
    return sorted((ClaimedScore(*row) for row in rows), key=lambda row: row.id)


def deliver_scores(settings: Settings, http: PlatformHttp, *, limit: int = BATCH_SIZE) -> ScoreReport:
    """Claim one batch of due scores and post them; commits its own transactions."""
    return send_claimed(claim_scores(settings, limit), settings, http)


def send_claimed(claimed: list[ClaimedScore], settings: Settings, http: PlatformHttp) -> ScoreReport:
    """Post claimed scores, column by column, and settle each."""
    report = ScoreReport(claimed=len(claimed))
    by_column: dict[int, list[ClaimedScore]] = defaultdict(list)
    for row in claimed:
        by_column[row.column_id].append(row)
    clients: dict[int, ServiceClient] = {}
    for column_id, rows in by_column.items():
        column = db.session.get_one(GradebookColumn, column_id)
        course = column.course
        problem = service_problem(course)
        if problem is not None:
            report.waiting += _settle(
                rows, ScoreState.PENDING, error=problem, delay=NO_SERVICE_RECHECK.total_seconds(), count=False
            )
            continue
        platform: Platform = course.deployment.platform
        client = clients.setdefault(platform.id, ServiceClient(platform, keys=runtime().keys, http=http))
        try:
            url = line_item_url(column, client)
            db.session.commit()
        except Exception as error:
            db.session.rollback()
            _failed(rows, _as_service_error(error), settings, report)
            continue
        for row in rows:
            _post(client, url, row, settings, report)
    return report


def _as_service_error(error: Exception) -> ServiceError:
    """A failure as a ServiceError: an unexpected one (an answer the tool cannot read) is logged and retried."""
    if isinstance(error, ServiceError):
        return error
    log.exception("unexpected error while delivering scores; they will be retried")
    return ServiceError(f"Unexpected error while talking to the LMS: {type(error).__name__}: {error}")


def _scopes(course: Course) -> tuple[str, ...]:
    """One token for every gradebook call: the scopes the course grants among those the tool uses."""
    used = (AGS_LINEITEM, AGS_LINEITEM_READONLY, AGS_RESULT_READONLY, AGS_SCORE)
    return tuple(s for s in used if s in course.ags_scopes)


def line_item_url(column: GradebookColumn, client: ServiceClient) -> str:
    """The column's LMS line item: remembered, placed by deep linking, found by resourceId, or created."""
    if column.line_item_url:
        return column.line_item_url
    # Locked while found or created (PostgreSQL), so two workers never create two columns for one round; read
    # again, since another worker may have just stored it. NO KEY UPDATE: scores referencing it are not blocked.
    locked = db.session.execute(
        select(GradebookColumn)
        .where(GradebookColumn.id == column.id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one()
    if locked.line_item_url:
        return locked.line_item_url
    course, resource_id = column.course, line_item_resource_id(column.round_id)
    url = placed_line_item(column.course_id, column.round_id) or _found_line_item(course, resource_id, client)
    if url is None:
        if AGS_LINEITEM not in course.ags_scopes:
            raise ServiceError(
                "The LMS does not let the tool create gradebook columns in this course: place the assessment as a "
                "graded item from the LMS (deep linking), or ask its administrator to allow line items.",
                retryable=False,
            )
        body = {
            "scoreMaximum": column.score_maximum,
            "label": column.label,
            "resourceId": resource_id,
            "tag": LINE_ITEM_TAG,
        }
        answer = client.request(
            "POST",
            _lineitems_url(course),
            _scopes(course),
            accept=LINE_ITEM_MEDIA,
            body=body,
            content_type=LINE_ITEM_MEDIA,
        )
        url = _line_item_id(_json(answer))
    locked.line_item_url = url
    return url


def _lineitems_url(course: Course) -> str:
    if not course.ags_lineitems_url:  # service_problem() said so first; the course lost it meanwhile
        raise ServiceError("The LMS has not offered its gradebook service in this course.", retryable=True)
    return course.ags_lineitems_url


def _found_line_item(course: Course, resource_id: str, client: ServiceClient) -> str | None:
    response = client.request(
        "GET", _lineitems_url(course), _scopes(course), accept=LINE_ITEMS_MEDIA, params={"resource_id": resource_id}
    )
    items = _json(response)
    if not isinstance(items, list):
        raise ServiceError("The LMS answered its line items with something other than a list.", retryable=True)
    # The filter narrows the list; the check below is what counts (a platform may ignore the filter).
    for item in items:
        if isinstance(item, dict) and item.get("resourceId") == resource_id:
            return _line_item_id(item)
    return None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise ServiceError(f"The LMS answered {response.url} with something other than JSON.") from error


def _line_item_id(item: Any) -> str:
    url = item.get("id") if isinstance(item, dict) else None
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ServiceError("The LMS answered a line item without its URL (id).", retryable=False)
    return url


def scores_url(line_item: str) -> str:
    """`<line item>/scores`, keeping the line item URL's query (Moodle's `?type_id=`)."""
    return _service_url(line_item, "scores")


def results_url(line_item: str) -> str:
    """`<line item>/results`, keeping the line item URL's query."""
    return _service_url(line_item, "results")


def _service_url(line_item: str, service: str) -> str:
    parts = urlsplit(line_item)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{service}"))


def score_body(row: ClaimedScore, user_id: str) -> dict[str, Any]:
    """The AGS score as the LMS receives it: the same bytes on every retry of one version."""
    body: dict[str, Any] = {
        "userId": user_id,
        "activityProgress": row.activity_progress,
        "gradingProgress": row.grading_progress,
        "timestamp": row.scored_at.isoformat(timespec="milliseconds"),
    }
    if row.score_given is not None:
        body["scoreGiven"] = row.score_given
        body["scoreMaximum"] = row.score_maximum
    return body


def _post(
    client: ServiceClient,
    url: str,
    row: ClaimedScore,
    settings: Settings,
    report: ScoreReport,
    *,
    restamped: bool = False,
) -> None:
    membership = db.session.get_one(Membership, row.membership_id)
    try:
        client.request(
            "POST",
            scores_url(url),
            _scopes(membership.course),
            accept="application/json",
            body=score_body(row, membership.user.sub),
            content_type=SCORE_MEDIA,
        )
    except Exception as failure:
        db.session.commit()  # a token fetched on the way is worth keeping
        error = _as_service_error(failure)
        if error.status_code == 409:
            # Moodle's answer to a score not newer (in whole seconds) than the one it holds: the answer to an
            # earlier try of this very score was lost, or a newer version got there first. It has this or newer.
            if _delivered(row):
                report.delivered += 1
            return
        if error.status_code == 400:
            _refused_as_older(client, url, row, membership, error, settings, report, restamped=restamped)
            return
        if error.status_code == 404:
            _forget_line_item(row.column_id, url)
            error.retryable = True
        _failed([row], error, settings, report)
        return
    if _delivered(row):
        report.delivered += 1


def _refused_as_older(
    client: ServiceClient,
    url: str,
    row: ClaimedScore,
    membership: Membership,
    refusal: ServiceError,
    settings: Settings,
    report: ScoreReport,
    *,
    restamped: bool,
) -> None:
    """A 400 to a score. Canvas answers it to a score whose timestamp is earlier than its last update of the
    learner's result, by its own clock: the retry of a post whose answer was lost (it has the score), or a score
    given while the previous one was on its way (it has the previous one). The learner's result tells which: this
    very score is delivered; another, while this version is still the tool's newest, is posted once more with a
    current timestamp (the tool is where the grade comes from, and it has nothing newer). Anything else stands as
    the LMS's refusal: no result at all (the learner is not in the course, a malformed score), or a second refusal
    with a current timestamp (the LMS's clock is ahead of the tool's)."""
    try:
        held = _held_result(client, url, membership)
    except Exception as failure:
        db.session.commit()
        _failed([row], _as_service_error(failure), settings, report)  # read later, with the post's retry
        return
    if held is not None and _holds(held, row):
        if _delivered(row):
            report.delivered += 1
        return
    if held is None:
        _failed([row], refusal, settings, report)
        return
    if restamped:
        refusal.retryable = False
        _failed([row], _clock_ahead(refusal, held), settings, report)
        return
    fresh = _restamp(row)
    if fresh is not None:  # else a newer version of ours is pending already: it goes in its turn
        _post(client, url, fresh, settings, report, restamped=True)


@dataclass(frozen=True)
class HeldResult:
    """What the LMS gradebook holds for one learner in one column (an AGS result)."""

    score_given: float | None
    score_maximum: float | None


def _held_result(client: ServiceClient, url: str, membership: Membership) -> HeldResult | None:
    """The learner's result in the column, None if the LMS holds none; ServiceError if it cannot be read (the
    course did not grant the result scope, or the LMS answered something else than a list)."""
    course = membership.course
    if AGS_RESULT_READONLY not in course.ags_scopes:
        raise ServiceError(
            "The LMS refused a score and does not let the tool read its gradebook results to see why.",
            retryable=False,
        )
    user = membership.user.sub
    answer = client.request("GET", results_url(url), _scopes(course), accept=RESULTS_MEDIA, params={"user_id": user})
    results = _json(answer)
    if not isinstance(results, list):
        raise ServiceError("The LMS answered its results with something other than a list.", retryable=True)
    for result in results:  # the filter narrows the list; the user id is what counts
        if isinstance(result, dict) and result.get("userId") == user:
            return HeldResult(_number(result.get("resultScore")), _number(result.get("resultMaximum")))
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _holds(held: HeldResult, row: ClaimedScore) -> bool:
    """The LMS holds this version's grade (a score without a grade is held as a result without one)."""
    if row.score_given is None:
        return held.score_given is None
    return (
        held.score_given is not None
        and held.score_maximum is not None
        and abs(held.score_given - row.score_given) < 1e-9
        and abs(held.score_maximum - row.score_maximum) < 1e-9
    )


def _restamp(row: ClaimedScore) -> ClaimedScore | None:
    """This version, still the newest and still claimed, with the current time as its timestamp (stored, so a
    retry of this post sends it again unchanged); None when the score changed meanwhile."""
    t = _outbox.c
    scored_at = max(utcnow(), row.scored_at + timedelta(milliseconds=1))
    result = db.session.execute(
        update(_outbox)
        .where(t.id == row.id, t.version == row.version, t.state == ScoreState.SENDING.value)
        .values(scored_at=scored_at)
    )
    db.session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        return None
    return replace(row, scored_at=scored_at)


def _clock_ahead(refusal: ServiceError, held: HeldResult) -> ServiceError:
    grade = "no grade" if held.score_given is None else f"{held.score_given:g} / {held.score_maximum or 0:g}"
    return ServiceError(
        f"{refusal} The LMS holds another grade ({grade}), changed after this one by its clock, and refused this "
        "one again with the current time: its clock may be ahead of the tool's. Resync with the gradebook sends "
        "it again.",
        status=refusal.status_code,
        retryable=False,
    )


def _forget_line_item(column_id: int, url: str) -> None:
    """The line item is gone (deleted in the LMS): forget it, and the placed link that named it, so the retry finds
    or creates it again. The link first, then the column: the order a launch that brings a link's line item takes
    them in (gradebook.placement)."""
    column = db.session.get_one(GradebookColumn, column_id)
    db.session.execute(
        update(ResourceLink)
        .where(ResourceLink.course_id == column.course_id, ResourceLink.line_item_url == url)
        .values(line_item_url=None)
    )
    db.session.execute(
        update(GradebookColumn)
        .where(GradebookColumn.id == column_id, GradebookColumn.line_item_url == url)
        .values(line_item_url=None)
    )
    db.session.commit()


def _delivered(row: ClaimedScore) -> bool:
    """The LMS has this version (True if that is news). The row is done unless its score changed while it was
    being sent; a newer version already delivered is left alone."""
    t = _outbox.c
    same = t.version == row.version
    result = db.session.execute(
        update(_outbox)
        .where(t.id == row.id, or_(t.delivered_version.is_(None), t.delivered_version < row.version))
        .values(
            delivered_version=row.version,
            delivered_at=utcnow(),
            state=case((same, ScoreState.DELIVERED.value), else_=t.state),
            lease_until=case((same, None), else_=t.lease_until),
            attempts=case((same, 0), else_=t.attempts),
            last_error=case((same, None), else_=t.last_error),
        )
    )
    db.session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _failed(rows: list[ClaimedScore], error: ServiceError, settings: Settings, report: ScoreReport) -> None:
    """Back to pending with backoff (an outage, throttling), or parked (a refusal no retry can change). Rows whose
    score changed meanwhile are left to their new version, and not counted."""
    message = str(error)
    if error.retryable:
        settled = 0
        for row in rows:
            delay = max(
                backoff_delay(row.attempts + 1, cap=settings.scores_retry_cap_seconds),
                RETRY_FLOOR_SECONDS,
                error.retry_after or 0.0,
            )
            settled += _settle([row], ScoreState.PENDING, error=message, delay=delay)
        if settled:
            log.warning("LMS gradebook unavailable (%s): %d scores will be retried", error.status_code, settled)
        report.retrying += settled
    else:
        settled = _settle(rows, ScoreState.DEAD, error=message, delay=0.0)
        if settled:
            log.error("LMS gradebook refused %d scores (%s): shown to the instructor", settled, error.status_code)
        report.refused += settled
    report.errors.append(message)


def _settle(rows: list[ClaimedScore], state: ScoreState, *, error: str, delay: float, count: bool = True) -> int:
    """Back to `state` with `error`, unless the score changed meanwhile (its new version is pending already);
    answers how many rows it settled."""
    now, t, settled = utcnow(), _outbox.c, 0
    for row in rows:
        result = db.session.execute(
            update(_outbox)
            .where(t.id == row.id, t.version == row.version, t.state == ScoreState.SENDING.value)
            .values(
                state=state.value,
                attempts=row.attempts + 1 if count else row.attempts,
                next_attempt_at=now + timedelta(seconds=delay),
                lease_until=None,
                last_error=error,
            )
        )
        settled += result.rowcount  # type: ignore[attr-defined]
    db.session.commit()
    return settled


def run_score_worker(
    settings: Settings, stop: threading.Event, *, on_batch: Callable[[ScoreReport], None] | None = None
) -> None:
    """Deliver scores until `stop` is set; sleeps between polls only when nothing was due."""
    with PlatformHttp(settings) as http:

        def one_round() -> int:
            report = deliver_scores(settings, http)
            if on_batch is not None and report.claimed:
                on_batch(report)
            return report.claimed

        poll_until_stopped(stop, settings.scores_poll_interval_seconds, one_round)


def seconds_to_a_new_version() -> float | None:
    """How long until the next new version of a score is due, when it waits only for its own timestamp (a change
    less than a second after the last is stepped ahead of the clock and not sent before then): what `scores flush`
    waits for, as the worker's next polls would. None when no new version waits so; retries after a backoff are
    not counted."""
    due = db.session.execute(
        select(ScoreOutbox.next_attempt_at)
        .where(ScoreOutbox.state == ScoreState.PENDING.value, ScoreOutbox.attempts == 0)
        .order_by(ScoreOutbox.next_attempt_at.desc())
        .limit(1)
    ).scalar()
    db.session.rollback()
    if due is None:
        return None
    ahead = (due - utcnow()).total_seconds()
    return ahead if 0 < ahead <= 2 * TIMESTAMP_STEP.total_seconds() else None
