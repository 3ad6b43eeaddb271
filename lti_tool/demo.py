"""`mentor-lti demo`: the tool, the sandbox LMS, a local Ralph LRS, an xAPI, a score and a jobs worker, stopped
together."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx

from lti_tool.settings import load_settings

# Plain http on 127.0.0.1: the tool and the sandbox are the same site, so Lax cookies work in the iframe.
DEMO_ENVIRONMENT = {
    "MENTOR_LTI_SANDBOX_ENABLED": "1",
    "MENTOR_LTI_COOKIE_SECURE": "0",
    "MENTOR_LTI_COOKIE_SAMESITE": "Lax",
    "MENTOR_LTI_COOKIE_PARTITIONED": "0",
    # The sandbox LMS is on loopback: the tool fetches its keys and calls its services there.
    "MENTOR_LTI_ALLOWED_PRIVATE_NETWORKS": '["127.0.0.0/8", "::1/128"]',
}
LRS_USERNAME = "demo"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_demo(port: int) -> None:
    from lti_tool.devlrs import RalphLrs  # the `lrs` extra, which `make demo` installs

    instance = load_settings().instance_path
    lrs = RalphLrs(
        data_dir=instance / "lrs",
        username=LRS_USERNAME,
        password=_lrs_password(instance / "lrs"),
        port=port + 2,
        # Ralph's first start imports its dependencies, for over 30 s on a busy machine.
        start_timeout=90,
    )
    env = {
        **os.environ,
        **DEMO_ENVIRONMENT,
        "MENTOR_LTI_LRS_ENDPOINT": lrs.endpoint,
        "MENTOR_LTI_LRS_USERNAME": lrs.username,
        "MENTOR_LTI_LRS_PASSWORD": lrs.password,
    }
    tool_url = f"http://127.0.0.1:{port}"
    sandbox_url = f"http://127.0.0.1:{port + 1}"
    command = [sys.executable, "-m", "lti_tool"]
    children: list[subprocess.Popen[bytes]] = []
    # A service manager or `kill` sends SIGTERM, a closed terminal SIGHUP: each stops the demo as Ctrl+C does,
    # and only this process gets them, so it must stop every child itself.
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, signal.default_int_handler)
    try:
        click.echo(f"Starting the local LRS (Ralph) on {lrs.base_url} …")
        lrs.start()
        children.append(subprocess.Popen([*command, "serve", "--port", str(port)], env=env))  # noqa: S603
        _wait_for(f"{tool_url}/lti/jwks", children)
        children.append(subprocess.Popen([*command, "xapi", "worker"], env=env))  # noqa: S603
        children.append(subprocess.Popen([*command, "scores", "worker"], env=env))  # noqa: S603
        children.append(subprocess.Popen([*command, "jobs", "worker"], env=env))  # noqa: S603
        children.append(
            subprocess.Popen(  # noqa: S603
                [*command, "sandbox", "--port", str(port + 1), "--tool-url", tool_url], env=env
            )
        )
        _wait_for(f"{sandbox_url}/jwks", children)
        click.secho(f"\nmentor-lti is running. Open {sandbox_url}/courses/ment-101 and launch as anyone.", bold=True)
        click.echo(
            "Every launch is sent to the local LRS as an xAPI statement. See them with\n"
            f"  curl -u {lrs.username}:{lrs.password} -H 'X-Experience-API-Version: 1.0.3' {lrs.endpoint}/statements\n"
            "or, as the instructor, on the tool's Learning records page. Press Ctrl+C to stop."
        )
        while all(child.poll() is None for child in children) and lrs.running:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        # A second stop signal while stopping must not leave the rest running.
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        lrs.stop()
    failed = [str(child.args) for child in children if child.returncode not in (0, -signal.SIGTERM)]
    if failed:
        raise click.ClickException(f"A demo process stopped unexpectedly: {failed[0]}")


def _lrs_password(folder: Path) -> str:
    """The demo LRS keeps its statements between runs, so its password is kept beside them (mode 0600)."""
    path = folder / "demo-credentials.json"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"username": LRS_USERNAME, "password": secrets.token_urlsafe(12)}, handle)
    return str(json.loads(path.read_text())["password"])


def _wait_for(url: str, children: list[subprocess.Popen[bytes]], timeout: float = 120) -> None:
    # A first start migrates a new database and boots the workers: over 60 s on a busy machine (a load of 12).
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
