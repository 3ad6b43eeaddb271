"""Short-lived LTI state shared by every worker and instance: in the database, or in Redis when configured."""

from __future__ import annotations

import json
import math
import time
from datetime import timedelta
from typing import Any, Protocol

import redis
from sqlalchemy import Integer, Text, bindparam, case, cast, delete, literal, select

from lti_tool.extensions import UTCDateTime, db, prepared_upsert, rows_parameters, upsert, utcnow
from lti_tool.lti.models import LaunchState

# Expired rows are invisible to `get` and `take` already: deleting them is housekeeping, done by each process at
# most this often rather than by every login.
PURGE_INTERVAL_SECONDS = 60.0

# Every login and launch runs these: built once, on the table (no ORM rows to load), compiled once per database.
_STATE = LaunchState.__table__
_LIVE = (_STATE.c.key == bindparam("key")) & (_STATE.c.expires_at > bindparam("now"))
_GET = select(_STATE.c.value).where(_LIVE)
# DELETE ... RETURNING is atomic on both databases: of two concurrent replays only one gets the row.
_TAKE = delete(_STATE).where(_LIVE).returning(_STATE.c.value)


class LaunchStateStore(Protocol):
    """Key/value state with expiry; `take` reads and deletes in one atomic step (single-use values)."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any, ttl_seconds: int) -> None: ...

    def put_many(self, values: dict[str, Any], ttl_seconds: int) -> None:
        """`put` each of `values`, in one statement (or one round trip)."""
        ...

    def take(self, key: str) -> Any | None: ...

    def count(self, key: str, window_seconds: int) -> tuple[int, int]:
        """Add one to the counter `key`, which starts at its first count and ends `window_seconds` later; answers
        the count and the seconds until it ends. Atomic and committed at once, even when the request fails."""
        ...

    def purge_expired(self) -> None: ...


class DatabaseStateStore:
    """Rows in `lti_launch_state`, written in the caller's transaction: the view that uses it commits once."""

    def __init__(self) -> None:
        self._purged_at = -math.inf

    def get(self, key: str) -> Any | None:
        row = db.session.execute(_GET, {"key": key, "now": utcnow()}).scalar_one_or_none()
        return None if row is None else json.loads(row)

    def put(self, key: str, value: Any, ttl_seconds: int) -> None:
        self.put_many({key: value}, ttl_seconds)

    def put_many(self, values: dict[str, Any], ttl_seconds: int) -> None:
        if not values:
            return
        expires_at = utcnow() + timedelta(seconds=ttl_seconds)
        # An upsert: two workers refreshing the same platform key set must not collide on the primary key. One
        # statement of all the rows: a login writes three.
        statement = prepared_upsert(
            _STATE, ("key", "value", "expires_at"), keys=("key",), replace=("value", "expires_at"), rows=len(values)
        )
        rows = [{"key": key, "value": json.dumps(value), "expires_at": expires_at} for key, value in values.items()]
        db.session.execute(statement, rows_parameters(rows))

    def take(self, key: str) -> Any | None:
        row = db.session.execute(_TAKE, {"key": key, "now": utcnow()}).scalar_one_or_none()
        return None if row is None else json.loads(row)

    def count(self, key: str, window_seconds: int) -> tuple[int, int]:
        now = utcnow()
        ends = literal(now + timedelta(seconds=window_seconds), UTCDateTime())
        ended = LaunchState.expires_at <= now
        # One INSERT ... ON CONFLICT DO UPDATE ... RETURNING: concurrent requests each see their own count. Its own
        # transaction, so a request that fails (and rolls back) after counting still counts.
        statement = (
            upsert(LaunchState)
            .values(key=key, value="1", expires_at=ends)
            .on_conflict_do_update(
                index_elements=[LaunchState.key],
                set_={
                    "value": case((ended, "1"), else_=cast(cast(LaunchState.value, Integer) + 1, Text)),
                    "expires_at": case((ended, ends), else_=LaunchState.expires_at),
                },
            )
            .returning(LaunchState.value, LaunchState.expires_at)
        )
        with db.engine.begin() as connection:
            value, expires_at = connection.execute(statement).one()
        # A concurrent request may have started the window a moment after this one read the clock.
        return int(value), min(max(math.ceil((expires_at - now).total_seconds()), 1), window_seconds)

    def purge_expired(self) -> None:
        if time.monotonic() - self._purged_at < PURGE_INTERVAL_SECONDS:
            return
        self._purged_at = time.monotonic()
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

    def put_many(self, values: dict[str, Any], ttl_seconds: int) -> None:
        pipeline = self._redis.pipeline(transaction=False)
        for key, value in values.items():
            pipeline.set(self._prefix + key, json.dumps(value), ex=max(ttl_seconds, 1))
        pipeline.execute()

    def take(self, key: str) -> Any | None:
        raw = self._redis.getdel(self._prefix + key)
        return None if raw is None else json.loads(raw)

    def count(self, key: str, window_seconds: int) -> tuple[int, int]:
        # MULTI/EXEC: create the counter with its expiry unless it runs, then count; INCR keeps the expiry.
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.set(self._prefix + key, 0, ex=max(window_seconds, 1), nx=True)
        pipeline.incr(self._prefix + key)
        pipeline.ttl(self._prefix + key)
        _, value, seconds_left = pipeline.execute()
        return int(value), max(int(seconds_left), 1)

    def purge_expired(self) -> None:
        """Redis expires keys itself."""
