"""Roster syncs that an instructor's launch starts, run in a background thread.

Why a thread and not inline: a sync is a token request plus one request per page (a large Canvas course has
dozens), each allowed `platform_http_timeout_seconds`, and Moodle calls back into the tool while issuing the token.
The launch must stay fast and must never fail because of the LMS, so it only starts the sync and redirects; the
thread has its own database session and transaction, so a failure (or a worker killed mid-sync) changes nothing.
At most one sync per course runs in a process.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from lti_tool.courses.models import Course
from lti_tool.courses.services import LaunchedMember
from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.outbound import PlatformHttp
from lti_tool.lti.roles import CourseRole
from lti_tool.roster.services import service_client, sync_due, sync_roster
from lti_tool.runtime import runtime
from lti_tool.settings import Settings

log = logging.getLogger(__name__)
EXTENSION = "mentor_lti.roster_syncs"


class BackgroundSyncs:
    """The roster syncs running in this process, at most one per course."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, threading.Thread] = {}

    def start(self, app: Flask, course_id: int) -> bool:
        """Start syncing the course unless a sync of it is already running here; True if one was started."""
        with self._lock:
            running = self._running.get(course_id)
            if running is not None and running.is_alive():
                return False
            # Daemon: a process that exits does not wait; the unfinished transaction simply never commits.
            thread = threading.Thread(
                target=_sync_in_background, args=(app, course_id), name=f"roster-sync-{course_id}", daemon=True
            )
            self._running[course_id] = thread
            thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the syncs running now (tests, and a clean shutdown)."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout)


def background_syncs(app: Flask) -> BackgroundSyncs:
    syncs: BackgroundSyncs = app.extensions.setdefault(EXTENSION, BackgroundSyncs())
    return syncs


def sync_after_launch(app: Flask, member: LaunchedMember, settings: Settings) -> bool:
    """After a staff launch, start a background sync when the course's roster is older than the configured
    interval. Never raises: a launch must not fail because of the roster."""
    if not CourseRole(member.course_role).is_staff:
        return False
    interval = settings.roster_sync_interval_seconds
    if not sync_due(member.nrps_url, member.roster_synced_at, interval_seconds=interval, now=utcnow()):
        return False
    try:
        return background_syncs(app).start(app, member.course_id)
    except RuntimeError:  # no thread could be started (process limits): the next staff launch tries again
        log.warning("roster sync after launch not started: course=%s", member.course_id)
        return False


def _sync_in_background(app: Flask, course_id: int) -> None:
    with app.app_context():
        rt = runtime()
        try:
            course = db.session.get_one(Course, course_id)
            with PlatformHttp(rt.settings) as http:
                report = sync_roster(course, service_client(course, keys=rt.keys, http=http), now=utcnow())
            db.session.commit()
        # Identifiers and our own messages only: database errors carry people's names in their parameters.
        except MentorLtiError as error:
            db.session.rollback()
            log.warning("roster sync after launch failed, nothing changed: course=%s: %s", course_id, error.message)
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning(
                "roster sync after launch failed, nothing changed: course=%s: %s", course_id, type(error).__name__
            )
        except Exception:
            db.session.rollback()
            log.exception("roster sync after launch failed, nothing changed: course=%s", course_id)
        else:
            log.info("roster synced after launch: course=%s: %s", course_id, report.summary)
