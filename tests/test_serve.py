"""`mentor-lti serve` as an administrator runs it: gunicorn workers on a fresh instance, real launches, and behind
nginx (the supported production set-up) slow clients stall no one."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from lti_tool.devlrs import free_port
from lti_tool.sandbox.app import create_sandbox_app
from lti_tool.sandbox.setup import build_sandbox
from tests.conftest import LOOPBACK_NETWORKS
from tests.lti_browser import LtiBrowser, heading
from tests.servers import served


@pytest.fixture
def served_tool(tmp_path: Path, database_url: str) -> Iterator[tuple[str, dict[str, str], Path]]:
    env = {
        **os.environ,
        "MENTOR_LTI_INSTANCE_PATH": str(tmp_path / "instance"),
        "MENTOR_LTI_DATABASE_URL": database_url,
        "MENTOR_LTI_COOKIE_SECURE": "0",
        "MENTOR_LTI_COOKIE_SAMESITE": "Lax",
        # The sandbox LMS whose keys the tool fetches is on loopback, which the shipped settings refuse.
        "MENTOR_LTI_ALLOWED_PRIVATE_NETWORKS": json.dumps(LOOPBACK_NETWORKS),
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "lti_tool", "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(f"{url}/lti/jwks", "mentor-lti serve", process, log)
            yield url, env, log
        finally:
            process.terminate()
            process.wait(timeout=20)


def _wait_until_up(url: str, name: str, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"{name} did not answer within 60 s:\n{log.read_text()}")


def test_serve_takes_no_forwarded_scheme_without_trusted_proxies(served_tool: tuple[str, dict[str, str], Path]) -> None:
    url, _, _ = served_tool
    # A client on this machine that pretends to be the TLS proxy: no HSTS, no https links (TRUSTED_PROXIES is 0).
    page = httpx.get(f"{url}/lti/canvas.json", headers={"X-Forwarded-Proto": "https"}, timeout=30)
    assert page.status_code == 200
    assert "strict-transport-security" not in page.headers
    assert page.json()["target_link_uri"] == f"{url}/lti/launch"


def test_serve_upgrades_a_fresh_database_and_handles_launches_in_several_workers(
    served_tool: tuple[str, dict[str, str], Path], tmp_path: Path
) -> None:
    url, env, log = served_tool
    with served() as lms:
        platform = build_sandbox(tmp_path / "lms", lms.url, url)
        lms.set_app(create_sandbox_app(platform))
        register = subprocess.run(
            [
                sys.executable, "-m", "lti_tool", "platform", "add", "--name", "Sandbox", "--issuer", platform.issuer,
                "--client-id", platform.client_id, "--deployment-id", platform.deployment_id,
                "--auth-url", platform.auth_url, "--token-url", platform.token_url, "--jwks-url", platform.jwks_url,
            ],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert register.returncode == 0, register.stderr
        people = ["instructor", "ta"] + [f"learner-{n:02d}" for n in range(1, 9)]
        for person in people:
            expected = "Program setup" if person in ("instructor", "ta") else "My mentorship"
            with contextlib.closing(LtiBrowser(url, platform)) as browser:
                assert heading(browser.launch(person=person)) == expected
    served_by = set(re.findall(r'"POST /lti/launch" 303 .* pid=<?(\d+)', log.read_text()))
    assert served_by, log.read_text()
    # Query strings (login hints, message hints) never reach the access log.
    assert "login_hint" not in log.read_text()


NGINX = Path("/usr/sbin/nginx")
SLOW_CLIENTS = 24  # of each kind: three times the threads of `serve --workers 2 --threads 4`
# What a slow client sends at once, then what it trickles, a byte every half second: headers that never end
# (slowloris), or a launch whose form body never arrives.
SLOW_REQUESTS = [
    (b"GET /lti/jwks HTTP/1.1\r\nHost: 127.0.0.1\r\n", b"X-Slow: 1\r\n" * 50),
    (
        b"POST /lti/launch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\n",
        b"id_token=" + b"a" * 491,
    ),
]


def _readme_nginx_site() -> str:
    """The nginx site README's "Running in production" gives administrators: the test runs that very text."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    production = readme.split("\n## Running in production\n", 1)[1].split("\n## ", 1)[0]
    return production.split("```nginx\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def nginx() -> Path:
    """Debian's nginx. Without it a developer's run skips; a CI run (where `make test` installs it) fails."""
    if not NGINX.exists():
        message = (
            f"{NGINX} is missing: the production set-up test needs Debian's nginx. "
            "Run `make test` (it installs it), or `apt-get install -y nginx`."
        )
        if os.environ.get("CI", "").lower() in ("1", "true"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return NGINX


@pytest.fixture
def nginx_in_front(nginx: Path, served_tool: tuple[str, dict[str, str], Path], tmp_path: Path) -> Iterator[str]:
    """A real nginx on loopback with README's site, proxying to `mentor-lti serve`."""
    tool_url, _env, _log = served_tool
    site = _readme_nginx_site()
    assert "proxy_pass http://127.0.0.1:5000;" in site, site
    port = free_port()
    # As root, nginx's workers would run as nobody, who cannot enter pytest's tmp_path.
    user = "user root;" if os.geteuid() == 0 else ""
    # nginx's compiled-in temporary folders are under /var/lib/nginx: keep everything in tmp_path.
    temp_kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp_paths = "\n".join(f"{kind}_temp_path {tmp_path / f'nginx-{kind}'};" for kind in temp_kinds)
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"""{user}
worker_processes 1;
pid {tmp_path / "nginx.pid"};
events {{ worker_connections 256; }}
http {{
    access_log off;
    {temp_paths}
    server {{
        listen 127.0.0.1:{port};
        {site.replace("http://127.0.0.1:5000", tool_url)}
    }}
}}
"""
    )
    log = tmp_path / "nginx.log"
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(config), "-e", str(log), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{url}/lti/jwks", "nginx", process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def _slow_clients(url: str) -> Iterator[None]:
    """SLOW_CLIENTS connections per SLOW_REQUESTS kind, each sending its opening, then trickling the rest a byte
    every half second until the block ends."""
    host, port = url.removeprefix("http://").split(":")
    clients = [
        (socket.create_connection((host, int(port)), timeout=2), opening, trickle)
        for opening, trickle in SLOW_REQUESTS
        for _ in range(SLOW_CLIENTS)
    ]
    stop = threading.Event()

    def send(position: int | None) -> None:
        for client, opening, trickle in clients:
            data = opening if position is None else trickle[position : position + 1]
            with contextlib.suppress(OSError):  # a server may hang up on a slow client: that is allowed
                client.sendall(data)

    def dribble() -> None:
        # At most as many rounds as the longest trickle has bytes, and it stops when the block ends.
        for position in range(max(len(trickle) for _opening, trickle in SLOW_REQUESTS)):
            if stop.wait(0.5):
                return
            send(position)

    send(None)
    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        for client, _opening, _trickle in clients:
            client.close()


def test_behind_nginx_slow_clients_do_not_stall_other_users(nginx_in_front: str) -> None:
    with _slow_clients(nginx_in_front):
        for path in ("/lti/jwks", "/static/mentor.css", "/lti/jwks"):
            started = time.monotonic()
            response = httpx.get(f"{nginx_in_front}{path}", timeout=5)
            assert response.status_code == 200
            assert time.monotonic() - started < 2, f"{path} took {time.monotonic() - started:.1f} s"
