"""The shared state store's counter, which throttles registrations and admin sign-ins: atomic across concurrent
requests, on the database (SQLite, PostgreSQL) and on Redis, and restarting when its window ends."""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from lti_tool.runtime import runtime
from tests.conftest import tool_environment

REDIS_URL = os.environ.get("MENTOR_LTI_TEST_REDIS_URL", "")
STORES = pytest.mark.parametrize(
    "redis_url",
    ["", pytest.param(REDIS_URL, marks=pytest.mark.skipif(not REDIS_URL, reason="set MENTOR_LTI_TEST_REDIS_URL"))],
    ids=["database", "redis"],
)


@STORES
def test_concurrent_counts_are_each_counted_once_and_a_window_restarts(
    tool_settings: dict[str, Any], redis_url: str
) -> None:
    key = f"test-counter:{uuid.uuid4().hex}"  # Redis outlives the test: a key of its own
    with tool_environment({**tool_settings, "redis_url": redis_url}) as env:
        start = threading.Barrier(8)

        def count(_: int) -> tuple[int, int]:
            with env.app.app_context():
                start.wait(timeout=10)
                return runtime().state.count(key, 60)

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(count, range(24)))
        assert sorted(n for n, _ in answers) == list(range(1, 25))
        assert all(0 < seconds <= 60 for _, seconds in answers)

        with env.app.app_context():
            store = runtime().state
            short = f"{key}:short"
            assert store.count(short, 1)[0] == 1
            assert store.count(short, 1)[0] == 2
            time.sleep(1.1)
            assert store.count(short, 1) == (1, 1)  # a new window
