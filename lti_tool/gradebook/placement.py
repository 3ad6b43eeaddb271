"""Which LMS line item a graded round's scores go to once the instructor placed the round by deep linking.

The LMS makes a line item for a graded link it places, and tells the tool its URL only in the launches of that
link. Scores sent before then went to a column the tool found or made itself; from the first launch that brings
the placed link's line item, the round's scores go there, and every score is sent to it again. The earlier column
is fed no more and is left in the gradebook as it is: it may hold what no longer reaches the new one (the grade of a
learner who has left the course, which the LMS refuses now) and what teachers did there (overrides, feedback), so
deleting it is the instructor's call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select, update

from lti_tool.courses.models import ResourceLink
from lti_tool.deep_linking.custom import placed_round_id
from lti_tool.extensions import db
from lti_tool.gradebook.models import GradebookColumn, ScoreOutbox, ScoreState

log = logging.getLogger(__name__)


def placed_line_item(course_id: int, round_id: int) -> str | None:
    """The line item of a graded link of the round that the instructor placed in the course (the first placed, if
    several), as its launches told the tool."""
    links = db.session.execute(
        select(ResourceLink.custom, ResourceLink.line_item_url)
        .where(ResourceLink.course_id == course_id, ResourceLink.line_item_url.is_not(None))
        .order_by(ResourceLink.id)
    )
    for custom, url in links:
        if placed_round_id(custom) == round_id:
            return str(url)
    return None


def line_item_learned(course_id: int, custom: Mapping[str, str], *, now: datetime) -> None:
    """A launch brought a link's line item, new or changed: when the link is a placed graded round, that round's
    scores go to the placed link's column from now on. The caller commits."""
    round_id = placed_round_id(custom)
    if round_id is not None:
        follow_placed_line_item(course_id, round_id, now=now)


def follow_placed_line_item(course_id: int, round_id: int, *, now: datetime, resend: bool = True) -> bool:
    """Point the round's gradebook column at the line item of the round's placed link, if it has one and the
    column names another; then (`resend`) queue every score of the column again for it. True when it moved.

    A column the tool has not looked up in the LMS yet just takes the placed one (its scores are on their way). The
    column is locked while it moves (PostgreSQL), as a worker locks it while it finds or creates its line item, and
    its scores in the order of their ids, the order every queueing of scores locks them in.
    """
    url = placed_line_item(course_id, round_id)
    if url is None:
        return False
    column = db.session.execute(
        select(GradebookColumn)
        .where(GradebookColumn.course_id == course_id, GradebookColumn.round_id == round_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if column is None or column.line_item_url == url:
        return False  # no score queued yet (the first delivery finds the placed column), or already there
    earlier, column.line_item_url = column.line_item_url, url
    if earlier is not None and resend:
        scores = ScoreOutbox.column_id == column.id
        db.session.execute(
            select(ScoreOutbox.id).where(scores).order_by(ScoreOutbox.id).with_for_update(key_share=True)
        )
        # A new version of each score, the same score and time: the placed column has none of them yet. A worker
        # sending an earlier version to the old column settles only that version.
        db.session.execute(
            update(ScoreOutbox)
            .where(scores)
            .values(
                version=ScoreOutbox.version + 1,
                state=ScoreState.PENDING.value,
                next_attempt_at=now,
                attempts=0,
                lease_until=None,
                last_error=None,
            )
        )
    if earlier is not None:
        log.info(
            "gradebook column %s: scores now go to the placed link's line item; the earlier one is no longer fed",
            column.id,
        )
    return True
