"""Schema management: every change is an Alembic migration, applied on first start."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import Engine, Pool, event

from lti_tool.extensions import db
from lti_tool.resources import resource_path

# Set on a pooled SQLite connection whose transaction was committed without waiting for the disk.
_RELAXED = "mentor_lti.relaxed_sync"


def upgrade_database() -> None:
    """Bring the database to the latest migration (creates every table on an empty database)."""
    upgrade(directory=str(resource_path("migrations")))


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    # WAL lets several workers read while one writes; foreign keys are off by default in SQLite.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Every commit is on disk before the tool answers (also SQLite's default in WAL mode): see
        # `state_only_transaction` for the one exception.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


def state_only_transaction() -> None:
    """Declare, before its first statement, that the session's transaction writes only short-lived launch state
    (a login's), which a power cut or an OS crash may take back: that costs a learner one relaunch.

    PostgreSQL then runs each statement in a transaction of its own (no BEGIN and COMMIT round trips). SQLite
    commits it without waiting for the disk (`synchronous=NORMAL`: the WAL stays consistent, and the next
    ordinary commit puts these writes on disk too); the wait's CPU was two fifths of a login's on SQLite. The
    connection is strict again when it returns to the pool (`_strict_again`)."""
    dialect = db.engine.dialect.name
    if dialect == "postgresql":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    elif dialect == "sqlite":
        connection = db.session.connection()
        connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
        connection.info[_RELAXED] = True


@event.listens_for(Pool, "checkin")
def _strict_again(dbapi_connection: Any, connection_record: Any) -> None:
    if connection_record.info.pop(_RELAXED, False) and dbapi_connection is not None:
        dbapi_connection.execute("PRAGMA synchronous=FULL")
