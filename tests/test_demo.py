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

from tests.processes import child_pids

# The demo itself waits up to 90 s for its LRS and 120 s for the tool and for the sandbox (a busy machine).
START_WAIT = 330


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


def _start_demo(tmp_path: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MENTOR_LTI_")}
    env["MENTOR_LTI_INSTANCE_PATH"] = str(tmp_path / "instance")
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "lti_tool", "demo", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so that a failed test can kill whatever it left (os.killpg)
        )


def _descendants(pid: int) -> list[int]:
    found = []
    for child in child_pids(pid):
        found += [child, *_descendants(child)]
    return found


def _is_running(pid: int) -> bool:
    """A process that has exited, even one not yet reaped (a zombie), runs no more and holds no port."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_demo_launches_from_the_sandbox_and_statements_reach_the_local_lrs(tmp_path: Path) -> None:
    port = _free_port_block()
    log = tmp_path / "demo.log"
    demo = _start_demo(tmp_path, port, log)
    try:
        _wait(lambda: "mentor-lti is running" in log.read_text(), "the demo did not start", log, timeout=START_WAIT)
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


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_to_the_demo_alone_stops_every_process_it_started_and_frees_its_ports(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    """A service manager or `kill` signals the demo's own process, not its children (as Ctrl+C in a terminal does)."""
    port = _free_port_block()
    log = tmp_path / "demo.log"
    demo = _start_demo(tmp_path, port, log)
    try:
        _wait(lambda: "mentor-lti is running" in log.read_text(), "the demo did not start", log, timeout=START_WAIT)
        started = _descendants(demo.pid)
        # the tool's gunicorn master and its workers, three workers, the sandbox and the LRS
        assert len(started) >= 7, started
        assert not any(_is_free(port + offset) for offset in range(3))
        demo.send_signal(stop_signal)
        demo.wait(timeout=30)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    assert demo.returncode == 0, log.read_text()[-3000:]
    deadline = time.monotonic() + 5
    while any(_is_running(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in started if _is_running(pid)] == []
    assert all(_is_free(port + offset) for offset in range(3))
