"""Production cookies cross the LMS iframe (SameSite=None; Secure; Partitioned) behind a TLS-terminating proxy."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.conftest import tool_environment
from tests.lti_browser import LtiBrowser, heading

PROXY_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "mentor.example.edu", "X-Forwarded-For": "10.0.0.9"}


def _cookie_attributes(set_cookie: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in set_cookie.split(";")[1:]}


def test_cookies_are_cross_site_and_partitioned_behind_a_trusted_proxy(tool_settings: dict[str, Any]) -> None:
    production = {**tool_settings, "cookie_secure": True, "cookie_samesite": "None", "cookie_partitioned": True}
    with tool_environment({**production, "trusted_proxies": 1, "trusted_hosts": ["mentor.example.edu"]}) as env:
        client = LtiBrowser(env.tool_url, env.sandbox.platform)
        params = env.sandbox.platform.login_initiation_params("ment-101", "learner-01")
        login = client.http.get(f"{env.tool_url}/lti/login", params=params, headers=PROXY_HEADERS)
        assert login.status_code == 302
        # The redirect_uri the tool sends to the platform is its public https URL, from the proxy headers.
        assert "redirect_uri=https%3A%2F%2Fmentor.example.edu%2Flti%2Flaunch" in login.headers["location"]
        state_cookie = login.headers["set-cookie"]
        assert {"secure", "samesite", "partitioned", "httponly"} <= _cookie_attributes(state_cookie)
        assert "SameSite=None" in state_cookie

        auth = dict(parse_qsl(urlsplit(login.headers["location"]).query))
        course = env.sandbox.platform.course("ment-101")
        body = env.sandbox.platform.id_token_claims(course, course.person("learner-01"), nonce=auth["nonce"])
        # httpx, like a browser, keeps Secure cookies off plain http: send the state cookie as the proxy would.
        cookie = state_cookie.split(";")[0]
        launch = client.http.post(
            f"{env.tool_url}/lti/launch",
            data={"id_token": env.sandbox.platform.sign(body), "state": auth["state"]},
            headers={**PROXY_HEADERS, "Cookie": cookie},
        )
        assert launch.status_code == 303, launch.text
        session_cookie = next(c for c in launch.headers.get_list("set-cookie") if c.startswith("mentor_lti_session="))
        assert {"secure", "samesite", "partitioned", "httponly"} <= _cookie_attributes(session_cookie)
        assert "SameSite=None" in session_cookie
        client.close()


def test_proxy_headers_are_ignored_unless_trusted(tool_settings: dict[str, Any]) -> None:
    with tool_environment(tool_settings) as env:
        client = LtiBrowser(env.tool_url, env.sandbox.platform)
        params = env.sandbox.platform.login_initiation_params("ment-101", "learner-01")
        login = client.http.get(f"{env.tool_url}/lti/login", params=params, headers=PROXY_HEADERS)
        assert "mentor.example.edu" not in login.headers["location"]
        client.close()


def test_a_script_over_plain_http_needs_the_plain_http_cookie_settings(tool_settings: dict[str, Any]) -> None:
    """What the README tells whoever drives the tool over plain http (tests, health checks): with the shipped
    cookie settings the launch goes through (the state cookie is Secure only over HTTPS), but the session cookie is
    Secure, so the client never sends it back and the next page is a 403. COOKIE_SECURE=0, COOKIE_SAMESITE=Lax and
    COOKIE_PARTITIONED=0, as every other test here runs, let it through."""
    shipped = {**tool_settings, "cookie_secure": True, "cookie_samesite": "None", "cookie_partitioned": True}
    with tool_environment(shipped) as env:
        client = LtiBrowser(env.tool_url, env.sandbox.platform)
        launched = client.post_launch(client.authorize(client.login("ment-101", "learner-01")))
        assert launched.status_code == 303
        session_cookie = next(c for c in launched.headers.get_list("set-cookie") if c.startswith("mentor_lti_session="))
        assert "secure" in _cookie_attributes(session_cookie)
        page = client.get(launched.headers["location"])
        assert page.status_code == 403
        assert "This page belongs to a course you have not opened the tool from." in page.text
        # A health check that reads the public key set needs no cookie.
        assert client.http.get(f"{env.tool_url}/lti/jwks").json()["keys"]
        client.close()
    assert (tool_settings["cookie_secure"], tool_settings["cookie_samesite"]) == (False, "Lax")
    assert tool_settings["cookie_partitioned"] is False
    with tool_environment(tool_settings) as env:
        client = LtiBrowser(env.tool_url, env.sandbox.platform)
        assert heading(client.launch("ment-101", "learner-01")) == "My mentorship"
        client.close()
