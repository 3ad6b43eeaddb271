"""Helpers of the deep linking tests: content-selection launches, the chooser's form, the answer to the LMS."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from lti_tool.sandbox.platform import DEEP_LINKING
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import csrf_token

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
_RETURN_FORM = re.compile(r'<form id="deep-linking-return" method="post" action="([^"]+)"')
_JWT = re.compile(r'<input type="hidden" name="JWT" value="([^"]+)">')


@dataclass
class Launch:
    """A launch the tool answered: its response, and the claims the LMS signed for it."""

    response: httpx.Response
    claims: dict[str, Any]

    @property
    def settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = self.claims[DL + "deep_linking_settings"]
        return settings

    @property
    def location(self) -> str:
        assert self.response.status_code == 303, f"{self.response.status_code}: {self.response.text[:2000]}"
        return self.response.headers["location"]


def _launch(browser: LtiBrowser, course: str, person: str, **options: Any) -> Launch:
    params = browser.platform.login_initiation_params(course, person, **options)
    fields = browser.authorize(browser.start_login(params))
    signed = jwt.decode(fields["id_token"], KeySet([browser.platform.keys.signing_key()]))
    return Launch(browser.post_launch(fields), dict(signed.claims))


def select_content(
    browser: LtiBrowser, placement: str, *, person: str = "instructor", course: str = "ment-101"
) -> Launch:
    """A content-selection (LtiDeepLinkingRequest) launch from an LMS placement, as the sandbox's buttons start it."""
    return _launch(browser, course, person, message_type=DEEP_LINKING, placement=placement)


def open_placed(browser: LtiBrowser, link_id: str, *, person: str, course: str = "ment-101") -> Launch:
    """A launch of a link placed by deep linking, with its custom parameters."""
    return _launch(browser, course, person, link_id=link_id)


def choose(browser: LtiBrowser, chooser: str, data: dict[str, Any]) -> httpx.Response:
    """Submit the chooser as a browser would, with the CSRF token its page carries."""
    page = browser.get(chooser)
    assert page.status_code == 200, page.text[:1000]
    return browser.http.post(f"{browser.tool_url}{chooser}", data={"csrf_token": csrf_token(page), **data})


@dataclass
class Answer:
    return_url: str
    token: str


def answer_of(page: httpx.Response) -> Answer:
    """The auto-submitted form of the tool's answer page: where it posts, and the signed JWT."""
    assert page.status_code == 200, page.text[:2000]
    action, token = _RETURN_FORM.search(page.text), _JWT.search(page.text)
    assert action and token, page.text[:2000]
    return Answer(html.unescape(action.group(1)), html.unescape(token.group(1)))


def verified_with_tool_jwks(tool_url: str, token: str) -> dict[str, Any]:
    """The answer's claims after checking its signature against the tool's published JWKS."""
    keys = KeySet.import_key_set(httpx.get(f"{tool_url}/lti/jwks").raise_for_status().json())
    return dict(jwt.decode(token, keys, algorithms=["RS256"]).claims)


def input_types(page: httpx.Response) -> set[str]:
    """The input types of the chooser's items (radio for one item, checkbox for several)."""
    return set(re.findall(r'<input type="(\w+)" name="items"', page.text))
