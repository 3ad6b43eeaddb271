"""Prepared upserts (`lti_tool.extensions.prepared_upsert`): built once, compiled once, and never run as another."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.courses.models import User
from lti_tool.database import upgrade_database
from lti_tool.extensions import db, prepared_upsert, rows_parameters, utcnow
from lti_tool.lti.models import LaunchState

STATE = LaunchState.__table__
COLUMNS = ("key", "value", "expires_at")


@pytest.fixture
def app(tool_settings: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(tool_settings)
    with app.app_context():
        upgrade_database()
        yield app
        db.session.remove()
        db.engine.dispose()


def stored(key: str) -> tuple[str, datetime]:
    value, expires_at = db.session.execute(select(STATE.c.value, STATE.c.expires_at).where(STATE.c.key == key)).one()
    return value, expires_at


def test_upserts_that_differ_only_in_what_a_conflict_updates_each_do_their_own(app: Flask) -> None:
    keep_expiry = prepared_upsert(STATE, COLUMNS, keys=("key",), replace=("value",))
    replace_both = prepared_upsert(STATE, COLUMNS, keys=("key",), replace=("value", "expires_at"))
    hour = utcnow() + timedelta(hours=1)

    db.session.execute(replace_both, {"key": "k", "value": "a", "expires_at": hour})
    db.session.execute(keep_expiry, {"key": "k", "value": "b", "expires_at": hour + timedelta(hours=1)})
    assert stored("k") == ("b", hour)
    # Each now comes from the compiled cache: one must not be served the other's SQL.
    db.session.execute(replace_both, {"key": "k", "value": "c", "expires_at": hour + timedelta(hours=2)})
    assert stored("k") == ("c", hour + timedelta(hours=2))
    db.session.execute(keep_expiry, {"key": "k", "value": "d", "expires_at": hour})
    assert stored("k") == ("d", hour + timedelta(hours=2))


def test_a_missing_value_keeps_the_stored_one_only_where_asked(app: Flask) -> None:
    users = User.__table__
    keep_name = prepared_upsert(
        users,
        ("issuer", "sub", "name", "email", "created_at", "updated_at"),
        keys=("issuer", "sub"),
        replace=("email", "updated_at"),
        keep_when_missing=("name",),
    )
    now = utcnow()

    def launch(name: str | None, email: str | None) -> tuple[str | None, str | None]:
        values = {"issuer": "https://lms.example", "sub": "s-1", "name": name, "email": email}
        db.session.execute(keep_name, {**values, "created_at": now, "updated_at": now})
        return db.session.execute(select(users.c.name, users.c.email)).one()._tuple()

    assert launch("Ada", "ada@lms.example") == ("Ada", "ada@lms.example")
    assert launch(None, None) == ("Ada", None)
    assert launch("Ada L.", None) == ("Ada L.", None)


def test_upserts_of_two_and_of_three_rows_write_all_their_rows(app: Flask) -> None:
    hour = utcnow() + timedelta(hours=1)

    def upsert(keys: list[str], value: str) -> None:
        statement = prepared_upsert(STATE, COLUMNS, keys=("key",), replace=("value",), rows=len(keys))
        db.session.execute(statement, rows_parameters([{"key": k, "value": value, "expires_at": hour} for k in keys]))

    for value in ("first", "again"):  # the second time from the compiled cache
        upsert(["a", "b"], value)
        upsert(["c", "d", "e"], value)
        assert [stored(key)[0] for key in "abcde"] == [value] * 5


def test_a_prepared_upsert_is_built_once(app: Flask) -> None:
    def build() -> Any:
        return prepared_upsert(STATE, COLUMNS, keys=("key",), replace=("value",))

    assert build() is build()
