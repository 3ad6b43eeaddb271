"""Short-lived LTI state shared by every worker and instance: in the database, or in Redis when configured."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Protocol

import redis
from sqlalchemy import delete, select

from lti_tool.extensions import db, upsert, utcnow
from lti_tool.lti.models import LaunchState


class LaunchStateStore(Protocol):
    """Key/value state with expiry; `take` reads and deletes in one atomic step (single-use values)."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any, ttl_seconds: int) -> None: ...

    def take(self, key: str) -> Any | None: ...

    def purge_expired(self) -> None: ...


class DatabaseStateStore:
    """Rows in `lti_launch_state`, written in the caller's transaction: the view that uses it commits once."""

    def get(self, key: str) -> Any | None:
        row = db.session.execute(
            select(LaunchState.value).where(LaunchState.key == key, LaunchState.expires_at > utcnow())
        ).scalar_one_or_none()
        return None if row is None else json.loads(row)

    def put(self, key: str, value: Any, ttl_seconds: int) -> None:
        values = {
            "key": key,
            "value": json.dumps(value),
            "expires_at": utcnow() + timedelta(seconds=ttl_seconds),
        }
        # An upsert: two workers refreshing the same platform key set must not collide on the primary key.
        statement = upsert(LaunchState).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[LaunchState.key],
            set_={"value": values["value"], "expires_at": values["expires_at"]},
        )
        db.session.execute(statement)

    def take(self, key: str) -> Any | None:
        # DELETE ... RETURNING is atomic on both databases: of two concurrent replays only one gets the row.
        row = db.session.execute(
            delete(LaunchState)
            .where(LaunchState.key == key, LaunchState.expires_at > utcnow())
            .returning(LaunchState.value)
        ).scalar_one_or_none()
        return None if row is None else json.loads(row)

    def purge_expired(self) -> None:
        db.session.execute(delete(LaunchState).where(LaunchState.expires_at <= utcnow()))


class RedisStateStore:
    """Redis keys with a TTL; GETDEL makes `take` atomic across every instance."""

    def __init__(self, url: str, prefix: str = "mentor-lti:") -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = prefix

    def get(self, key: str) -> Any | None:
        raw = self._redis.get(self._prefix + key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any, ttl_seconds: int) -> None:
        self._redis.set(self._prefix + key, json.dumps(value), ex=max(ttl_seconds, 1))

    def take(self, key: str) -> Any | None:
        raw = self._redis.getdel(self._prefix + key)
        return None if raw is None else json.loads(raw)

    def purge_expired(self) -> None:
        """Redis expires keys itself."""
