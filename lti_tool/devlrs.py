"""A local Ralph LRS (development, demo and tests): started in a subprocess on a free local port.

`python -m lti_tool.devlrs --port N --data-dir D --auth-file F` is the server process itself. Ralph is the
`lrs` extra (`pip install mentor-lti[lrs]`); it is imported only here, never by the tool.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

START_TIMEOUT = 30.0


class RalphStartError(RuntimeError):
    """Ralph did not answer its heartbeat in time; the message carries its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def write_auth_file(path: Path, username: str, password: str) -> None:
    """Ralph's credentials file: what `ralph auth ... -w` writes, without the CLI's import cost."""
    import bcrypt  # Ralph's own dependency

    # The lowest bcrypt cost: these are throwaway test credentials, and Ralph checks them on each request.
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=4)).decode("ascii")
    entry = {
        "username": username,
        "hash": hashed,
        "scopes": ["all"],
        "agent": {"objectType": "Agent", "mbox": "mailto:lrs-admin@mentor-lti.example"},
    }
    path.write_text(json.dumps([entry]), encoding="utf-8")


@dataclass
class RalphLrs:
    """One Ralph LRS process; `stop()` and `start()` keep the port and the stored statements."""

    data_dir: Path
    username: str
    password: str
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    start_timeout: float = START_TIMEOUT
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return f"{self.base_url}/xAPI"

    @property
    def auth_file(self) -> Path:
        return self.data_dir / "auth.json"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "ralph.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.auth_file.exists():
            write_auth_file(self.auth_file, self.username, self.password)
        # Settings from the developer's shell must not leak into the test LRS.
        env = {key: value for key, value in os.environ.items() if not key.startswith("RALPH_")}
        self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
            [
                sys.executable,
                "-m",
                "lti_tool.devlrs",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir / "statements"),
                "--auth-file",
                str(self.auth_file),
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.data_dir,
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                code = self._process.returncode
                self.stop()
                raise RalphStartError(f"Ralph exited with code {code} before it was ready:\n{self.log_tail()}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base_url}/__heartbeat__", timeout=1.0).status_code == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RalphStartError(
            f"Ralph did not answer {self.base_url}/__heartbeat__ within {self.start_timeout:.0f} s:\n{self.log_tail()}"
        )

    def log_tail(self, limit: int = 8000) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-limit:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None


@contextlib.contextmanager
def run_ralph(
    tmp_dir: Path, *, username: str = "mentor-lti", password: str | None = None, host: str = "127.0.0.1"
) -> Iterator[RalphLrs]:
    """A running Ralph LRS (fs backend under `tmp_dir`), stopped on exit."""
    lrs = RalphLrs(
        data_dir=Path(tmp_dir),
        username=username,
        password=password or secrets.token_urlsafe(16),
        host=host,
        port=free_port(host),
    )
    lrs.start()
    try:
        yield lrs
    finally:
        lrs.stop()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="where the fs backend keeps statements")
    parser.add_argument("--auth-file", type=Path, required=True, help="Ralph's JSON credentials file")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def configure_environment(data_dir: Path, auth_file: Path) -> None:
    # Ralph reads its settings once, when ralph.conf is first imported, so the environment must be
    # complete before any ralph import below.
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "RALPH_APP_DIR": str(data_dir),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_AUTH_FILE": str(auth_file),
            "RALPH_HISTORY_FILE": str(data_dir / "history.json"),
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(data_dir),
            "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(data_dir),
        }
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_environment(args.data_dir.resolve(), args.auth_file.resolve())

    import uvicorn
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.data.fs import FSDataBackend

    # ralph-malph 5.1.0's fs backend writes in CREATE mode, which refuses an existing file: every
    # POST after the first would answer 500. APPEND is what an LRS store needs.
    FSDataBackend.default_operation_type = BaseOperationType.APPEND

    # `ralph runserver` binds 0.0.0.0 and reloads; uvicorn directly keeps us on the host we were given.
    uvicorn.run("ralph.api:app", host=args.host, port=args.port, log_level=args.log_level, reload=False)


if __name__ == "__main__":
    main()
