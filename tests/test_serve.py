"""`mentor-lti serve` as an administrator runs it: gunicorn workers on a fresh instance, real launches."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lti_tool.devlrs import free_port
from lti_tool.sandbox.app import create_sandbox_app
from lti_tool.sandbox.setup import build_sandbox
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
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "lti_tool", "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(f"{url}/lti/jwks", process, log)
            yield url, env, log
        finally:
            process.terminate()
            process.wait(timeout=20)


def _wait_until_up(url: str, process: subprocess.Popen[Any], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mentor-lti serve exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    pytest.fail(f"mentor-lti serve did not answer within 60 s:\n{log.read_text()}")


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
            browser = LtiBrowser(url, platform)
            expected = "Program setup" if person in ("instructor", "ta") else "My mentorship"
            assert heading(browser.launch(person=person)) == expected
            browser.close()
    served_by = set(re.findall(r'"POST /lti/launch" 303 .* pid=<?(\d+)', log.read_text()))
    assert served_by, log.read_text()
    # Query strings (login hints, message hints) never reach the access log.
    assert "login_hint" not in log.read_text()
