"""`mentor-lti demo`: the tool and the sandbox LMS as child processes, stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import click
import httpx

# Plain http on 127.0.0.1: the tool and the sandbox are the same site, so Lax cookies work in the iframe.
DEMO_ENVIRONMENT = {
    "MENTOR_LTI_SANDBOX_ENABLED": "1",
    "MENTOR_LTI_COOKIE_SECURE": "0",
    "MENTOR_LTI_COOKIE_SAMESITE": "Lax",
    "MENTOR_LTI_COOKIE_PARTITIONED": "0",
}


def run_demo(port: int) -> None:
    env = {**os.environ, **DEMO_ENVIRONMENT}
    tool_url = f"http://127.0.0.1:{port}"
    sandbox_url = f"http://127.0.0.1:{port + 1}"
    command = [sys.executable, "-m", "lti_tool"]
    children = [
        subprocess.Popen([*command, "serve", "--port", str(port)], env=env),  # noqa: S603
    ]
    _wait_for(f"{tool_url}/lti/jwks", children)
    children.append(
        subprocess.Popen(  # noqa: S603
            [*command, "sandbox", "--port", str(port + 1), "--tool-url", tool_url], env=env
        )
    )
    _wait_for(f"{sandbox_url}/jwks", children)
    click.secho(f"\nmentor-lti is running. Open {sandbox_url}/courses/ment-101 and launch as anyone.", bold=True)
    click.echo("Press Ctrl+C to stop.")
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(timeout=15)
    failed = [str(child.args) for child in children if child.returncode not in (0, -signal.SIGTERM)]
    if failed:
        raise click.ClickException(f"A demo process stopped unexpectedly: {failed[0]}")


def _wait_for(url: str, children: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise click.ClickException(f"A demo process exited before {url} answered; see the messages above.")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise click.ClickException(f"{url} did not answer within {timeout:.0f} s.")
