"""Fixtures: a tool app on a fresh database (SQLite, or PostgreSQL when MENTOR_LTI_TEST_DATABASE_URL is set),
served over HTTP beside a sandbox LMS registered with it, and browsers that launch the tool from that LMS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from lti_tool import create_app
from lti_tool.database import upgrade_database
from lti_tool.extensions import db
from lti_tool.sandbox.advantage import Preset
from lti_tool.sandbox.app import create_sandbox_app
from lti_tool.sandbox.platform import SandboxPlatform
from lti_tool.sandbox.setup import build_sandbox, register_sandbox
from tests.databases import postgresql_schema
from tests.lti_browser import LtiBrowser
from tests.servers import CountingMiddleware, served

POSTGRES_URL = os.environ.get("MENTOR_LTI_TEST_DATABASE_URL", "")
LOOPBACK_NETWORKS = ["127.0.0.0/8", "::1/128"]
STATE_TABLES = {"lti_launch_state", "alembic_version"}


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own for each test: a SQLite file, or a fresh PostgreSQL schema."""
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'tool.sqlite3'}"
        return
    with postgresql_schema(POSTGRES_URL, "t") as url:
        yield url


def loopback_settings(instance_path: Path, database_url: str) -> dict[str, Any]:
    """Settings for a tool served over plain http on 127.0.0.1 (same site as the sandbox: Lax cookies work), as the
    tests and benchmarks run it."""
    return {
        "instance_path": instance_path,
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "cookie_secure": False,
        "cookie_samesite": "Lax",
        "cookie_partitioned": False,
        "sandbox_enabled": True,
        "jwks_min_refetch_seconds": 0,
        # The sandbox LMS and the test LMSs are on loopback, which the tool refuses to connect to unless allowed.
        "allowed_private_networks": LOOPBACK_NETWORKS,
        # Launch-time roster syncs run in the background; tests/roster turns them on where it tests them.
        "roster_sync_interval_seconds": 0,
    }


@pytest.fixture
def tool_settings(tmp_path: Path, database_url: str) -> dict[str, Any]:
    return loopback_settings(tmp_path / "instance", database_url)


class Sandbox:
    def __init__(self, platform: SandboxPlatform, url: str, counter: CountingMiddleware) -> None:
        self.platform = platform
        self.url = url
        self.requests = counter.counts


class ToolEnvironment:
    def __init__(self, app: Flask, tool_url: str, sandbox: Sandbox) -> None:
        self.app = app
        self.tool_url = tool_url
        self.sandbox = sandbox


@contextmanager
def tool_environment(settings: dict[str, Any], preset: Preset = Preset.MOODLE) -> Iterator[ToolEnvironment]:
    """A migrated tool app served over HTTP, and a sandbox LMS on its own port registered with it the way
    `mentor-lti sandbox` does it; `preset` makes the sandbox behave like Moodle or Canvas."""
    app = create_app(settings)
    with app.app_context():
        upgrade_database()
    try:
        with served(app) as tool, served() as lms:
            platform = build_sandbox(Path(app.instance_path), lms.url, tool.url, preset=preset)
            counter = CountingMiddleware(create_sandbox_app(platform))
            lms.set_app(counter)
            with app.app_context():
                register_sandbox(platform)
                db.session.commit()
            yield ToolEnvironment(app, tool.url, Sandbox(platform, lms.url, counter))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def sandbox_preset() -> Preset:
    """Override in a test module (or parametrize) to run against a Canvas-like sandbox."""
    return Preset.MOODLE


@pytest.fixture
def environment(tool_settings: dict[str, Any], sandbox_preset: Preset) -> Iterator[ToolEnvironment]:
    with tool_environment(tool_settings, sandbox_preset) as env:
        yield env


@pytest.fixture
def app(environment: ToolEnvironment) -> Flask:
    return environment.app


@pytest.fixture
def tool_url(environment: ToolEnvironment) -> str:
    return environment.tool_url


@pytest.fixture
def sandbox(environment: ToolEnvironment) -> Sandbox:
    return environment.sandbox


@pytest.fixture
def browser(tool_url: str, sandbox: Sandbox) -> Iterator[LtiBrowser]:
    client = LtiBrowser(tool_url, sandbox.platform)
    yield client
    client.close()


@pytest.fixture
def new_browser(tool_url: str, sandbox: Sandbox) -> Iterator[Any]:
    """A factory of further browsers (separate cookie jars), e.g. one per person."""
    made: list[LtiBrowser] = []

    def make() -> LtiBrowser:
        made.append(LtiBrowser(tool_url, sandbox.platform))
        return made[-1]

    yield make
    for client in made:
        client.close()


def row_counts(app: Flask) -> dict[str, int]:
    """Rows per domain table (launch state excluded): a refused launch must leave these unchanged."""
    with app.app_context():
        names = [t for t in sa.inspect(db.engine).get_table_names() if t not in STATE_TABLES]
        return {
            name: db.session.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()
            for name in names
        }
