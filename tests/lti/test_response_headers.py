"""Response headers: only 'self' and the registered LMS origins may frame the tool, nothing dynamic is cached,
and HTTPS answers carry HSTS."""

from __future__ import annotations

import time
from typing import Any

import httpx
from flask import Flask

from lti_tool.extensions import db
from lti_tool.lti.claims import LTI
from lti_tool.lti.frame_origins import CACHE_SECONDS, origin_of
from lti_tool.lti.registrations import PlatformSpec, register_platform
from tests.conftest import Sandbox, tool_environment
from tests.lti_browser import LtiBrowser

HSTS = "max-age=31536000; includeSubDomains"


def _frame_ancestors(response: httpx.Response) -> set[str]:
    policy = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    return set(policy["frame-ancestors"].split())


def test_only_self_and_the_registered_lms_may_frame_the_tool(browser: LtiBrowser, sandbox: Sandbox) -> None:
    page = browser.launch(person="learner-01")
    assert _frame_ancestors(page) == {"'self'", sandbox.url}  # the sandbox's issuer and auth URL share one origin
    refused = httpx.get(str(page.url))  # the error page a launch without cookies meets is framed the same way
    assert refused.status_code == 403 and _frame_ancestors(refused) == {"'self'", sandbox.url}
    # Nothing but pages is framed by the LMS.
    assert _frame_ancestors(browser.get("/lti/jwks")) == {"'self'"}


def test_the_lms_domain_a_signed_launch_names_may_frame_the_tool(browser: LtiBrowser, sandbox: Sandbox) -> None:
    # Canvas frames the tool from the institution's domain, which is neither its issuer nor its auth host.
    presentation = {"document_target": "iframe", "return_url": "https://canvas.school.edu/courses/7/external_tools"}
    launched = browser.signed_launch(person="learner-01", claims={LTI + "launch_presentation": presentation})
    assert launched.status_code == 303
    page = browser.get(launched.headers["location"])
    assert _frame_ancestors(page) == {"'self'", sandbox.url, "https://canvas.school.edu"}


def test_a_newly_registered_platform_may_frame_the_tool_within_seconds(app: Flask, browser: LtiBrowser) -> None:
    page = str(browser.launch(person="learner-01").url)
    assert "https://moodle.school.edu" not in _frame_ancestors(browser.get(page))
    with app.app_context():
        register_platform(
            PlatformSpec(
                name="School Moodle",
                issuer="https://moodle.school.edu",
                client_id="abc",
                deployment_ids=("1",),
                auth_login_url="https://moodle.school.edu/mod/lti/auth.php",
                auth_token_url="https://moodle.school.edu/mod/lti/token.php",
                key_set_url="https://moodle.school.edu/mod/lti/certs.php",
            )
        )
        db.session.commit()
    deadline = time.monotonic() + CACHE_SECONDS + 1
    while "https://moodle.school.edu" not in _frame_ancestors(browser.get(page)):
        assert time.monotonic() < deadline, "the new platform's origin never reached frame-ancestors"
        time.sleep(0.2)


def test_only_plain_http_origins_reach_the_policy() -> None:
    assert origin_of("https://Canvas.School.edu:8443/courses/1?x=1") == "https://canvas.school.edu:8443"
    for hostile in (
        "https://evil.example; script-src *",
        "https://a.example'",
        "javascript:alert(1)",
        "https://user@",
        "https://[::1]:99999/",
        "",
        None,
    ):
        assert origin_of(hostile) is None, hostile


def test_dynamic_pages_are_never_cached_and_only_static_files_and_keys_are(
    app: Flask, browser: LtiBrowser, tool_url: str
) -> None:
    page = browser.launch(person="learner-01")
    assert page.headers["cache-control"] == "no-store"
    refused = httpx.get(f"{tool_url}{httpx.URL(str(page.url)).path}")  # no session: the 403 page
    assert refused.status_code == 403 and refused.headers["cache-control"] == "no-store"
    assert browser.get("/lti/jwks").headers["cache-control"] == "public, max-age=300"
    static = browser.get("/static/mentor.css")
    assert static.status_code == 200 and static.headers["cache-control"] == "public, max-age=600"


def test_https_answers_carry_hsts_as_seen_through_the_trusted_proxy(tool_settings: dict[str, Any]) -> None:
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "mentor.example.edu"}
    with tool_environment({**tool_settings, "trusted_proxies": 1, "trusted_hosts": ["mentor.example.edu"]}) as env:
        assert httpx.get(f"{env.tool_url}/lti/jwks", headers=proxied).headers["strict-transport-security"] == HSTS
        plain = {"X-Forwarded-Proto": "http", "X-Forwarded-Host": "mentor.example.edu"}
        assert "strict-transport-security" not in httpx.get(f"{env.tool_url}/lti/jwks", headers=plain).headers
    with tool_environment(tool_settings) as env:
        # Without a trusted proxy its header is ignored: plain http, no HSTS.
        untrusted = httpx.get(f"{env.tool_url}/lti/jwks", headers={"X-Forwarded-Proto": "https"})
        assert "strict-transport-security" not in untrusted.headers
