"""A registration link makes the tool fetch the URL it is given. Whoever holds one (a leaked link, a careless LMS
administrator) must not reach loopback or private services with it, see what they answered, tell which ports are
open, or let slow LMSs take every request thread."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from flask import Flask, Response, request

from lti_tool.devlrs import free_port
from tests.conftest import LOOPBACK_NETWORKS, ToolEnvironment, tool_environment
from tests.lti_advantage.test_dynamic_registration import _attempts, _error_code, _own_configuration, _sign_in
from tests.lti_browser import LtiBrowser
from tests.registration import invite
from tests.servers import dripping, served
from tests.test_serve import _wait_until_up

SECRET = "SECRET-7f3a"


def _register(
    link: str,
    configuration_url: str,
    token: str = "t0",  # noqa: S107
    *,
    client: str = "192.0.2.1",
) -> httpx.Response:
    """Open a registration link as an LMS would; `client` is the caller's address as a trusted proxy reports it, so
    that the per-address registration limit does not mix up the callers of one test."""
    return httpx.get(
        link,
        params={"openid_configuration": configuration_url, "registration_token": token},
        headers={"X-Forwarded-For": client},
        timeout=30,
    )


@pytest.fixture
def public_only(tool_settings: dict[str, Any]) -> Iterator[ToolEnvironment]:
    """The tool as shipped: no private network allowed (the sandbox LMS beside it is never called here)."""
    settings = {k: v for k, v in tool_settings.items() if k != "allowed_private_networks"}
    with tool_environment({**settings, "trusted_proxies": 1}) as env:
        yield env


def _internal_service(seen: list[str]) -> Flask:
    app = Flask("internal")

    @app.get("/<path:path>")
    def anything(path: str) -> Response:
        seen.append(request.headers.get("Authorization", ""))
        return Response(json.dumps({"error": "invalid_token", "secret": SECRET}), 401, content_type="application/json")

    return app


def test_an_anonymous_registration_cannot_reach_loopback_or_tell_open_ports_from_closed(
    public_only: ToolEnvironment,
) -> None:
    seen: list[str] = []
    link = invite(public_only.app, public_only.tool_url)
    with served(_internal_service(seen)) as internal:
        port = internal.url.rsplit(":", 1)[1]
        closed = str(free_port())
        pages = {
            "open": _register(link, f"http://127.0.0.1:{port}/admin", "t1"),
            "closed": _register(link, f"http://127.0.0.1:{closed}/admin", "t2"),
            # Other names of loopback pass the URL check (https, not a loopback name); the connection is refused.
            "other name": _register(link, f"https://127.1:{port}/admin", "t3"),
        }
    assert seen == []  # no request reached the service, let alone with the bearer token
    messages = set()
    for page in pages.values():
        assert (page.status_code, _error_code(page)) == (502, "platform_unreachable")
        assert SECRET not in page.text and "Error" not in page.text.replace("Error code", "")
        messages.add(page.text.replace(port, "PORT").replace(closed, "PORT").replace("127.1", "127.0.0.1"))
    assert len({m.replace("https://", "http://") for m in messages}) == 1  # open and closed ports look the same
    attempts = _attempts(public_only.app)
    assert [a.status for a in attempts] == ["failed"] * 3
    assert all(a.error and "could not reach the LMS at" in a.error and "Error" not in a.error for a in attempts)


def _lms_answering(status: int, body: str, content_type: str) -> Flask:
    app = Flask("lms")

    @app.get("/openid-configuration")
    def configuration() -> Response:
        return Response(body, status, content_type=content_type)

    return app


@pytest.mark.parametrize(
    ("status", "body", "content_type", "shown"),
    [
        (401, json.dumps({"error": "invalid_token", "error_description": SECRET}), "application/json",
         "(401: invalid_token)"),
        (400, json.dumps({"error": f"not a code {SECRET}"}), "application/json", "(400)."),
        (500, f"<pre>{SECRET}</pre>", "text/html", "(500)."),
    ],
    ids=["oauth-code", "not-a-code", "html"],
)  # fmt: skip
def test_an_lms_error_answer_shows_its_status_and_oauth_code_but_never_its_body(
    app: Flask, tool_url: str, browser: LtiBrowser, status: int, body: str, content_type: str, shown: str
) -> None:
    with served(_lms_answering(status, body, content_type)) as lms:
        page = _register(invite(app, tool_url), f"{lms.url}/openid-configuration")
    assert shown in page.text and SECRET not in page.text
    [attempt] = _attempts(app)
    assert shown in (attempt.error or "") and SECRET not in (attempt.error or "")
    _sign_in(browser, app)
    admin = browser.get("/lti/admin")
    assert admin.status_code == 200 and SECRET not in admin.text


def test_a_dripping_lms_fails_the_registration_within_the_deadline(
    tool_settings: dict[str, Any],
) -> None:
    with tool_environment({**tool_settings, "platform_http_timeout_seconds": 1.0}) as env:
        with dripping(json.dumps(_own_configuration("http://127.0.0.1")).encode()) as lms:
            started = time.monotonic()
            page = _register(invite(env.app, env.tool_url), f"{lms.url}/openid-configuration")
            took = time.monotonic() - started
        assert (page.status_code, _error_code(page)) == (502, "platform_unreachable")
        assert took < 1.8


@pytest.fixture
def gunicorn_tool(tmp_path: Path, database_url: str) -> Iterator[str]:
    """`mentor-lti serve` with one worker of four threads, two registrations at once, a 3 s deadline."""
    env = {
        **os.environ,
        "MENTOR_LTI_INSTANCE_PATH": str(tmp_path / "instance"),
        "MENTOR_LTI_DATABASE_URL": database_url,
        "MENTOR_LTI_ALLOWED_PRIVATE_NETWORKS": json.dumps(LOOPBACK_NETWORKS),
        "MENTOR_LTI_PLATFORM_HTTP_TIMEOUT_SECONDS": "3",
        "MENTOR_LTI_DYNAMIC_REGISTRATION_CONCURRENCY": "2",
        "MENTOR_LTI_TRUSTED_PROXIES": "1",
    }
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "lti_tool", "serve", "--port", str(port), "--workers", "1", "--threads", "4"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/lti/jwks", "mentor-lti serve", process, log)
            invited = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "lti_tool",
                    "platform",
                    "register-url",
                    "--base-url",
                    f"http://127.0.0.1:{port}",
                ],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            [link] = [word for word in invited.stdout.split() if "/lti/register/" in word]
            yield link
        finally:
            process.terminate()
            process.wait(timeout=20)


def test_other_requests_are_served_while_registrations_wait_on_a_dripping_lms(
    gunicorn_tool: str, database_url: str
) -> None:
    tool_url = gunicorn_tool.split("/lti/register/")[0]
    pages: list[httpx.Response] = []
    with dripping(json.dumps(_own_configuration("http://127.0.0.1")).encode(), lifetime=10) as lms:
        # More registrations than the worker has threads, all at once.
        registrations = [
            threading.Thread(
                target=lambda n=n: pages.append(
                    _register(gunicorn_tool, f"{lms.url}/openid-configuration", f"t{n}", client=f"192.0.2.{n + 1}")
                )
            )
            for n in range(6)
        ]
        for registration in registrations:
            registration.start()
        time.sleep(0.5)
        for _ in range(3):
            started = time.monotonic()
            assert httpx.get(f"{tool_url}/lti/jwks", timeout=2).status_code == 200
            assert time.monotonic() - started < 1.0
        for registration in registrations:
            registration.join(timeout=20)
    busy = [page for page in pages if page.status_code == 503]
    assert sorted(page.status_code for page in pages) == [502, 502, 503, 503, 503, 503]
    assert all(_error_code(page) == "tool_busy" and page.headers["Retry-After"] == "30" for page in busy)
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:  # the refused ones wrote nothing: two attempts, both failed
            count = connection.execute(sa.text("SELECT count(*) FROM lti_dynamic_registration")).scalar_one()
    finally:
        engine.dispose()
    assert count == 2


@pytest.mark.parametrize(
    "configuration_url",
    [
        "https://0177.0.0.1/x",
        "https://[::1/x",
        "https://[v1.x]/x",
        "https://lms.example:port/x",
        "https://a..b/x",
        "https://xn--/x",
        f"https://{'a' * 300}.example/x",
        "https://.example/x",
    ],
)
def test_a_configuration_url_no_client_can_send_fails_as_unreachable_and_is_recorded(
    public_only: ToolEnvironment, configuration_url: str
) -> None:
    page = _register(invite(public_only.app, public_only.tool_url), configuration_url)
    assert page.status_code in (400, 502) and _error_code(page) in ("platform_unreachable", "insecure_endpoint")
    # Never left "started": the attempt is on record with its failure, or was refused before it began.
    assert all(attempt.status == "failed" for attempt in _attempts(public_only.app))
