"""Schema management: every change is an Alembic migration, applied on first start."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import Engine, event

from lti_tool.resources import resource_path


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
        cursor.close()
