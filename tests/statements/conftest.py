"""Fixtures for the statement tests: a real Ralph LRS, a failing-on-demand proxy in front of it per test, and
tool settings that make delivery's waits short.

The tool starts with no LRS configured; a module that wants one overrides `lrs_config`, e.g. with
`lrs_settings(proxy.endpoint, lrs)`. The shared `app`, `browser` and `environment` fixtures then use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lti_tool.devlrs import RalphLrs, run_ralph
from tests.statements.lrs_proxy import LrsProxy, serve_proxy


@pytest.fixture(scope="session")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphLrs]:
    """One real LRS for the session (Ralph takes seconds to start). Tests tell their statements apart by id,
    unique per event, and by actor: the sandbox LMS's issuer carries the test's own port."""
    with run_ralph(tmp_path_factory.mktemp("ralph")) as server:
        yield server


@pytest.fixture
def private_lrs(tmp_path: Path) -> Iterator[RalphLrs]:
    """An LRS of the test's own, for a test that stops and starts it."""
    with run_ralph(tmp_path / "ralph") as server:
        yield server


@pytest.fixture
def proxy(lrs: RalphLrs) -> Iterator[LrsProxy]:
    with serve_proxy(lrs.base_url) as server:
        yield server


@pytest.fixture
def lrs_config() -> dict[str, Any]:
    """The LRS the tool's settings name: none here (statements wait); modules override it."""
    return {}


@pytest.fixture
def tool_settings(tool_settings: dict[str, Any], lrs_config: dict[str, Any]) -> dict[str, Any]:
    return {
        **tool_settings,
        **lrs_config,
        "xapi_retry_cap_seconds": 1,  # a failed statement is due again within a second
        "platform_http_timeout_seconds": 2.0,  # how long delivery waits for a hanging LRS
    }
