"""Launches through LTI platform storage and the cookie-less frame session, over HTTP: what the pages' scripts
would do is done here by hand (the browser tests in tests/browser/test_cookieless_frame.py run the scripts)."""

from __future__ import annotations

import html
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from lti_tool import cookieless
from lti_tool.sandbox.advantage import Preset
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser, error_code, heading

_DATA = re.compile(r'data-([a-z-]+)="([^"]*)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def sandbox_preset() -> Preset:
    return Preset.CANVAS  # offers platform storage through its post_message_forwarding frame


def page_data(response: httpx.Response, marker: str) -> dict[str, str]:
    """The data attributes of the element marked `data-lti-storage="<marker>"`."""
    match = re.search(rf'<[a-z]+ [^>]*data-lti-storage="{marker}"[^>]*>', response.text)
    assert match, response.text[:3000]
    return {name: html.unescape(value) for name, value in _DATA.findall(match.group(0))}


class StorageBrowser:
    """A browser whose frame keeps no cookie of the tool, and the LMS's storage for it (a dict), as the pages'
    scripts use it."""

    def __init__(self, browser: LtiBrowser) -> None:
        self.browser = browser
        self.storage: dict[str, str] = {}

    def login(self, person: str = "learner-01", course: str = "ment-101") -> tuple[dict[str, str], dict[str, str]]:
        """The login page's data and the launch form the platform posts back."""
        params = self.browser.platform.login_initiation_params(course, person)
        page = self.browser.http.get(f"{self.browser.tool_url}/lti/login", params=params)
        assert page.status_code == 200, page.text
        data = page_data(page, "put")
        self.storage[data["state-key"]] = data["state-value"]
        self.storage[data["nonce-key"]] = data["nonce-value"]
        self.browser.http.cookies.clear()  # the frame kept no cookie
        auth = dict(parse_qsl(urlsplit(data["auth-url"]).query))
        return data, self.browser.authorize(auth)

    def check_page(self, fields: dict[str, str]) -> httpx.Response:
        page = self.browser.post_launch(fields)
        assert page.status_code == 200, page.text
        return page

    def launch(self, person: str = "learner-01") -> httpx.Response:
        """Login, launch, the check page's second post; answers the page the launch lands on."""
        _, fields = self.login(person)
        check = page_data(self.check_page(fields), "get")
        posted = dict(_HIDDEN.findall(self.check_page(fields).text))
        posted["lti_storage_state"] = self.storage[check["state-key"]]
        posted["lti_storage_nonce"] = self.storage[check["nonce-key"]]
        response = self.browser.post_launch(posted)
        assert response.status_code == 303, response.text
        return self.browser.get(response.headers["location"])


@pytest.fixture
def storage_browser(browser: LtiBrowser) -> StorageBrowser:
    return StorageBrowser(browser)


def test_a_login_offered_platform_storage_renders_a_page_that_keeps_the_state_there(
    browser: LtiBrowser, sandbox: Sandbox
) -> None:
    params = sandbox.platform.login_initiation_params("ment-101", "learner-01")
    assert params["lti_storage_target"] == "post_message_forwarding"
    page = browser.http.get(f"{browser.tool_url}/lti/login", params=params)
    assert page.status_code == 200
    data = page_data(page, "put")
    assert data["target"] == "post_message_forwarding"
    assert data["origin"] == sandbox.url  # the exact origin of the OIDC authorization URL, never "*"
    auth = dict(parse_qsl(urlsplit(data["auth-url"]).query))
    assert data["state-key"] == f"lti_state_{auth['state']}" and data["nonce-key"] == f"lti_nonce_{auth['nonce']}"
    # The browser secret goes to the storage (and the cookie), never to the LMS in the auth URL.
    assert data["state-value"] not in data["auth-url"]
    assert page.cookies[f"lti1p3-{auth['state']}"] == data["state-value"]
    assert "<script>" not in page.text  # the strict CSP: the script is a file


def test_a_new_window_login_goes_straight_to_the_lms(browser: LtiBrowser, sandbox: Sandbox) -> None:
    params = {**sandbox.platform.login_initiation_params("ment-101", "learner-01"), "lti1p3_new_window": "1"}
    assert browser.http.get(f"{browser.tool_url}/lti/login", params=params).status_code == 302


def test_a_launch_without_its_cookie_is_checked_in_platform_storage_and_opens_a_frame_session(
    storage_browser: StorageBrowser,
) -> None:
    data, fields = storage_browser.login()
    check = storage_browser.check_page(fields)
    assert heading(check) == "Checking your login"
    assert page_data(check, "get")["state-key"] == data["state-key"]
    landing = storage_browser.launch("learner-02")
    assert heading(landing) == "My mentorship"
    assert "lti_session=" in str(landing.url)
    assert landing.headers["Referrer-Policy"] == "no-referrer"
    assert "set-cookie" not in landing.headers
    # Every link of the tool's own pages carries the token; static files do not.
    assert re.search(r'href="/static/mentor.css"', landing.text)


def test_a_captured_launch_form_fails_in_another_browser(storage_browser: StorageBrowser, new_browser: Any) -> None:
    data, fields = storage_browser.login()
    attacker = new_browser()
    # Without the victim's platform storage, the attacker has no secret: a forged one is refused.
    forged = {**fields, "lti_storage_state": "guessed", "lti_storage_nonce": data["nonce-value"]}
    assert error_code(attacker.post_launch(forged)) == "state_mismatch"
    # Even a stolen secret needs the nonce kept with it.
    stolen = {**fields, "lti_storage_state": data["state-value"], "lti_storage_nonce": "other"}
    assert error_code(attacker.post_launch(stolen)) == "state_mismatch"


def test_an_id_token_cannot_be_posted_with_another_logins_state(browser: LtiBrowser, new_browser: Any) -> None:
    """The nonce is bound to its login: the attacker's own state and cookie do not carry the victim's id_token."""
    no_storage = {"lti_storage_target": ""}  # a platform without storage: the cookie path
    victim = browser.authorize(browser.login(person="learner-03", **no_storage))
    attacker = new_browser()
    own = attacker.authorize(attacker.login(person="learner-04", **no_storage))
    mixed = {"id_token": victim["id_token"], "state": own["state"]}
    assert error_code(attacker.post_launch(mixed)) == "replayed"
    assert browser.post_launch(victim).status_code == 303  # the victim's launch still works


def _session_url(landing: httpx.Response) -> tuple[str, str]:
    url = urlsplit(str(landing.url))
    return url.path, dict(parse_qsl(url.query))[cookieless.TOKEN_PARAM]


def test_the_frame_session_token_is_bound_to_its_course_and_checked_with_csrf(
    storage_browser: StorageBrowser, app: Flask
) -> None:
    landing = storage_browser.launch("instructor")
    path, token = _session_url(landing)
    http = storage_browser.browser.http
    base = storage_browser.browser.tool_url
    other_course = re.sub(r"/courses/\d+/", "/courses/999/", path)
    assert http.get(f"{base}{other_course}", params={"lti_session": token}).status_code == 403
    assert http.get(f"{base}{path}").status_code == 403  # no token, no cookie: no session
    csrf = _CSRF.search(landing.text)
    assert csrf
    create = re.search(r'<form method="post" action="([^"]*/program\?[^"]*)"', landing.text)
    assert create and "lti_session=" in create.group(1)
    action = base + html.unescape(create.group(1))
    refused = http.post(action, data={"title": "No CSRF", "model": "one-on-one"})
    assert refused.status_code == 400  # the CSRF token is still required
    created = http.post(
        action, data={"title": "With CSRF", "model": "one-on-one", "csrf_token": csrf.group(1)}, follow_redirects=True
    )
    assert created.status_code == 200 and "With CSRF" in created.text and "flash" in created.text
    assert "lti_session=" in str(created.url)  # the redirect kept the token


def test_a_tampered_or_expired_token_ends_the_frame_session(storage_browser: StorageBrowser, app: Flask) -> None:
    landing = storage_browser.launch("learner-05")
    path, token = _session_url(landing)
    http, base = storage_browser.browser.http, storage_browser.browser.tool_url
    tampered = http.get(f"{base}{path}", params={"lti_session": token[:-2] + "xx"})
    assert tampered.status_code == 403 and "Your session in this LMS frame has ended" in tampered.text
    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="mentor-lti frame session")
    claims = old.loads(token)
    # A token issued two hours ago (past the one-hour default), forged by hand with the right key.
    signer = old.make_signer()
    signer.get_timestamp = lambda: int(time.time()) - 7200  # type: ignore[method-assign]
    old_token = signer.sign(old.dump_payload(claims)).decode()
    expired = http.get(f"{base}{path}", params={"lti_session": old_token})
    assert expired.status_code == 403 and "has ended" in expired.text


def test_an_old_token_is_rotated_in_the_pages_links(storage_browser: StorageBrowser, app: Flask) -> None:
    landing = storage_browser.launch("instructor")
    path, token = _session_url(landing)
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="mentor-lti frame session")
    signer = serializer.make_signer()
    signer.get_timestamp = lambda: int(time.time()) - 600  # type: ignore[method-assign]
    aged = signer.sign(serializer.dump_payload(serializer.loads(token))).decode()
    page = storage_browser.browser.http.get(f"{storage_browser.browser.tool_url}{path}", params={"lti_session": aged})
    assert page.status_code == 200
    assert aged not in page.text and "lti_session=" in page.text  # its links carry a fresh token


def test_the_token_never_reaches_the_logs(storage_browser: StorageBrowser, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    landing = storage_browser.launch("learner-07")
    _, token = _session_url(landing)
    storage_browser.browser.http.get(str(landing.url).replace(token, token[:-3] + "abc"))
    tool_logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore")))
    assert token not in tool_logs and token[:20] not in tool_logs
    assert "frame session started" in tool_logs
