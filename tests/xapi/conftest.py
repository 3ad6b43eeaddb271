"""Fixtures for the xapi tests: a real Ralph LRS and the loaded xAPI Profile."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lti_tool.devlrs import RalphLrs, run_ralph
from xapi.profile import load_profile


@pytest.fixture(scope="session")
def lrs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RalphLrs]:
    # One LRS for the session: Ralph takes seconds to start, and its fs backend rescans the whole
    # store on every POST, so tests keep their batches small and their ids unique.
    with run_ralph(tmp_path_factory.mktemp("ralph")) as server:
        yield server


@pytest.fixture(scope="session")
def profile() -> dict[str, Any]:
    return load_profile()
