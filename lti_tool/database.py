"""Schema management: every change is an Alembic migration, applied on first start."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import Engine, Pool, event, inspect

from lti_tool.extensions import db
from lti_tool.resources import resource_path

F = TypeVar("F", bound=Callable[..., Any])
_UPGRADE = "run `mentor-lti db upgrade` first (`mentor-lti serve` does it when it starts)"
# Set on a pooled SQLite connection whose transaction was committed without waiting for the disk.
_RELAXED = "mentor_lti.relaxed_sync"


def upgrade_database() -> None:
    """Bring the database to the latest migration (creates every table on an empty database)."""
    upgrade(directory=str(resource_path("migrations")))


class SchemaMismatch(click.ClickException):
    """The database's schema is not the one this version of the tool needs, and a command will not change it."""


def ensure_schema() -> None:
    """Make sure the database has this version's schema before a command uses it. An empty database (a new
    instance, before `serve` ever ran) is set up; one at another version stops the command with one line saying
    what to run, rather than a traceback from the first query ("no such table")."""
    script = ScriptDirectory(str(resource_path("migrations")))
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
        tables = set(inspect(connection).get_table_names())
    if current == set(script.get_heads()):
        return
    where = db.engine.url.render_as_string(hide_password=True)
    if not current and not tables:
        upgrade_database()
        click.echo(f"Set up a new database: {where}", err=True)
        return
    if not current:
        raise SchemaMismatch(
            f"The database {where} holds tables but no migration version: point MENTOR_LTI_DATABASE_URL at the "
            "tool's own database, or at an empty one."
        )
    if all(script.get_revision(revision) is not None for revision in current):
        raise SchemaMismatch(f"The database {where} has the schema of an earlier version: {_UPGRADE}.")
    raise SchemaMismatch(
        f"The database {where} was upgraded by a newer version of mentor-lti ({', '.join(sorted(current))}): "
        "run that version."
    )


def with_database(command: F) -> F:
    """`with_appcontext` for a command that uses the database: `ensure_schema()` runs before it."""

    @wraps(command)
    def checked(*args: Any, **kwargs: Any) -> Any:
        ensure_schema()
        return command(*args, **kwargs)

    return with_appcontext(checked)  # type: ignore[return-value]


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
