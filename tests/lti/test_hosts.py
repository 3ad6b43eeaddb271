"""Only configured hosts reach ids and links: a forged Host (or X-Forwarded-Host) gets a plain 400, nothing else."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from flask import Flask

from lti_tool.hosts import LOOPBACK_HOSTS, trusted_hosts
from lti_tool.settings import load_settings
from tests.conftest import row_counts, tool_environment
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import csrf_token
from tests.statements.helpers import outbox_rows


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "MENTOR_LTI_PUBLIC_BASE_URL" in response.text and "Traceback" not in response.text


def test_a_forged_host_is_refused_before_anything_is_written(app: Flask, browser: LtiBrowser) -> None:
    params = browser.platform.login_initiation_params("ment-101", "learner-01")
    _refused(browser.http.get(f"{browser.tool_url}/lti/login", params=params, headers={"Host": "evil.example"}))
    fields = browser.authorize(browser.login(person="learner-01"))
    before = row_counts(app)
    _refused(browser.post_launch(fields, headers={"Host": "evil.example"}))
    assert row_counts(app) == before and outbox_rows(app) == []
    # A form behind CSRF protection answers the same 400, not a CSRF page that cannot render without a host.
    page = browser.get("/lti/admin")
    _refused(
        browser.http.post(
            f"{browser.tool_url}/lti/admin/sign-in",
            data={"csrf_token": csrf_token(page), "token": "x" * 40},
            headers={"Host": "evil.example:443"},
        )
    )
    # The same form, unused, still launches from the real host.
    launched = browser.post_launch(fields)
    assert launched.status_code == 303
    assert heading(browser.get(launched.headers["location"])) == "My mentorship"


def test_behind_a_proxy_the_forwarded_host_is_the_one_checked(tool_settings: dict[str, Any]) -> None:
    settings = {**tool_settings, "trusted_proxies": 1, "trusted_hosts": ["mentor.example.edu"]}
    with tool_environment(settings) as env:
        params = env.sandbox.platform.login_initiation_params("ment-101", "learner-01")
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.9"}
        forged = httpx.get(
            f"{env.tool_url}/lti/login", params=params, headers={**proxied, "X-Forwarded-Host": "evil.example"}
        )
        _refused(forged)
        real = httpx.get(
            f"{env.tool_url}/lti/login", params=params, headers={**proxied, "X-Forwarded-Host": "mentor.example.edu"}
        )
        assert real.status_code == 302
        assert "redirect_uri=https%3A%2F%2Fmentor.example.edu%2Flti%2Flaunch" in real.headers["location"]


def test_ids_and_links_are_built_under_the_public_base_url_whichever_trusted_host_was_used(
    tool_settings: dict[str, Any],
) -> None:
    settings = {**tool_settings, "public_base_url": "https://mentor.example.edu", "trusted_hosts": ["127.0.0.1"]}
    with tool_environment(settings) as env:
        browser = LtiBrowser(env.tool_url, env.sandbox.platform)
        auth = browser.login(person="learner-01")
        assert auth["redirect_uri"] == "https://mentor.example.edu/lti/launch"
        launched = browser.signed_launch(person="learner-01")
        assert launched.status_code == 303, launched.text
        (statement,) = outbox_rows(env.app)
        assert "https://mentor.example.edu/xapi/activities/course/" in statement.body
        assert env.tool_url not in statement.body
        browser.close()


def test_trusted_hosts_are_the_configured_ones_and_the_public_base_urls(tmp_path: Any) -> None:
    def hosts(**values: Any) -> list[str]:
        return trusted_hosts(load_settings({"instance_path": tmp_path, **values}))

    # Neither set: development on loopback only, whatever the port.
    assert hosts() == list(LOOPBACK_HOSTS)
    assert hosts(public_base_url="https://Mentor.Example.edu/tool") == ["mentor.example.edu"]
    assert hosts(trusted_hosts="a.example.edu, .school.edu", public_base_url="https://b.example.edu") == [
        "a.example.edu",
        ".school.edu",
        "b.example.edu",
    ]
    with pytest.raises(ValueError, match="without scheme, port or path"):
        hosts(trusted_hosts=["https://a.example.edu"])
