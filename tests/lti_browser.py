"""Performs LTI 1.3 launches over HTTP the way a browser does: login initiation, platform auth, form post."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from lti_tool.sandbox.platform import SandboxPlatform

_INPUT = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
_STORAGE_PAGE = re.compile(r'data-lti-storage="put" data-auth-url="([^"]+)"')


class LtiBrowser:
    """One browser (one cookie jar) that launches the tool from the sandbox LMS."""

    def __init__(self, tool_url: str, platform: SandboxPlatform) -> None:
        self.tool_url = tool_url
        self.platform = platform
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def login(self, course: str = "ment-101", person: str = "instructor", **overrides: str) -> dict[str, str]:
        """Start a login as the LMS would; answer the OIDC auth request parameters the tool sent to the platform."""
        return self.start_login({**self.platform.login_initiation_params(course, person), **overrides})

    def start_login(self, params: dict[str, str]) -> dict[str, str]:
        """The tool's answer to these login initiation parameters, as the OIDC auth request parameters it sends."""
        response = self.http.get(f"{self.tool_url}/lti/login", params=params)
        found = _STORAGE_PAGE.search(response.text) if response.status_code == 200 else None
        if found:
            # An LMS offering platform storage (the Canvas preset) gets a page whose script goes on to the
            # authorization URL; this browser keeps cookies, so the state cookie set with the page is enough.
            location = html.unescape(found.group(1))
        else:
            assert response.status_code == 302, response.text
            location = response.headers["location"]
        assert location.startswith(self.platform.auth_url)
        return dict(parse_qsl(urlsplit(location).query))

    def authorize(self, auth_params: dict[str, str]) -> dict[str, str]:
        """Let the platform answer the auth request over HTTP; returns the form fields it would post back."""
        response = self.http.get(self.platform.auth_url, params=auth_params)
        assert response.status_code == 200, response.text
        return {name: html.unescape(value) for name, value in _INPUT.findall(response.text)}

    def post_launch(self, fields: dict[str, str], **kwargs: Any) -> httpx.Response:
        return self.http.post(f"{self.tool_url}/lti/launch", data=fields, **kwargs)

    def launch(self, course: str = "ment-101", person: str = "instructor") -> httpx.Response:
        """A complete, valid launch; answers the tool's page after following its redirect."""
        fields = self.authorize(self.login(course, person))
        response = self.post_launch(fields)
        assert response.status_code == 303, f"{response.status_code}: {response.text[:2000]}"
        return self.get(response.headers["location"])

    def signed_launch(
        self,
        course: str = "ment-101",
        person: str = "instructor",
        *,
        claims: dict[str, Any] | None = None,
        drop: tuple[str, ...] = (),
        header: dict[str, Any] | None = None,
        key: Any = None,
    ) -> httpx.Response:
        """A launch whose id_token the test shapes: claims changed or dropped, header or key replaced."""
        auth = self.login(course, person)
        found = self.platform.course(course)
        body = self.platform.id_token_claims(found, found.person(person), nonce=auth["nonce"])
        body.update(claims or {})
        for name in drop:
            body.pop(name)
        token = self.platform.sign(body, header=header, key=key)
        return self.post_launch({"id_token": token, "state": auth["state"]})

    def get(self, path: str) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.tool_url}{path}"
        return self.http.get(url, follow_redirects=True)


def heading(response: httpx.Response) -> str:
    match = re.search(r"<h1[^>]*>(.*?)</h1>", response.text, re.S)
    return html.unescape(match.group(1).strip()) if match else ""


def error_code(response: httpx.Response) -> str:
    match = re.search(r"Error code: <code>([^<]+)</code>", response.text)
    return match.group(1) if match else ""
