"""Bad input from an LMS or a browser gets a 4xx that says what was wrong, writes nothing, and never a 500."""

from __future__ import annotations

import html
from typing import Any

import pytest
from flask import Flask

from lti_tool.deep_linking.services import ROUND, TARGET
from lti_tool.lti.claims import LTI
from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser, error_code, heading

REFUSED_CLAIMS: list[tuple[str, dict[str, Any], str]] = [
    ("context id is a number", {LTI + "context": {"id": 42, "title": "Mentoring"}}, "context.id"),
    ("sub is a number", {"sub": 5}, "sub"),
    ("sub is too long", {"sub": "x" * 256}, "`sub`"),
    ("roles is text", {LTI + "roles": "Learner"}, "`roles`"),
    ("resource link id is an object", {LTI + "resource_link": {"id": {"a": 1}}}, "`resource_link.id`"),
    (
        "resource link is a list",
        {LTI + "resource_link": []},
        "`https://purl.imsglobal.org/spec/lti/claim/resource_link`",
    ),
    (
        "resource link is text",
        {LTI + "resource_link": "x"},
        "`https://purl.imsglobal.org/spec/lti/claim/resource_link`",
    ),
    (
        "message type is a list",
        {LTI + "message_type": ["x"]},
        "`https://purl.imsglobal.org/spec/lti/claim/message_type`",
    ),
    ("message type is an object", {LTI + "message_type": {"a": 1}}, "claim/message_type`"),
    ("nonce is a number", {"nonce": 5}, "`nonce`"),
    ("context is text", {LTI + "context": "ment-101"}, "claim/context`"),
    ("NUL in a name", {"given_name": "Pri\x00ya"}, "`given_name`"),
    (
        "NUL deep in custom",
        {LTI + "custom": {"a": ["x", {"b": "\x00"}]}},
        "`https://purl.imsglobal.org/spec/lti/claim/custom.a[1].b`",
    ),
    ("NUL in the issuer", {"iss": "https://lms\x00.example"}, "`iss`"),
]


@pytest.mark.parametrize(("case", "claims", "named"), REFUSED_CLAIMS, ids=[c[0] for c in REFUSED_CLAIMS])
def test_a_launch_with_a_required_claim_of_the_wrong_shape_is_refused_naming_it(
    app: Flask, browser: LtiBrowser, case: str, claims: dict[str, Any], named: str
) -> None:
    before = row_counts(app)
    response = browser.signed_launch(person="learner-04", claims=claims)
    assert response.status_code == 400, response.text
    assert error_code(response) == "invalid_claim"
    assert named in html.unescape(response.text)
    assert row_counts(app) == before


def test_optional_claims_of_the_wrong_shape_are_ignored_and_the_launch_goes_on(app: Flask, browser: LtiBrowser) -> None:
    junk = {
        "name": {"first": "Priya"},
        "given_name": ["Priya"],
        "family_name": "x" * 10_000,
        "email": 7,
        "locale": {"x": 1},
        LTI + "context": {"id": "ment-101", "title": ["Mentoring"], "label": 3},
        LTI + "tool_platform": {"product_family_code": "y" * 500},
        LTI + "custom": {"nested": {"a": 1}, "n": 3},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {"scope": "not-a-list", "lineitems": 5},
    }
    response = browser.signed_launch(person="learner-04", claims=junk)
    assert response.status_code == 303, response.text  # accepted: on to the course


@pytest.mark.parametrize("round_id", ["²", "٣", "99999999999999999999", "-1"])
def test_a_placed_link_whose_round_is_not_a_plain_number_cannot_be_opened(
    app: Flask, browser: LtiBrowser, round_id: str
) -> None:
    response = browser.signed_launch(
        person="instructor", claims={LTI + "custom": {TARGET: "assessment", ROUND: round_id}}
    )
    assert response.status_code == 404, response.text
    assert heading(response) == "This link cannot be opened"


def test_a_login_with_a_nul_character_is_refused_before_any_view(app: Flask, browser: LtiBrowser) -> None:
    before = row_counts(app)
    response = browser.http.get(f"{browser.tool_url}/lti/login?iss=x%00&login_hint=a")
    assert response.status_code == 400
    assert "contains a NUL character" in response.text
    assert row_counts(app) == before


@pytest.mark.parametrize(
    ("method", "path", "options"),
    [
        ("POST", "/lti/launch", {"data": {"state": "s\x00", "id_token": "t"}}),
        ("POST", "/lti/login", {"json": {"iss": "x", "deep": [[{"login_hint": "a\x00"}]]}}),
        ("GET", "/lti/login%00", {}),
        ("GET", "/lti/login?x%00=1", {}),
    ],
    ids=["form", "json", "path", "query name"],
)
def test_every_request_with_a_nul_character_is_refused_with_400(
    app: Flask, browser: LtiBrowser, method: str, path: str, options: dict[str, Any]
) -> None:
    before = row_counts(app)
    response = browser.http.request(
        method, f"{browser.tool_url}{path}", headers={"Accept": "application/json"}, **options
    )
    assert response.status_code == 400, response.text
    assert "contains a NUL character" in response.json()["message"]
    assert row_counts(app) == before


def test_a_json_body_nested_too_deeply_is_refused_with_400(browser: LtiBrowser) -> None:
    response = browser.http.post(
        f"{browser.tool_url}/lti/login",
        content="[" * 100_000 + "]" * 100_000,
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert response.status_code == 400, response.text
