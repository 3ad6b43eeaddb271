"""Flask extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import DateTime, Dialect, MetaData, Table, TypeDecorator, bindparam, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.visitors import InternalTraversal


class Base(DeclarativeBase):
    # Stable constraint names, so migrations can drop or alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()


def upsert(model: Any) -> Any:
    """INSERT ... ON CONFLICT for the session's database (SQLite and PostgreSQL share the syntax, not the class)."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def _upsert_cache_key(insert: Any) -> list[tuple[str, Any]]:
    """An INSERT's cache key with its shape (a string) instead of the parts SQLAlchemy 2.0 cannot make a key of:
    the ON CONFLICT clause, and the rows of a many-row VALUES."""
    unkeyed = ("_post_values_clause", "_multi_values")
    traversal = [item for item in insert._traverse_internals if item[0] not in unkeyed]
    return [*traversal, ("_upsert_shape", InternalTraversal.dp_string)]


class _PreparedSqliteUpsert(sqlite.Insert):
    """SQLAlchemy 2.0 caches no dialect INSERT ... ON CONFLICT, so it built and compiled every upsert anew: two
    fifths of a launch's CPU. A prepared upsert is made only by `_prepared_upsert`, of bound parameters without
    values, so its `_upsert_shape` fixes its SQL and takes the unkeyed parts' place in its cache key."""

    inherit_cache = True
    _upsert_shape = ""
    _cache_key_traversal = _upsert_cache_key(sqlite.Insert)


class _PreparedPostgresqlUpsert(postgresql.Insert):
    __doc__ = _PreparedSqliteUpsert.__doc__
    inherit_cache = True
    _upsert_shape = ""
    _cache_key_traversal = _upsert_cache_key(postgresql.Insert)


def prepared_upsert(
    table: Table,
    columns: Sequence[str],
    *,
    keys: Sequence[str],
    replace: Sequence[str] = (),
    keep_when_missing: Sequence[str] = (),
    returning: Sequence[Any] = (),
    rows: int = 1,
) -> Any:
    """INSERT (columns) ... ON CONFLICT (keys) DO UPDATE, built once per process and compiled once per database.

    Executed with a dict of the columns' values; with `rows` > 1, one statement of that many rows, executed with
    `rows_parameters(...)`. The columns in `replace` take the new value; those in `keep_when_missing` keep the
    stored one when the new one is None; `returning` are the columns to return."""
    return _prepared_upsert(
        db.engine.dialect.name,
        table,
        tuple(columns),
        tuple(keys),
        tuple(replace),
        tuple(keep_when_missing),
        tuple(returning),
        rows,
    )


def rows_parameters(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of a `prepared_upsert` of `len(rows)` rows (of one row: the row itself)."""
    if len(rows) == 1:
        return rows[0]
    return {f"{name}_{index}": value for index, row in enumerate(rows) for name, value in row.items()}


@functools.cache
def _prepared_upsert(
    dialect: str,
    table: Table,
    columns: tuple[str, ...],
    keys: tuple[str, ...],
    replace: tuple[str, ...],
    keep_when_missing: tuple[str, ...],
    returning: tuple[Any, ...],
    rows: int,
) -> Any:
    kind = _PreparedPostgresqlUpsert if dialect == "postgresql" else _PreparedSqliteUpsert
    if rows == 1:
        values: Any = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    else:
        values = [{name: bindparam(f"{name}_{i}", type_=table.c[name].type) for name in columns} for i in range(rows)]
    statement: Any = kind(table).values(values)
    changes: dict[str, Any] = {name: statement.excluded[name] for name in replace}
    changes |= {name: func.coalesce(statement.excluded[name], table.c[name]) for name in keep_when_missing}
    statement = statement.on_conflict_do_update(index_elements=list(keys), set_=changes)
    if returning:
        statement = statement.returning(*returning)
    # Everything the ON CONFLICT clause and the rows are made of, beside what the INSERT's own cache key holds.
    statement._upsert_shape = repr((columns, rows, keys, replace, keep_when_missing))
    return statement


def engine_options(url: str) -> dict[str, Any]:
    """SQLite needs a lock timeout for several workers; PostgreSQL checks pooled connections before use."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    return {"pool_pre_ping": True}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware UTC datetimes on SQLite (which drops the zone) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
