"""`mentor-lti demo`, as a newcomer runs it: launch from the sandbox LMS's pages, see the statement in the LRS."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def _free_port_block(size: int = 3) -> int:
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + size < 65535 and all(_is_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no block of free ports")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait(predicate: object, what: str, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout:.0f} s. Demo output:\n{log.read_text()[-5000:]}")


def test_demo_launches_from_the_sandbox_and_statements_reach_the_local_lrs(tmp_path: Path) -> None:
    port = _free_port_block()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTOR_LTI_")}
    env["MENTOR_LTI_INSTANCE_PATH"] = str(tmp_path / "instance")
    log = tmp_path / "demo.log"
    with log.open("w") as output:
        demo = subprocess.Popen(
            [sys.executable, "-m", "lti_tool", "demo", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(lambda: "mentor-lti is running" in log.read_text(), "the demo did not start", log)
        sandbox = f"http://127.0.0.1:{port + 1}"
        with httpx.Client(timeout=30) as browser:
            page = browser.get(f"{sandbox}/courses/ment-101/launch/learner-05")
            frame = html.unescape(re.search(r'<iframe id="tool-frame"[^>]*src="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
            auth = browser.get(frame)
            form = browser.get(auth.headers["location"])
            action = re.search(r'action="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.text))
            landing = browser.post(action, data=fields, follow_redirects=True)
            assert "<h1>My mentorship</h1>" in landing.text
        credentials = json.loads((tmp_path / "instance" / "lrs" / "demo-credentials.json").read_text())
        lrs = httpx.Client(
            auth=(credentials["username"], credentials["password"]),
            headers={"X-Experience-API-Version": "1.0.3"},
            timeout=10,
        )
        statements_url = f"http://127.0.0.1:{port + 2}/xAPI/statements"
        _wait(lambda: lrs.get(statements_url).json()["statements"], "no statement reached the LRS", log, timeout=20)
        statement = lrs.get(statements_url).json()["statements"][0]
        lrs.close()
        assert statement["verb"]["id"] == "http://adlnet.gov/expapi/verbs/launched"
        assert statement["actor"]["account"]["homePage"] == sandbox
        assert "name" not in statement["actor"]  # pseudonymous by default
    finally:
        demo.send_signal(signal.SIGINT)
        try:
            demo.wait(timeout=30)
        except subprocess.TimeoutExpired:
            demo.kill()
            demo.wait()
    assert demo.returncode == 0, log.read_text()[-3000:]
