"""The tool's own commands (`mentor-lti jobs worker`, `mentor-lti serve`) as real processes, configured as an
in-process test app is: tests and benchmarks kill, restart and measure them as an administrator's would be."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from lti_tool.settings import ENV_PREFIX

ROOT = Path(__file__).resolve().parent.parent


def settings_environment(settings: Mapping[str, Any]) -> dict[str, str]:
    """This process's environment with `settings` (as `create_app` takes them) as MENTOR_LTI_* variables."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    for name, value in settings.items():
        text = value if isinstance(value, str) else str(value) if isinstance(value, Path) else json.dumps(value)
        env[f"{ENV_PREFIX}{name.upper()}"] = text
    return env


class ToolProcess:
    """`python -m lti_tool <arguments>` in a session of its own, its output in `log`."""

    def __init__(self, arguments: list[str], settings: Mapping[str, Any], log: Path) -> None:
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lti_tool", *arguments],
                env=settings_environment(settings),
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 60) -> None:
        """Until `text` appears in the log (the command says it is ready); fails if the process exits first."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode} before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {text!r} within {timeout:.0f} s:\n{self.output()}")
            time.sleep(0.05)

    def wait_until_answering(self, url: str, timeout: float = 90) -> None:
        """Until `url` answers 200 (a server is up); fails if the process exits first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"exited with {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s:\n{self.output()}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL, as the kernel's out-of-memory killer or a lost machine does: nothing of it runs after."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM to its session (gunicorn and its workers), then SIGKILL if it does not stop within 30 s."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def jobs_worker(settings: Mapping[str, Any], log: Path) -> Iterator[ToolProcess]:
    """`mentor-lti jobs worker`, waiting for jobs when this is entered; stopped (if still alive) on exit."""
    worker = ToolProcess(["jobs", "worker"], settings, log)
    try:
        worker.wait_for_output("Matching jobs worker waiting")
        yield worker
    finally:
        worker.stop()


@contextmanager
def served_tool(
    settings: Mapping[str, Any], port: int, log: Path, *, workers: int = 2, threads: int = 4
) -> Iterator[ToolProcess]:
    """`mentor-lti serve` (gunicorn) on 127.0.0.1:`port`, answering when this is entered; stopped on exit."""
    server = ToolProcess(
        ["serve", "--port", str(port), "--workers", str(workers), "--threads", str(threads)], settings, log
    )
    try:
        server.wait_until_answering(f"http://127.0.0.1:{port}/lti/jwks")
        yield server
    finally:
        server.stop()


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers), read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(entry, "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                    found.append(int(entry.name))
            except OSError:
                continue
    return sorted(found)
