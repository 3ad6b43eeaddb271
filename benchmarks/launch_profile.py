"""Server CPU per login + launch, in-process: mentor-lti beside the bare pylti1p3 tool, with an optional profile.

    .venv/bin/python benchmarks/launch_profile.py [--databases sqlite,postgresql] [--launches 300]
        [--profile mentor|bare] [--sort tottime] [--top 40]

Both tools of benchmarks/launches.py are built in this process and called through their WSGI apps (Flask's test
client: no HTTP server, so none of its CPU) against one sandbox LMS served on loopback (its JWKS, fetched once).
Each launch is what the benchmark counts: the login initiation (302), the platform's signed answer (in this
process, not timed) and the form post (303). The thread's CPU time over the two tool requests is the figure;
relaunches of known learners alternate with first launches of new ones, the tools interleaved launch by launch.
With `--profile`, cProfile records only those two requests of the named tool and prints its top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402

from benchmarks.launches import (  # noqa: E402
    COURSE,
    POSTGRES_URL,
    _bare_environment,
    bare_app,
    build_course,
    mentor_settings,
    platform_for,
    say,
    users,
)
from benchmarks.xapi_delivery import fresh_database  # noqa: E402
from lti_tool import create_app  # noqa: E402
from lti_tool.database import upgrade_database  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.sandbox.app import create_sandbox_app  # noqa: E402
from lti_tool.sandbox.platform import Course, PlatformKeys, SandboxPlatform  # noqa: E402
from lti_tool.sandbox.setup import register_sandbox  # noqa: E402
from tests.servers import served  # noqa: E402

TOOL_URL = "http://localhost"  # the test client's default host


class InProcessTool:
    """A tool's WSGI app and the sandbox platform that launches it; `launch` answers the tool's CPU seconds."""

    def __init__(self, name: str, app: Flask, platform: SandboxPlatform, login: str, launch: str) -> None:
        self.name, self.app, self.platform = name, app, platform
        self.login_path, self.launch_path = login, launch
        self.profiler: cProfile.Profile | None = None

    def launch(self, person: str) -> float:
        client = self.app.test_client()  # a new browser: its own cookie jar
        params = self.platform.login_initiation_params(COURSE, person)
        cpu = 0.0
        with self._measured() as took:
            login = client.get(self.login_path, query_string=params)
        cpu += took()
        assert login.status_code == 302, login.get_data(as_text=True)[:500]
        _, fields = self.platform.authorize(dict(parse_qsl(urlsplit(login.headers["location"]).query)))
        with self._measured() as took:
            launched = client.post(self.launch_path, data=fields)
        cpu += took()
        assert launched.status_code == 303, launched.get_data(as_text=True)[:2000]
        return cpu

    def _measured(self) -> Any:
        tool = self

        class Measured:
            def __enter__(self) -> Callable[[], float]:
                if tool.profiler:
                    tool.profiler.enable()
                self.began = time.thread_time()
                return lambda: self.ended - self.began

            def __exit__(self, *exc: object) -> None:
                self.ended = time.thread_time()
                if tool.profiler:
                    tool.profiler.disable()

        return Measured()


def build_tools(work: Path, database_url: str, bare_url: str, lms_url: str, keys: PlatformKeys, course: Course) -> Any:
    mentor_platform = platform_for(lms_url, keys, course, TOOL_URL, "/lti/login", "/lti/launch")
    bare_platform = platform_for(lms_url, keys, course, TOOL_URL, "/login", "/launch")
    mentor = create_app(mentor_settings(work, database_url, log_level="WARNING"))  # as the benchmark serves it
    with mentor.app_context():
        upgrade_database()
        register_sandbox(mentor_platform)
        db.session.commit()
    users.metadata.create_all(sa.create_engine(bare_url))
    os.environ.update(_bare_environment(work, bare_platform, bare_url))
    return (
        InProcessTool("mentor-lti", mentor, mentor_platform, "/lti/login", "/lti/launch"),
        InProcessTool("bare", bare_app(), bare_platform, "/login", "/launch"),
    )


def run(label: str, url: str | None, work: Path, lms_url: str, keys: PlatformKeys, course: Course, args: Any) -> None:
    regulars = [p.id for p in course.people if p.id.startswith("regular-")]
    newcomers = [p.id for p in course.people if p.id.startswith("new-")]
    (work / "bare").mkdir(parents=True)
    with fresh_database(work, url) as (mentor_url, described), fresh_database(work / "bare", url) as (bare_url, _):
        mentor, bare = build_tools(work, mentor_url, bare_url, lms_url, keys, course)
        tools = (mentor, bare)
        for tool in tools:  # keys fetched, statements compiled, first course and link written
            for person in regulars[:10]:
                tool.launch(person)
        profiled = {"mentor": mentor, "bare": bare}.get(args.profile or "")
        if profiled:
            profiled.profiler = cProfile.Profile(time.thread_time)  # CPU, as the figure: not waits on I/O
        cpu: dict[str, list[float]] = {tool.name: [] for tool in tools}
        for i in range(args.launches):
            person = newcomers[i // 2 % len(newcomers)] if i % 2 else regulars[10 + i // 2 % (len(regulars) - 10)]
            for tool in tools:
                cpu[tool.name].append(tool.launch(person))
        say(f"\n== {label}: {described}; load average {_load()}")
        for tool in tools:
            values = sorted(cpu[tool.name])
            say(
                f"  {tool.name:<11} CPU ms per login + launch: mean {statistics.mean(values) * 1000:5.1f}, "
                f"median {statistics.median(values) * 1000:5.1f}, p90 {values[int(0.9 * len(values))] * 1000:5.1f}"
            )
        if profiled and profiled.profiler:
            stats = pstats.Stats(profiled.profiler, stream=sys.stdout)
            if args.dump:
                stats.dump_stats(args.dump)
            stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
        with mentor.app.app_context():
            db.session.remove()
            db.engine.dispose()


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--launches", type=int, default=300)
    parser.add_argument("--profile", choices=("mentor", "bare"))
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--dump", help="write the profile's stats to this file")
    args = parser.parse_args()
    course = build_course(regulars=400, newcomers=args.launches)
    with tempfile.TemporaryDirectory(prefix="mentor-lti-launch-profile-") as tmp:
        work = Path(tmp)
        keys = PlatformKeys(work / "platform_keys.json")
        with served() as lms:
            lms.set_app(create_sandbox_app(platform_for(lms.url, keys, course, lms.url, "", "")))
            for name in args.databases.split(","):
                run(name, None if name == "sqlite" else args.postgres_url, work / name, lms.url, keys, course, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
