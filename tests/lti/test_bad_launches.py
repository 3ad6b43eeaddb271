"""Every refused launch answers a 4xx page that names the failed check, and writes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from flask import Flask
from joserfc.jwk import RSAKey
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.lti.claims import LTI
from lti_tool.lti.models import Platform
from lti_tool.lti.registrations import remove_platform
from tests.conftest import Sandbox, row_counts
from tests.lti_browser import LtiBrowser, error_code, heading

NOW = int(time.time())
OTHER_KEY = RSAKey.generate_key(2048)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _valid_body(browser: LtiBrowser, nonce: str, person: str = "learner-04") -> dict[str, Any]:
    course = browser.platform.course("ment-101")
    return browser.platform.id_token_claims(course, course.person(person), nonce=nonce)


def _raw_launch(browser: LtiBrowser, make_token: Callable[[dict[str, Any], str], str]) -> httpx.Response:
    auth = browser.login(person="learner-04")
    token = make_token(_valid_body(browser, auth["nonce"]), browser.platform.keys.signing_key().kid)
    return browser.post_launch({"id_token": token, "state": auth["state"]})


CLAIM_CASES: list[tuple[str, dict[str, Any], tuple[str, ...], str]] = [
    ("unknown issuer", {"iss": "https://lms.unknown.example"}, (), "unknown_issuer"),
    ("audience of another client", {"aud": "someone-else", "azp": "someone-else"}, (), "wrong_audience"),
    ("several audiences, no azp", {"aud": ["mentor-lti-sandbox", "other"]}, ("azp",), "wrong_audience"),
    ("azp names another client", {"aud": ["mentor-lti-sandbox", "other"], "azp": "other"}, (), "wrong_audience"),
    ("expired", {"exp": NOW - 3600, "iat": NOW - 7200}, (), "expired"),
    ("issued in the future", {"iat": NOW + 3600, "exp": NOW + 7200}, (), "invalid_claim"),
    ("no exp", {}, ("exp",), "missing_claim"),
    ("no iat", {}, ("iat",), "missing_claim"),
    ("no nonce", {}, ("nonce",), "missing_claim"),
    ("no sub", {}, ("sub",), "missing_claim"),
    ("no roles", {}, (LTI + "roles",), "missing_claim"),
    ("no resource link", {}, (LTI + "resource_link",), "missing_claim"),
    ("no course context", {}, (LTI + "context",), "missing_context"),
    ("no deployment id", {}, (LTI + "deployment_id",), "missing_claim"),
    ("unregistered deployment", {LTI + "deployment_id": "deployment-nobody-added"}, (), "unknown_deployment"),
    ("unsupported message type", {LTI + "message_type": "LtiSubmissionReviewRequest"}, (), "unsupported_message_type"),
    ("wrong LTI version", {LTI + "version": "1.1"}, (), "bad_version"),
    ("nonce this tool never issued", {"nonce": "forged-nonce"}, (), "replayed"),
]


@pytest.mark.parametrize(("case", "claims", "drop", "code"), CLAIM_CASES, ids=[c[0] for c in CLAIM_CASES])
def test_launch_with_bad_claims_is_refused(
    app: Flask, browser: LtiBrowser, case: str, claims: dict[str, Any], drop: tuple[str, ...], code: str
) -> None:
    before = row_counts(app)
    response = browser.signed_launch(person="learner-04", claims=claims, drop=drop)
    assert 400 <= response.status_code < 500
    assert error_code(response) == code, response.text
    assert heading(response) == "This LTI launch could not be accepted"
    assert row_counts(app) == before


def test_token_signed_by_another_key_is_refused(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    kid = browser.platform.keys.signing_key().kid
    response = browser.signed_launch(person="learner-04", key=OTHER_KEY, header={"kid": kid})
    assert response.status_code == 400
    assert error_code(response) == "bad_signature"
    assert row_counts(app) == before


def test_token_with_unknown_kid_is_refused_after_one_refetch(app: Flask, browser: LtiBrowser, sandbox: Sandbox) -> None:
    before = row_counts(app)
    response = browser.signed_launch(person="learner-04", key=OTHER_KEY, header={"kid": "kid-nobody-published"})
    assert response.status_code == 400
    assert error_code(response) == "unknown_key"
    assert sandbox.requests["/jwks"] == 1
    assert row_counts(app) == before


def test_alg_none_is_refused(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    response = _raw_launch(browser, lambda body, kid: f"{_b64({'alg': 'none', 'kid': kid})}.{_b64(body)}.")
    assert response.status_code == 400
    assert error_code(response) == "unsupported_alg"
    assert row_counts(app) == before


def test_hs256_signed_with_the_public_key_is_refused(app: Flask, browser: LtiBrowser) -> None:
    # The classic key-confusion attack: HMAC keyed with the platform's public key, which anyone can fetch.
    public_pem = browser.platform.keys.signing_key().as_pem(private=False)
    before = row_counts(app)

    def forge(body: dict[str, Any], kid: str) -> str:
        signing_input = f"{_b64({'alg': 'HS256', 'kid': kid})}.{_b64(body)}"
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    response = _raw_launch(browser, forge)
    assert response.status_code == 400
    assert error_code(response) == "unsupported_alg"
    assert row_counts(app) == before


def test_malformed_token_is_refused(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    response = _raw_launch(browser, lambda body, kid: "not-a-jwt")
    assert response.status_code == 400
    assert error_code(response) == "malformed_token"
    assert row_counts(app) == before


def test_replayed_launch_is_refused(app: Flask, browser: LtiBrowser) -> None:
    fields = browser.authorize(browser.login(person="learner-05"))
    assert browser.post_launch(fields).status_code == 303
    after_first = row_counts(app)
    replay = browser.post_launch(fields)
    assert replay.status_code == 400
    assert error_code(replay) == "replayed"
    assert row_counts(app) == after_first


def test_launch_without_state_is_refused(app: Flask, browser: LtiBrowser) -> None:
    fields = browser.authorize(browser.login(person="learner-05"))
    before = row_counts(app)
    response = browser.post_launch({"id_token": fields["id_token"]})
    assert response.status_code == 400
    assert error_code(response) == "missing_state"
    assert row_counts(app) == before


def test_state_that_does_not_match_the_cookie_is_refused(app: Flask, browser: LtiBrowser) -> None:
    fields = browser.authorize(browser.login(person="learner-05"))
    browser.http.cookies.set(f"lti1p3-{fields['state']}", "state-of-another-login", domain="127.0.0.1")
    before = row_counts(app)
    response = browser.post_launch(fields)
    assert response.status_code == 400
    assert error_code(response) == "state_mismatch"
    assert row_counts(app) == before


def test_a_captured_launch_form_replayed_from_another_browser_is_refused(
    app: Flask, browser: LtiBrowser, new_browser: Callable[[], LtiBrowser]
) -> None:
    fields = browser.authorize(browser.login(person="learner-05"))
    # The form carries the state, so an attacker can set the cookie pylti1p3 would have set; not the secret.
    attacker = new_browser()
    attacker.http.cookies.set(f"lti1p3-{fields['state']}", fields["state"], domain="127.0.0.1")
    before = row_counts(app)
    response = attacker.post_launch(fields)
    assert response.status_code == 400
    assert error_code(response) == "state_mismatch"
    assert row_counts(app) == before
    # The learner's own browser still completes the launch.
    page = browser.post_launch(fields)
    assert page.status_code == 303
    assert heading(browser.get(page.headers["location"])) == "My mentorship"


def test_the_state_cookie_holds_a_secret_not_the_state(browser: LtiBrowser) -> None:
    auth = browser.login(person="learner-05")
    secret = browser.http.cookies[f"lti1p3-{auth['state']}"]
    assert secret != auth["state"] and len(secret) >= 40
    assert secret not in browser.authorize(auth).values()


def test_blocked_cookies_offer_a_new_window_that_then_works(
    app: Flask, browser: LtiBrowser, new_browser: Callable[[], LtiBrowser]
) -> None:
    fields = browser.authorize(browser.login(person="learner-06"))
    cookieless = new_browser()  # a browser that refused the tool's state cookie inside the frame
    before = row_counts(app)
    response = cookieless.post_launch(fields)
    assert response.status_code == 400
    assert error_code(response) == "cookies_blocked"
    assert row_counts(app) == before
    link = httpx.URL(_new_window_link(response.text))
    assert link.params["lti1p3_new_window"] == "1"
    assert link.params["login_hint"] == "learner-06"
    # The new window is a first-party context: the same login now completes.
    login = cookieless.http.get(f"{cookieless.tool_url}{link.raw_path.decode()}")
    assert login.status_code == 302
    auth = dict(httpx.URL(login.headers["location"]).params)
    page = cookieless.post_launch(cookieless.authorize(auth))
    assert page.status_code == 303
    assert heading(cookieless.get(page.headers["location"])) == "My mentorship"


def _new_window_link(page: str) -> str:
    match = re.search(r'<a class="button" target="_blank" rel="noopener"\s+href="([^"]+)"', page)
    assert match, page
    return html.unescape(match.group(1))


def test_login_from_an_unregistered_platform_is_refused(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    params = {**browser.platform.login_initiation_params("ment-101", "instructor"), "iss": "https://evil.example"}
    response = browser.http.get(f"{browser.tool_url}/lti/login", params=params)
    assert response.status_code == 400
    assert error_code(response) == "unknown_registration"
    assert "mentor-lti platform add" in response.text
    assert row_counts(app) == before


def test_a_platform_removed_a_moment_ago_can_start_a_login_but_never_launch(app: Flask, browser: LtiBrowser) -> None:
    browser.login()  # this process now holds the registration for its logins (LoginRegistrations)
    with app.app_context():
        platform = db.session.execute(select(Platform)).scalar_one()
        remove_platform(platform.name)
        db.session.commit()
    before = row_counts(app)
    fields = browser.authorize(browser.login())
    response = browser.post_launch(fields)
    assert response.status_code == 400
    assert error_code(response) == "unknown_issuer"
    assert row_counts(app) == before


def test_login_without_login_hint_is_refused(browser: LtiBrowser) -> None:
    params = browser.platform.login_initiation_params("ment-101", "instructor")
    del params["login_hint"]
    response = browser.http.get(f"{browser.tool_url}/lti/login", params=params)
    assert response.status_code == 400
    assert error_code(response) == "login_incomplete"


def test_refusals_answer_json_to_json_clients(browser: LtiBrowser) -> None:
    response = browser.http.post(
        f"{browser.tool_url}/lti/launch", data={"id_token": "x"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "missing_state"
