"""LTI launches of mentor-lti beside a bare pylti1p3 tool (issue 12): launches/s, latency, errors, SQL statements.

    .venv/bin/python benchmarks/launches.py [--databases sqlite,postgresql] [--clients 20] [--seconds 30]
        [--burst 200] [--burst-seconds 10] [--sequential 40] [--no-two-instances]

Both tools run under gunicorn with 2 workers x 4 threads (mentor-lti as `mentor-lti serve`, the bare tool with
the same worker class) on loopback, on a fresh database each, against one sandbox LMS: its keys, courses and
people (lti_tool/sandbox/platform.py), signing a launch for any of its learners; its JWKS is served over HTTP.
A launch is what a browser does: the login initiation (GET, 302 to the platform), the platform's auth answer
(signed in this process by the sandbox's own `authorize`, as its /auth page does) and the form post (303).

The bare tool is what pylti1p3next does alone: OIDC login, launch validation with its public key cache (a dict
per process), state and nonce in the Flask session cookie, and one upsert into a `users` table.

Per database, interleaved so that other load on the machine hits both alike:
- SQL statements per launch (login + launch), counted in-process with a `before_cursor_execute` listener;
- sequential launches, alternating between the tools: p50/p95 and launches/s;
- `--clients` concurrent clients, alternating the tools every `--seconds`/3 until each had `--seconds`;
- a burst of `--burst` learners who never launched before, started evenly over `--burst-seconds` (open loop:
  latency counts from the planned start), p95 target ≤ 500 ms and no error.
Then, on PostgreSQL, two mentor-lti instances on one database with Redis launch state (`--redis-url`, database
15 by default), behind one public address: the load client sends each login to one instance and its launch to
the other; every launch must succeed and be recorded once. Server CPU is the gunicorn processes' user + system
time over the concurrent phase (/proc). Only loopback traffic; every loop is bounded in count and time.

Targets (issue 12): ≤ 12 SQL statements per login + launch, ≥ 0.8x the bare tool's launches/s in the same run,
burst p95 ≤ 500 ms with no error. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask, redirect, session, url_for  # noqa: E402

from benchmarks.xapi_delivery import fresh_database  # noqa: E402
from lti_tool import create_app  # noqa: E402
from lti_tool.database import upgrade_database  # noqa: E402
from lti_tool.extensions import db  # noqa: E402
from lti_tool.sandbox.app import create_sandbox_app  # noqa: E402
from lti_tool.sandbox.platform import Course, Person, PlatformKeys, SandboxPlatform, ToolEndpoints  # noqa: E402
from lti_tool.sandbox.setup import register_sandbox  # noqa: E402
from tests.processes import child_pids  # noqa: E402
from tests.servers import served  # noqa: E402

LAUNCH_STATEMENTS, SPEED_RATIO, BURST_P95_MS = 12, 0.8, 500.0
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/15"
COURSE = "bench-101"
WORKERS, THREADS = 2, 4
SECRET = "benchmark-secret-key-not-for-production"  # noqa: S105  (loopback servers of this run only)
LOOPBACK = '["127.0.0.0/8", "::1/128"]'
REQUEST_TIMEOUT = 30.0


def say(text: str = "") -> None:
    print(text, flush=True)


# --- The bare tool: pylti1p3next alone, as its README shows it -------------------------------------------------

users = sa.Table(
    "users",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("issuer", sa.String(500), nullable=False),
    sa.Column("sub", sa.String(255), nullable=False),
    sa.Column("name", sa.String(300)),
    sa.UniqueConstraint("issuer", "sub"),
)


def bare_app() -> Flask:
    """The bare tool (gunicorn imports it as `benchmarks.launches:bare_app()`); configured by BARE_* variables."""
    from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
    from pylti1p3.launch_data_storage.base import LaunchDataStorage
    from pylti1p3.tool_config import ToolConfDict
    from sqlalchemy.dialects import postgresql, sqlite

    class ProcessCache(LaunchDataStorage[Any]):
        """pylti1p3's public key cache in this process's memory (what flask-caching's SimpleCache does)."""

        def __init__(self) -> None:
            super().__init__()
            self._values: dict[str, tuple[Any, float]] = {}

        def can_set_keys_expiration(self) -> bool:
            return True

        def get_value(self, key: str) -> Any:
            value, until = self._values.get(key, (None, 0.0))
            return value if until > time.monotonic() else None

        def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
            self._values[key] = (value, time.monotonic() + (exp or 3600))

        def check_value(self, key: str) -> bool:
            return self.get_value(key) is not None

    env = os.environ
    issuer, client_id = env["BARE_ISSUER"], env["BARE_CLIENT_ID"]
    tool_conf = ToolConfDict(
        {
            issuer: [
                {
                    "default": True,
                    "client_id": client_id,
                    "auth_login_url": env["BARE_AUTH_URL"],
                    "auth_token_url": env["BARE_AUTH_URL"],
                    "key_set_url": env["BARE_JWKS_URL"],
                    "deployment_ids": [env["BARE_DEPLOYMENT_ID"]],
                }
            ]
        }
    )
    tool_conf.set_private_key(issuer, Path(env["BARE_PRIVATE_KEY"]).read_text(), client_id=client_id)
    url = env["BARE_DATABASE_URL"]
    engine = sa.create_engine(url, **({"connect_args": {"timeout": 30}} if url.startswith("sqlite") else {}))
    dialect = postgresql if url.startswith("postgresql") else sqlite
    key_cache = ProcessCache()
    app = Flask("bare_tool")
    app.config.update(SECRET_KEY=env["BARE_SECRET_KEY"], SESSION_COOKIE_SAMESITE="Lax")
    app.extensions["bare_engine"] = engine

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        oidc = FlaskOIDCLogin(FlaskRequest(), tool_conf)
        return oidc.redirect(url_for("launch", _external=True))

    @app.post("/launch")
    def launch() -> Any:
        message = FlaskMessageLaunch(FlaskRequest(), tool_conf)
        message.set_public_key_caching(key_cache, 3600)
        data = message.get_launch_data()
        insert = dialect.insert(users).values(issuer=data["iss"], sub=data["sub"], name=data.get("name"))
        with engine.begin() as connection:
            user_id = connection.execute(
                insert.on_conflict_do_update(
                    index_elements=["issuer", "sub"], set_={"name": insert.excluded.name}
                ).returning(users.c.id)
            ).scalar_one()
        session["user_id"] = user_id
        return redirect(url_for("home"), code=303)

    @app.get("/home")
    def home() -> str:
        return f"<h1>Hello, user {session.get('user_id')}</h1>"

    @app.get("/ready")
    def ready() -> str:
        return "ok"

    return app


# --- Tools under gunicorn --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Tool:
    """A tool served by gunicorn: its URLs, its sandbox platform (which posts to its launch URL) and its process."""

    name: str
    url: str
    login_path: str
    launch_path: str
    platform: SandboxPlatform
    process: subprocess.Popen[bytes] | None = None
    app: Flask | None = None  # built in this process too, to count statements

    def cpu_seconds(self) -> float:
        """User + system CPU time of the gunicorn master and its workers so far."""
        assert self.process is not None
        pids = [self.process.pid, *child_pids(self.process.pid)]
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total


def start(command: list[str], env: dict[str, str], log: Path, ready_url: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        process = subprocess.Popen(  # noqa: S603  (this script's own commands)
            command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{command[:3]} exited with {process.returncode}; see {log}")
        try:
            if httpx.get(ready_url, timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(process)
    raise RuntimeError(f"{command[:3]} did not answer {ready_url} within 90 s; see {log}")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # the session this script started: gunicorn and its workers
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def platform_for(lms_url: str, keys: PlatformKeys, course: Course, tool_url: str, login: str, launch: str) -> Any:
    return SandboxPlatform(
        base_url=lms_url,
        tool=ToolEndpoints(login_url=tool_url + login, launch_url=tool_url + launch, jwks_url=f"{tool_url}/jwks"),
        keys=keys,
        courses=(course,),
    )


def mentor_env(work: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MENTOR_LTI_INSTANCE_PATH": str(work / "instance"),
        "MENTOR_LTI_DATABASE_URL": database_url,
        "MENTOR_LTI_SECRET_KEY": SECRET,
        "MENTOR_LTI_COOKIE_SECURE": "false",
        "MENTOR_LTI_COOKIE_SAMESITE": "Lax",
        "MENTOR_LTI_COOKIE_PARTITIONED": "false",
        "MENTOR_LTI_ALLOWED_PRIVATE_NETWORKS": LOOPBACK,
        "MENTOR_LTI_ROSTER_SYNC_INTERVAL_SECONDS": "0",
        "MENTOR_LTI_LOG_LEVEL": "WARNING",
        **extra,
    }


def mentor_settings(work: Path, database_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "instance_path": work / "instance",
        "database_url": database_url,
        "secret_key": SECRET,
        "cookie_secure": False,
        "cookie_samesite": "Lax",
        "cookie_partitioned": False,
        "allowed_private_networks": ["127.0.0.0/8", "::1/128"],
        "roster_sync_interval_seconds": 0,
        **extra,
    }


def serve_mentor(work: Path, database_url: str, port: int, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "lti_tool", "serve", "--port", str(port)]
    command += ["--workers", str(WORKERS), "--threads", str(THREADS)]
    return start(command, mentor_env(work, database_url, **extra), log, f"http://127.0.0.1:{port}/lti/jwks")


def serve_bare(work: Path, database_url: str, port: int, platform: SandboxPlatform, log: Path) -> Any:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **_bare_environment(work, platform, database_url)}
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS)]
    command += ["--threads", str(THREADS), "--worker-class", "gthread", "--keep-alive", "2", "--timeout", "30"]
    command += ["benchmarks.launches:bare_app()"]
    return start(command, env, log, f"http://127.0.0.1:{port}/ready")


# --- Launches --------------------------------------------------------------------------------------------------


class LaunchFailed(Exception):
    pass


def launch_once(http: httpx.Client, tool: Tool, person: str, *, launch_url: str | None = None) -> None:
    """Login (302 to the platform), the platform's signed answer, the form post (303); raises LaunchFailed."""
    params = tool.platform.login_initiation_params(COURSE, person)
    login = http.get(tool.url + tool.login_path, params=params)
    if login.status_code != 302:
        raise LaunchFailed(f"login {login.status_code}")
    _, fields = tool.platform.authorize(dict(parse_qsl(urlsplit(login.headers["location"]).query)))
    launched = http.post(launch_url or (tool.url + tool.launch_path), data=fields)
    if launched.status_code != 303:
        raise LaunchFailed(f"launch {launched.status_code}")


@dataclass
class Run:
    """Latencies (seconds) of the launches that succeeded, the errors, and the wall time they took."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, latency: float | None, error: str | None = None) -> None:
        with self._lock:
            if error is None and latency is not None:
                self.latencies.append(latency)
            else:
                self.errors[error or "?"] = self.errors.get(error or "?", 0) + 1

    def merge(self, other: Run) -> None:
        self.latencies += other.latencies
        for error, times in other.errors.items():
            self.errors[error] = self.errors.get(error, 0) + times
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000

    @property
    def cpu_ms_per_launch(self) -> float:
        return self.cpu_seconds * 1000 / len(self.latencies) if self.latencies else float("nan")


def timed(run: Run, action: Callable[[], None], started: float | None = None) -> None:
    begin = time.perf_counter() if started is None else started
    try:
        action()
    except LaunchFailed as error:
        run.add(None, str(error))
    except Exception as error:  # a refused auth, a connection error: counted, the run goes on
        run.add(None, type(error).__name__)
    else:
        run.add(time.perf_counter() - begin)


# Each client changes browsers (cookie jars) after this many launches: the bare tool keeps pylti1p3's nonces and
# launch data in its Flask session cookie, which grows by some 300 bytes a launch and, about 20 launches on, takes
# the request's headers past gunicorn's limit (HTTP 431 on every request). mentor-lti keeps them server-side.
BROWSER_LAUNCHES = 10


def sequential(tools: list[Tool], people: list[str], count: int) -> dict[str, Run]:
    runs = {tool.name: Run() for tool in tools}
    clients = {tool.name: httpx.Client(timeout=REQUEST_TIMEOUT) for tool in tools}
    try:
        for i in range(count):
            if i and i % BROWSER_LAUNCHES == 0:
                for client in clients.values():
                    client.close()
                clients = {tool.name: httpx.Client(timeout=REQUEST_TIMEOUT) for tool in tools}
            for tool in tools:  # alternating: whatever else the machine does hits both
                begin = time.perf_counter()
                person = people[i % len(people)]
                http = clients[tool.name]
                timed(runs[tool.name], lambda tool=tool, person=person, http=http: launch_once(http, tool, person))
                runs[tool.name].seconds += time.perf_counter() - begin
    finally:
        for client in clients.values():
            client.close()
    return runs


def concurrent(tool: Tool, people: list[str], clients: int, seconds: float) -> Run:
    """`clients` closed-loop clients launching for `seconds` (each launch bounded by the request timeout)."""
    run = Run()
    stop_at = time.perf_counter() + seconds
    cpu_before = tool.cpu_seconds()

    def client(index: int) -> None:
        n, launched = index, 0
        http = httpx.Client(timeout=REQUEST_TIMEOUT)
        try:
            while time.perf_counter() < stop_at:
                if launched and launched % BROWSER_LAUNCHES == 0:
                    http.close()
                    http = httpx.Client(timeout=REQUEST_TIMEOUT)
                timed(run, lambda n=n, http=http: launch_once(http, tool, people[n % len(people)]))
                n += clients
                launched += 1
        finally:
            http.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    run.seconds = time.perf_counter() - began
    run.cpu_seconds = tool.cpu_seconds() - cpu_before
    return run


def burst(
    tool: Tool, newcomers: list[str], seconds: float, *, route: Callable[[int], tuple[Tool, str]] | None = None
) -> Run:
    """Each newcomer's launch starts at its planned time, evenly over `seconds`; latency counts from that time.
    `route` picks, per launch, the tool to log in on and the URL to post the launch to (default: `tool`'s)."""
    run = Run()
    t0 = time.perf_counter() + 0.2
    local = threading.local()

    def one(index: int) -> None:
        planned = t0 + index * seconds / len(newcomers)
        time.sleep(max(0.0, planned - time.perf_counter()))
        if not hasattr(local, "http"):
            local.http = httpx.Client(timeout=REQUEST_TIMEOUT)
        login_tool, launch_url = route(index) if route else (tool, None)
        timed(run, lambda: launch_once(local.http, login_tool, newcomers[index], launch_url=launch_url), planned)

    with ThreadPoolExecutor(64) as pool:
        list(pool.map(one, range(len(newcomers))))
    run.seconds = time.perf_counter() - t0
    return run


# --- SQL statements per launch, in-process ---------------------------------------------------------------------


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def statements_per_launch(tool: Tool, engine: sa.Engine, people: list[str]) -> float:
    """Mean statements of login + launch over relaunches and first launches, on an in-process copy of the tool."""
    assert tool.app is not None
    with served(tool.app) as server, httpx.Client(timeout=REQUEST_TIMEOUT) as http:
        local = replace(tool, url=server.url, platform=replace(tool.platform, tool=_endpoints(tool, server.url)))
        launch_once(http, local, people[0])  # the platform's keys cached, as in a running tool
        counts = []
        for person in people:
            with counting(engine) as seen:
                launch_once(http, local, person)
            counts.append(len(seen))
    return statistics.mean(counts)


def _endpoints(tool: Tool, url: str) -> ToolEndpoints:
    return ToolEndpoints(login_url=url + tool.login_path, launch_url=url + tool.launch_path, jwks_url=f"{url}/jwks")


# --- The run ---------------------------------------------------------------------------------------------------


@dataclass
class Results:
    database: str
    statements: dict[str, float]
    sequential: dict[str, Run]
    concurrent: dict[str, Run]
    bursts: dict[str, Run]


def people_of(course: Course, prefix: str) -> list[str]:
    return [p.id for p in course.people if p.id.startswith(prefix)]


def run_database(
    label: str, url: str | None, work: Path, lms_url: str, keys: PlatformKeys, course: Course, args: Any
) -> Results:
    regulars, newcomers = people_of(course, "regular-"), people_of(course, "new-")
    with ExitStack() as stack:
        mentor_url, bare_url = stack.enter_context(fresh_database(work, url)), None
        (work / "bare").mkdir(exist_ok=True)
        bare_url = stack.enter_context(fresh_database(work / "bare", url))
        mentor_port, bare_port = free_port(), free_port()
        mentor = Tool(
            "mentor-lti",
            f"http://127.0.0.1:{mentor_port}",
            "/lti/login",
            "/lti/launch",
            platform_for(lms_url, keys, course, f"http://127.0.0.1:{mentor_port}", "/lti/login", "/lti/launch"),
        )
        bare = Tool(
            "bare",
            f"http://127.0.0.1:{bare_port}",
            "/login",
            "/launch",
            platform_for(lms_url, keys, course, f"http://127.0.0.1:{bare_port}", "/login", "/launch"),
        )
        mentor.app = create_app(mentor_settings(work, mentor_url[0]))
        with mentor.app.app_context():
            upgrade_database()
            register_sandbox(mentor.platform)
            db.session.commit()
            mentor_engine = db.engine
        bare_engine = sa.create_engine(bare_url[0])
        users.metadata.create_all(bare_engine)
        for name, value in _bare_environment(work, bare.platform, bare_url[0]).items():
            os.environ[name] = value  # the in-process copy of the bare tool reads them too
        bare.app = bare_app()
        log = work / f"servers-{label}.log"
        mentor.process = serve_mentor(work, mentor_url[0], mentor_port, log)
        stack.callback(stop, mentor.process)
        bare.process = serve_bare(work, bare_url[0], bare_port, bare.platform, log)
        stack.callback(stop, bare.process)
        tools = [bare, mentor]

        say(f"\n== {label}: {mentor_url[1]}; load average before: {_load()}")
        counted = {
            "bare": statements_per_launch(bare, bare.app.extensions["bare_engine"], regulars[:5] + newcomers[-5:]),
            "mentor-lti": statements_per_launch(mentor, mentor_engine, regulars[:5] + newcomers[-5:]),
        }
        for tool in tools:  # each worker fetches (bare) or reads (mentor-lti) the platform's keys once
            sequential([tool], regulars, 2 * WORKERS * THREADS)
        seq = sequential(tools, regulars, args.sequential)
        conc = {tool.name: Run() for tool in tools}
        rounds = 3
        for _ in range(rounds):
            for tool in tools:
                conc[tool.name].merge(concurrent(tool, regulars, args.clients, args.seconds / rounds))
        bursts = {}
        for tool in tools:
            bursts[tool.name] = burst(tool, newcomers[: args.burst], args.burst_seconds)
        say(f"   load average after: {_load()}")
    for engine in (bare_engine,):
        engine.dispose()
    with mentor.app.app_context():
        db.session.remove()
        db.engine.dispose()
    return Results(label, counted, seq, conc, bursts)


def _bare_environment(work: Path, platform: SandboxPlatform, database_url: str) -> dict[str, str]:
    key_file = work / "bare_tool_key.pem"
    if not key_file.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        key_file.write_bytes(pem)
    return {
        "BARE_ISSUER": platform.issuer,
        "BARE_CLIENT_ID": platform.client_id,
        "BARE_DEPLOYMENT_ID": platform.deployment_id,
        "BARE_AUTH_URL": platform.auth_url,
        "BARE_JWKS_URL": platform.jwks_url,
        "BARE_PRIVATE_KEY": str(key_file),
        "BARE_DATABASE_URL": database_url,
        "BARE_SECRET_KEY": SECRET,
    }


def two_instances(work: Path, lms_url: str, keys: PlatformKeys, course: Course, args: Any) -> tuple[Run, int, int]:
    """Two mentor-lti instances, one PostgreSQL, Redis launch state; each login on one, its launch on the other."""
    newcomers = people_of(course, "new-")[: args.burst]
    ports = free_port(), free_port()
    public = f"http://127.0.0.1:{ports[0]}"  # the address both stand behind: the LMS's redirect_uri
    with fresh_database(work / "two", POSTGRES_URL) as (url, _):
        platform = platform_for(lms_url, keys, course, public, "/lti/login", "/lti/launch")
        settings = mentor_settings(work, url, redis_url=args.redis_url, public_base_url=public)
        app = create_app(settings)
        with app.app_context():
            upgrade_database()
            register_sandbox(platform)
            db.session.commit()
        extra = {"MENTOR_LTI_REDIS_URL": args.redis_url, "MENTOR_LTI_PUBLIC_BASE_URL": public}
        log = work / "servers-two-instances.log"
        processes: list[subprocess.Popen[bytes]] = []
        try:
            for port in ports:
                processes.append(serve_mentor(work, url, port, log, **extra))
            instances = [
                Tool(f"instance-{i}", f"http://127.0.0.1:{port}", "/lti/login", "/lti/launch", platform)
                for i, port in enumerate(ports)
            ]
            for tool in instances:
                sequential([tool], people_of(course, "regular-"), 2 * WORKERS * THREADS)

            # The load balancer's round robin, per request: a launch whose login went to one instance is posted to
            # the other.
            def route(index: int) -> tuple[Tool, str]:
                login = instances[index % 2]
                return login, instances[(index + 1) % 2].url + "/lti/launch"

            with app.app_context():
                before = _launched(db.session)
            run = burst(instances[0], newcomers, args.burst_seconds, route=route)
        finally:
            for process in processes:
                stop(process)
        with app.app_context():
            recorded = db.session.execute(
                sa.text("SELECT count(*) FROM lti_user WHERE sub = ANY(:subs)"),
                {"subs": [platform.sub(course.person(p)) for p in newcomers]},
            ).scalar_one()
            launched = _launched(db.session) - before  # the burst's own, not the warm-up's
            db.session.remove()
            db.engine.dispose()
    return run, recorded, launched


def _launched(session: Any) -> int:
    count: int = session.execute(
        sa.text("SELECT count(*) FROM statement_outbox WHERE event = 'lti-launch'")
    ).scalar_one()
    return count


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def report(results: list[Results]) -> bool:
    met = True
    for r in results:
        say(f"\n{r.database}                      bare tool      mentor-lti     target")
        bare_s, ours_s = r.statements["bare"], r.statements["mentor-lti"]
        ok = ours_s <= LAUNCH_STATEMENTS
        met &= ok
        say(f"  SQL statements / launch    {bare_s:>9.1f}      {ours_s:>10.1f}     ≤ {LAUNCH_STATEMENTS} {_mark(ok)}")
        for phase, runs in (("sequential", r.sequential), ("concurrent", r.concurrent), ("burst", r.bursts)):
            bare, ours = runs["bare"], runs["mentor-lti"]
            ratio = ours.per_second / bare.per_second if bare.per_second else float("nan")
            line = f"  {phase:<11} launches/s     {bare.per_second:>9.1f}      {ours.per_second:>10.1f}"
            if phase == "concurrent":
                ok = ratio >= SPEED_RATIO and ours.error_count == 0
                met &= ok
                line += f"     ≥ {SPEED_RATIO}x bare: {ratio:.2f}x {_mark(ok)}"
            else:
                line += f"     ({ratio:.2f}x)"
            say(line)
            say(
                f"              p50 / p95 ms   {bare.percentile(0.5):>5.0f} / {bare.percentile(0.95):<5.0f}  "
                f"{ours.percentile(0.5):>6.0f} / {ours.percentile(0.95):<5.0f}"
            )
            if phase == "burst":
                ok = ours.percentile(0.95) <= BURST_P95_MS and ours.error_count == 0
                met &= ok
                say(f"              p95 target ≤ {BURST_P95_MS:.0f} ms, no error: {_mark(ok)}")
            if phase == "concurrent":
                say(f"              server CPU ms  {bare.cpu_ms_per_launch:>9.1f}      {ours.cpu_ms_per_launch:>10.1f}")
            say(
                f"              errors         {bare.error_count:>9}      {ours.error_count:>10}"
                + (f"  mentor-lti {ours.errors}" if ours.errors else "")
                + (f"  bare {bare.errors}" if bare.errors else "")
            )
    return met


def _mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def build_course(regulars: int, newcomers: int) -> Course:
    people = [Person(f"regular-{i:05d}", "Regular", f"Learner {i}", "Learner") for i in range(regulars)]
    people += [Person(f"new-{i:05d}", "New", f"Learner {i}", "Learner") for i in range(newcomers)]
    return Course(COURSE, "Launch benchmark", "BENCH-101", "Mentoring", tuple(people))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--redis-url", default=REDIS_URL)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--sequential", type=int, default=40)
    parser.add_argument("--no-two-instances", action="store_true")
    args = parser.parse_args()

    course = build_course(regulars=400, newcomers=args.burst)
    results: list[Results] = []
    with tempfile.TemporaryDirectory(prefix="mentor-lti-launches-") as tmp:
        work = Path(tmp)
        keys = PlatformKeys(work / "platform_keys.json")
        with served() as lms:
            lms.set_app(create_sandbox_app(platform_for(lms.url, keys, course, lms.url, "", "")))
            say(f"2 cores shared; gunicorn {WORKERS} workers x {THREADS} threads per tool; load average {_load()}")
            for name in args.databases.split(","):
                url = None if name == "sqlite" else args.postgres_url
                (work / name).mkdir()
                results.append(run_database(name, url, work / name, lms.url, keys, course, args))
            met = report(results)
            if not args.no_two_instances:
                run, recorded, launched = two_instances(work, lms.url, keys, course, args)
                lost = args.burst - recorded
                ok = run.error_count == 0 and lost == 0 and launched == args.burst
                met &= ok
                say("\ntwo instances (PostgreSQL, Redis launch state), each login on one, its launch on the other:")
                say(
                    f"  {len(run.latencies)} of {args.burst} launches in {run.seconds:.1f} s, p50 / p95 "
                    f"{run.percentile(0.5):.0f} / {run.percentile(0.95):.0f} ms, errors {run.error_count} "
                    f"{run.errors or ''}, learners recorded {recorded}, `launched` statements {launched}: {_mark(ok)}"
                )
            say(f"\nload average at the end: {_load()}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
