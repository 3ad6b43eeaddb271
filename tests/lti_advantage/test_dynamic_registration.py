"""LTI Dynamic Registration over HTTP: an LMS administrator pastes the tool's URL into the sandbox LMS (Moodle and
Canvas shapes), the tool registers itself, and a launch with the new client succeeds; registrations from the wrong
origin, with a reused or refused token, an incomplete configuration or a failing platform are refused clearly and
store nothing but the failed attempt."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema
import pytest
from flask import Flask, Response, jsonify
from pydantic import ValidationError
from sqlalchemy import select

from lti_tool.cli import main
from lti_tool.courses.models import Course
from lti_tool.extensions import db
from lti_tool.lti.dynamic_registration import DynamicRegistrationError, validate_configuration
from lti_tool.lti.models import Deployment, DynamicRegistration, Platform
from lti_tool.lti.tool_configuration import ToolConfiguration
from lti_tool.runtime import runtime
from lti_tool.sandbox.advantage import TOOL_CONFIGURATION, Preset
from lti_tool.settings import load_settings
from tests.conftest import Sandbox, row_counts
from tests.lti_browser import LtiBrowser, heading
from tests.programs.helpers import csrf_token
from tests.registration import invite
from tests.servers import served

SCOPES = {
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
}
CANVAS_EXT = "https://canvas.instructure.com/lti/"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
ERROR_CODE = re.compile(r"Error code: <code>([^<]+)</code>")
BOTH = pytest.mark.parametrize("sandbox_preset", [Preset.MOODLE, Preset.CANVAS], ids=["moodle", "canvas"])

# The registration a tool POSTs: LTI Dynamic Registration 1.0 (3.5, 3.6) with the tool configuration Canvas
# validates (lib/schemas/lti/ims/lti_tool_configuration.rb: domain without scheme, claims, typed messages).
URL = {"type": "string", "pattern": "^https?://[^/]+/"}
REGISTRATION = {
    "type": "object",
    "required": [
        "application_type", "response_types", "grant_types", "initiate_login_uri", "redirect_uris", "client_name",
        "jwks_uri", "token_endpoint_auth_method", "scope", TOOL_CONFIGURATION,
    ],
    "properties": {
        "application_type": {"const": "web"},
        "response_types": {"const": ["id_token"]},
        "grant_types": {"type": "array", "items": {"enum": ["implicit", "client_credentials"]}, "minItems": 2},
        "initiate_login_uri": URL,
        "redirect_uris": {"type": "array", "items": URL, "minItems": 1},
        "jwks_uri": URL,
        "logo_uri": URL,
        "token_endpoint_auth_method": {"const": "private_key_jwt"},
        "scope": {"type": "string"},
        TOOL_CONFIGURATION: {
            "type": "object",
            "required": ["domain", "target_link_uri", "claims", "messages"],
            "properties": {
                "domain": {"type": "string", "pattern": r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$"},
                "target_link_uri": URL,
                "claims": {"type": "array", "items": {"type": "string"}, "contains": {"const": "email"}},
                "custom_parameters": {"type": "object", "additionalProperties": {"type": "string"}},
                "messages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["type", "target_link_uri", "placements"],
                        "properties": {
                            "type": {"enum": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"]},
                            "target_link_uri": URL,
                            "icon_uri": URL,
                            "label": {"type": "string"},
                            "placements": {
                                "type": "array",
                                "items": {"enum": ["course_navigation", "link_selection", "assignment_selection"]},
                            },
                            CANVAS_EXT + "course_navigation/default_enabled": {"type": "boolean"},
                            CANVAS_EXT + "visibility": {"enum": ["admins", "members", "public"]},
                        },
                    },
                },
                CANVAS_EXT + "privacy_level": {"enum": ["public", "name_only", "email_only", "anonymous"]},
            },
        },
    },
}  # fmt: skip


def _open_from_lms(http: httpx.Client, sandbox: Sandbox, registration_url: str) -> tuple[str, httpx.Response]:
    """The admin pastes the tool's registration link into the LMS, which sends the browser to it with a fresh
    token."""
    start = http.get(f"{sandbox.url}/admin/register-tool", params={"url": registration_url})
    assert start.status_code == 302, start.text
    url = start.headers["location"]
    return url, http.get(url)


def _launch_as(browser: LtiBrowser, client_id: str, person: str = "instructor") -> httpx.Response:
    """A real launch from the sandbox as the given (dynamically registered) client."""
    params = browser.platform.login_initiation_params("ment-101", person, client_id=client_id)
    fields = browser.authorize(browser.start_login(params))
    return browser.post_launch(fields)


def _error_code(response: httpx.Response) -> str:
    found = ERROR_CODE.search(response.text)
    return found.group(1) if found else ""


def _domain_rows(app: Flask) -> dict[str, int]:
    """Rows but the administrator's own records: registration attempts and invitations."""
    records = {"lti_dynamic_registration", "lti_registration_invitation"}
    return {k: v for k, v in row_counts(app).items() if k not in records}


def _attempts(app: Flask) -> list[DynamicRegistration]:
    with app.app_context():
        rows = list(db.session.execute(select(DynamicRegistration).order_by(DynamicRegistration.id)).scalars())
        db.session.expunge_all()
        return rows


def _sign_in(browser: LtiBrowser, app: Flask) -> None:
    with app.app_context():
        token = runtime().settings.admin_token.get_secret_value()
    page = browser.get("/lti/admin")
    assert page.status_code == 401
    signed_in = browser.http.post(
        f"{browser.tool_url}/lti/admin/sign-in", data={"csrf_token": csrf_token(page), "token": token}
    )
    assert signed_in.status_code == 303, signed_in.text


# --- The good path, against both LMS shapes ------------------------------------------------------------------------


@BOTH
def test_a_registration_started_in_the_lms_registers_the_tool_and_its_launches_work(
    app: Flask, sandbox: Sandbox, tool_url: str, browser: LtiBrowser, sandbox_preset: Preset
) -> None:
    url, page = _open_from_lms(browser.http, sandbox, invite(app, tool_url))
    product = "Moodle" if sandbox_preset is Preset.MOODLE else "Canvas"
    assert page.status_code == 200, page.text
    assert heading(page) == f"Mentor is registered with {product}"
    assert page.headers["cache-control"] == "no-store"
    # The last page hands the window back to the LMS by postMessage, from a script file (CSP: no inline scripts).
    assert "data-lti-close" in page.text and "/static/registration-close.js" in page.text
    assert "<script>" not in page.text
    script = browser.get("/static/registration-close.js").text
    assert "org.imsglobal.lti.close" in script and "window.opener || " in script
    if sandbox_preset is Preset.MOODLE:
        assert "Moodle adds the tool as pending" in page.text and "Activate" in page.text
        # Moodle registers it as a preconfigured tool only: without this setting teachers do not find it.
        assert "<em>Show in activity chooser and as a preconfigured tool</em>" in page.text
    else:
        assert "Canvas shows the registration for review" in page.text
        # As Canvas shows it today: the Apps page installs the app, the Developer Keys page switches the key on.
        assert "<em>Install App</em>" in page.text and "<em>Enable &amp; Close</em>" in page.text
        assert "<em>Availability &amp; Exceptions</em>" in page.text  # the deployment ID came back: installed
        assert "LTI Key" not in page.text

    # The platform now has the tool, registered with everything it needs.
    [(client_id, registered)] = sandbox.platform.advantage.tools.items()
    body = registered.registration
    jsonschema.validate(body, REGISTRATION)
    assert body["initiate_login_uri"] == f"{tool_url}/lti/login"
    assert body["redirect_uris"] == [f"{tool_url}/lti/launch"] and body["jwks_uri"] == f"{tool_url}/lti/jwks"
    assert set(body["scope"].split()) == SCOPES and set(registered.scopes) == SCOPES
    messages = {m["type"]: m for m in body[TOOL_CONFIGURATION]["messages"]}
    assert messages["LtiResourceLinkRequest"]["placements"] == ["course_navigation"]
    assert messages["LtiDeepLinkingRequest"]["placements"] == ["link_selection", "assignment_selection"]
    canvas_keys = {k for k in (*body[TOOL_CONFIGURATION], *messages["LtiResourceLinkRequest"]) if CANVAS_EXT in k}
    if sandbox_preset is Preset.CANVAS:
        assert body[TOOL_CONFIGURATION][CANVAS_EXT + "privacy_level"] == "public"
        assert messages["LtiResourceLinkRequest"][CANVAS_EXT + "visibility"] == "members"
    else:
        assert not canvas_keys  # Canvas's extensions only where the platform is Canvas

    # The tool stored the platform with the new client and deployment, and the attempt without its token.
    with app.app_context():
        platform = db.session.execute(select(Platform).where(Platform.client_id == client_id)).scalar_one()
        assert platform.issuer == sandbox.platform.issuer
        assert [d.deployment_id for d in platform.deployments] == [registered.deployment_id]
        assert (platform.auth_login_url, platform.auth_token_url, platform.key_set_url) == (
            sandbox.platform.auth_url,
            sandbox.platform.token_url,
            sandbox.platform.jwks_url,
        )
        platform_id = platform.id
    [attempt] = _attempts(app)
    assert (attempt.status, attempt.platform_id, attempt.product) == ("registered", platform_id, product.lower())
    token = dict(parse_qsl(urlsplit(url).query))["registration_token"]
    assert token not in attempt.openid_configuration_url and attempt.token_hash != token
    assert attempt.openid_configuration_url == sandbox.platform.openid_configuration_url

    # A real launch as the new client lands in the course, under the new registration.
    launched = _launch_as(browser, client_id)
    assert launched.status_code == 303, launched.text
    assert browser.get(launched.headers["location"]).status_code == 200
    with app.app_context():
        course = db.session.execute(select(Course)).scalar_one()
        assert db.session.get_one(Deployment, course.deployment_id).platform_id == platform_id


@pytest.mark.parametrize("sandbox_preset", [Preset.CANVAS])
def test_a_canvas_deployment_that_comes_later_is_added_on_the_admin_page(
    app: Flask, sandbox: Sandbox, tool_url: str, browser: LtiBrowser
) -> None:
    # Canvas without its LTI Registrations feature answers without a deployment: the app is installed afterwards.
    sandbox.platform.advantage.canvas_deployment_in_registration = False
    _, page = _open_from_lms(browser.http, sandbox, invite(app, tool_url))
    assert page.status_code == 200
    assert "One more step" in page.text and "Deployment Id" in page.text and "<em>By Client ID</em>" in page.text
    assert "Availability &amp; Exceptions" not in page.text  # not installed yet: no app page to look at
    [(client_id, registered)] = sandbox.platform.advantage.tools.items()
    refused = _launch_as(browser, client_id)
    assert refused.status_code == 400 and "unknown_deployment" in refused.text

    _sign_in(browser, app)
    admin = browser.get("/lti/admin")
    assert "none yet" in admin.text
    # The admin page names Canvas's menus as they are today: the Apps page first, Developer Keys as the other way.
    assert "<em>Install a New App</em>" in admin.text and "<em>Dynamic Registration</em>" in admin.text
    assert "+ Developer Key \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} + LTI Registration" in admin.text
    assert "LTI Key</em>, choose" not in admin.text
    assert "<em>Availability &amp; Exceptions</em>, its <em>Deployment ID</em>" in admin.text
    with app.app_context():
        platform_id = db.session.execute(select(Platform.id).where(Platform.client_id == client_id)).scalar_one()
    add = f"{tool_url}/lti/admin/platforms/{platform_id}/deployments"
    blank = browser.http.post(add, data={"csrf_token": csrf_token(admin), "deployment_id": " "})
    assert blank.status_code == 400 and "Enter the deployment ID." in blank.text
    added = browser.http.post(add, data={"csrf_token": csrf_token(admin), "deployment_id": registered.deployment_id})
    assert added.status_code == 303
    assert f"Added deployment {registered.deployment_id}" in browser.get(added.headers["location"]).text
    assert _launch_as(browser, client_id).status_code == 303


# --- Refusals ------------------------------------------------------------------------------------------------------


@BOTH
def test_a_reused_token_and_a_used_link_are_refused_before_the_platform_is_called(
    app: Flask, sandbox: Sandbox, tool_url: str, browser: LtiBrowser
) -> None:
    # A failed attempt spends the LMS's registration token but leaves the invitation open.
    link = invite(app, tool_url)
    config = sandbox.platform.openid_configuration_url
    failed = browser.http.get(link, params={"openid_configuration": config, "registration_token": "forged"})
    assert failed.status_code == 400
    calls = dict(sandbox.requests)
    again = browser.http.get(failed.url)
    assert again.status_code == 409
    assert _error_code(again) == "registration_token_reused"
    assert "already used (it failed on" in again.text and "Start the registration again" in again.text
    assert sandbox.requests == calls  # neither the configuration nor the registration endpoint was asked again

    # The first registration that succeeds uses the invitation up: refreshing its page is refused.
    url, first = _open_from_lms(browser.http, sandbox, link)
    assert first.status_code == 200
    before, calls = _domain_rows(app), dict(sandbox.requests)
    refreshed = browser.http.get(url)
    assert refreshed.status_code == 410
    assert _error_code(refreshed) == "invitation_used"
    assert "This registration link was already used, on" in refreshed.text
    assert "Ask the tool&#39;s administrator for a registration link" in refreshed.text
    assert sandbox.requests == calls
    assert _domain_rows(app) == before
    assert [a.status for a in _attempts(app)] == ["failed", "registered"]


def test_a_token_is_refused_while_its_first_use_is_still_running(app: Flask, tool_url: str) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_configuration(url: str) -> dict[str, Any]:
        entered.set()
        release.wait(timeout=10)
        return _own_configuration(url)

    answer = (200, json.dumps({"client_id": "c-1", TOOL_CONFIGURATION: {"deployment_id": "d-1"}}), "")
    link = invite(app, tool_url)
    with fake_lms(slow_configuration, answer) as lms, httpx.Client(timeout=30) as http:
        first: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: first.append(_register_with(link, lms, http)))
        worker.start()
        assert entered.wait(timeout=10)
        second = _register_with(link, lms, http)
        release.set()
        worker.join(timeout=30)
    assert second.status_code == 409 and _error_code(second) == "registration_token_reused"
    assert first[0].status_code == 200, first[0].text
    [attempt] = _attempts(app)
    assert attempt.status == "registered"


@BOTH
def test_the_platforms_own_refusal_of_the_token_is_reported(
    app: Flask, sandbox: Sandbox, tool_url: str, browser: LtiBrowser
) -> None:
    before = _domain_rows(app)
    page = browser.http.get(
        invite(app, tool_url),
        params={"openid_configuration": sandbox.platform.openid_configuration_url, "registration_token": "forged"},
    )
    assert page.status_code == 400
    assert _error_code(page) == "registration_token_refused"
    # The status and the OAuth error code; the platform's own words (error_description) are not repeated.
    assert "The LMS refused the registration token when asked for its registration (401: invalid_token)" in page.text
    assert "The registration token is unknown" not in page.text
    assert not sandbox.platform.advantage.tools
    assert _domain_rows(app) == before
    [attempt] = _attempts(app)
    assert attempt.status == "failed" and attempt.platform_id is None
    assert "refused the registration token" in (attempt.error or "")


def _own_configuration(url: str, **changes: Any) -> dict[str, Any]:
    """A complete configuration of a platform served at `url`; None in `changes` removes a key."""
    document = {
        "issuer": url,
        "authorization_endpoint": f"{url}/auth",
        "token_endpoint": f"{url}/token",
        "jwks_uri": f"{url}/jwks",
        "registration_endpoint": f"{url}/register",
        "id_token_signing_alg_values_supported": ["RS256"],
        PLATFORM_CONFIGURATION: {
            "product_family_code": "moodle",
            "messages_supported": [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}],
        },
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


@contextmanager
def fake_lms(
    configuration: Callable[[str], dict[str, Any]], registration: tuple[int, str, str] = (200, "{}", "")
) -> Iterator[str]:
    """An LMS on its own port whose configuration and registration answers a test chooses."""
    app = Flask("fake_lms")
    calls: list[str] = []

    with served() as server:

        @app.get("/openid-configuration")
        def openid_configuration() -> Response:
            calls.append("configuration")
            return jsonify(configuration(server.url))

        @app.post("/register")
        def register() -> Response:
            calls.append("registration")
            status, body, location = registration
            headers = {"Location": location} if location else {}
            return Response(body, status=status, content_type="application/json", headers=headers)

        server.set_app(app)
        yield server.url


def _register_with(registration_url: str, lms_url: str, http: httpx.Client) -> httpx.Response:
    return http.get(
        registration_url,
        params={"openid_configuration": f"{lms_url}/openid-configuration", "registration_token": "t0ken"},
    )


@BOTH
def test_a_configuration_naming_another_origins_issuer_is_refused(
    app: Flask, sandbox: Sandbox, tool_url: str, browser: LtiBrowser
) -> None:
    before = _domain_rows(app)
    # A copy of the sandbox's configuration, served from elsewhere: it claims the sandbox's issuer and endpoints.
    with fake_lms(lambda url: sandbox.platform.openid_configuration()) as lms:
        page = _register_with(invite(app, tool_url), lms, browser.http)
    assert page.status_code == 403
    assert _error_code(page) == "issuer_mismatch"
    assert f"names the issuer {sandbox.platform.issuer}, which is not its own address" in page.text
    assert sandbox.requests.get(urlsplit(sandbox.platform.registration_url).path, 0) == 0
    assert _domain_rows(app) == before
    [attempt] = _attempts(app)
    assert attempt.status == "failed" and "not its own address" in (attempt.error or "")


def test_a_configuration_missing_endpoints_is_refused(app: Flask, tool_url: str, browser: LtiBrowser) -> None:
    before = _domain_rows(app)
    with fake_lms(lambda url: _own_configuration(url, jwks_uri=None, registration_endpoint=None)) as lms:
        page = _register_with(invite(app, tool_url), lms, browser.http)
    assert page.status_code == 400
    assert _error_code(page) == "configuration_incomplete"
    assert "lacks jwks_uri, registration_endpoint" in page.text
    assert _domain_rows(app) == before


@pytest.mark.parametrize(
    ("registration", "status", "code", "message"),
    [
        (
            (400, '{"error": "invalid_client_metadata", "error_description": "redirect_uris must be https"}', ""),
            400,
            "platform_refused",
            "with an error (400: invalid_client_metadata).",
        ),
        ((503, "<html>maintenance</html>", ""), 502, "platform_failed", "with an error (503)."),
        ((302, "", "https://elsewhere.example/register"), 400, "platform_redirected", "with a redirect (302)"),
        ((200, "not json", ""), 502, "platform_answer_invalid", "is not JSON"),
        ((200, '{"scope": ""}', ""), 502, "registration_answer_invalid", "did not answer with a client_id"),
    ],
    ids=["refused", "down", "redirect", "not-json", "no-client-id"],
)
def test_a_failing_platform_registration_is_reported_and_stores_nothing(
    app: Flask,
    tool_url: str,
    browser: LtiBrowser,
    registration: tuple[int, str, str],
    status: int,
    code: str,
    message: str,
) -> None:
    before = _domain_rows(app)
    with fake_lms(_own_configuration, registration) as lms:
        page = _register_with(invite(app, tool_url), lms, browser.http)
    assert page.status_code == status
    assert _error_code(page) == code
    assert message in page.text.replace("&lt;", "<").replace("&gt;", ">")
    assert "Nothing was registered" in page.text and "data-lti-close" in page.text
    assert _domain_rows(app) == before
    [attempt] = _attempts(app)
    assert attempt.status == "failed" and attempt.issuer == lms


def test_the_registration_url_opened_by_hand_explains_itself(app: Flask, tool_url: str) -> None:
    page = httpx.get(invite(app, tool_url))
    assert page.status_code == 400
    assert _error_code(page) == "not_started_by_lms"
    assert "must be opened by the LMS" in page.text
    assert "Install a New App &gt; LTI 1.3, Dynamic Registration URL" in page.text
    assert _attempts(app) == []


# --- The configuration checks, without a network -------------------------------------------------------------------

HOSTED = "https://canvas.instructure.com"
INSTITUTION = "https://school.instructure.com/api/lti/security/openid-configuration"


def _hosted_canvas(**changes: Any) -> dict[str, Any]:
    """Hosted Canvas as an institution's configuration describes it (lti/ims/dynamic_registration_controller.rb)."""
    hosted = {
        "authorization_endpoint": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "token_endpoint": "https://sso.canvaslms.com/login/oauth2/token",
        "jwks_uri": "https://sso.canvaslms.com/api/lti/security/jwks",
        "registration_endpoint": "https://school.instructure.com/api/lti/registrations",
        "authorization_server": "canvas.instructure.com",
        PLATFORM_CONFIGURATION: {"product_family_code": "canvas", CANVAS_EXT + "account_name": "School"},
    }
    return _own_configuration(HOSTED, **{**hosted, **changes})


def test_hosted_canvas_is_accepted_from_an_institutions_host_with_canvass_own_endpoints() -> None:
    configuration = validate_configuration(_hosted_canvas(), INSTITUTION)
    assert configuration.issuer == HOSTED and configuration.product == "canvas"
    assert configuration.account_name == "School" and configuration.authorization_server == "canvas.instructure.com"
    beta = _hosted_canvas(
        issuer="https://canvas.beta.instructure.com",
        authorization_endpoint="https://sso.beta.canvaslms.com/api/lti/authorize_redirect",
        token_endpoint="https://sso.beta.canvaslms.com/login/oauth2/token",
        jwks_uri="https://sso.beta.canvaslms.com/api/lti/security/jwks",
    )
    assert validate_configuration(beta, INSTITUTION).issuer == "https://canvas.beta.instructure.com"


@pytest.mark.parametrize(
    ("document", "url", "code"),
    [
        # Canvas's shared issuer with keys elsewhere would let that host sign launches as hosted Canvas.
        (_hosted_canvas(jwks_uri="https://evil.example/jwks"), INSTITUTION, "issuer_mismatch"),
        (_hosted_canvas(token_endpoint="https://school.instructure.com/login/oauth2/token"), INSTITUTION,
         "issuer_mismatch"),
        # Only Canvas may claim Canvas's issuer; beta keys do not serve the production issuer.
        (_hosted_canvas(**{PLATFORM_CONFIGURATION: {"product_family_code": "moodle"}}), INSTITUTION,
         "issuer_mismatch"),
        (_hosted_canvas(jwks_uri="https://sso.beta.canvaslms.com/api/lti/security/jwks"), INSTITUTION,
         "issuer_mismatch"),
        (_own_configuration("https://moodle.example.edu"), "https://other.example.edu/openid", "issuer_mismatch"),
        (_own_configuration("https://moodle.example.edu"), "https://moodle.example.edu:8443/openid", "issuer_mismatch"),
        # HTTPS only, except on this machine; a public platform may not point the tool at loopback addresses.
        (_own_configuration("http://moodle.example.edu"), "http://moodle.example.edu/openid", "insecure_endpoint"),
        (_own_configuration("https://moodle.example.edu", jwks_uri="https://127.0.0.1/jwks"),
         "https://moodle.example.edu/openid", "insecure_endpoint"),
        (_own_configuration("https://moodle.example.edu", id_token_signing_alg_values_supported=["HS256"]),
         "https://moodle.example.edu/openid", "unsupported_algorithm"),
        (_own_configuration("https://moodle.example.edu", **{PLATFORM_CONFIGURATION: None}),
         "https://moodle.example.edu/openid", "configuration_incomplete"),
        (["not", "an", "object"], "https://moodle.example.edu/openid", "configuration_invalid"),
    ],
    ids=[
        "canvas-keys-elsewhere", "canvas-token-elsewhere", "canvas-issuer-not-canvas", "canvas-beta-keys",
        "other-host", "other-port", "plain-http", "loopback-from-public", "no-rs256", "no-platform-configuration",
        "not-an-object",
    ],
)  # fmt: skip
def test_configuration_checks_refuse(document: Any, url: str, code: str) -> None:
    with pytest.raises(DynamicRegistrationError) as refused:
        validate_configuration(document, url)
    assert refused.value.code == code


def test_a_self_hosted_platform_on_its_own_origin_is_accepted() -> None:
    url = "https://moodle.example.edu/mod/lti/openid-configuration.php"
    configuration = validate_configuration(_own_configuration("https://moodle.example.edu"), url)
    assert configuration.issuer == "https://moodle.example.edu" and configuration.product_name == "Moodle"
    assert configuration.message_types == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
    # The explicit default port is the same origin.
    assert validate_configuration(_own_configuration("https://moodle.example.edu:443"), url).product == "moodle"


def test_the_registration_leaves_out_messages_the_platform_cannot_send() -> None:
    tool = ToolConfiguration(base_url="https://mentor.example.edu", name="Mentor")
    body = tool.registration_request(product="moodle", message_types={"LtiResourceLinkRequest"})
    assert [m["type"] for m in body[TOOL_CONFIGURATION]["messages"]] == ["LtiResourceLinkRequest"]
    jsonschema.validate(body, REGISTRATION)
    assert body[TOOL_CONFIGURATION]["domain"] == "mentor.example.edu"


# --- The admin page and the commands -------------------------------------------------------------------------------


def test_the_admin_page_shows_the_registration_url_only_after_signing_in(
    app: Flask, tool_url: str, browser: LtiBrowser
) -> None:
    locked = browser.get("/lti/admin")
    assert locked.status_code == 401
    assert "/lti/register" not in locked.text and 'name="token"' in locked.text
    wrong = browser.http.post(
        f"{tool_url}/lti/admin/sign-in", data={"csrf_token": csrf_token(locked), "token": "x" * 40}
    )
    assert wrong.status_code == 401 and "That is not the admin token." in wrong.text
    # Without the form's CSRF token even the right admin token is refused.
    with app.app_context():
        token = runtime().settings.admin_token.get_secret_value()
    assert browser.http.post(f"{tool_url}/lti/admin/sign-in", data={"token": token}).status_code == 400

    _sign_in(browser, app)
    page = browser.get("/lti/admin")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "/lti/register" not in page.text and "nobody can register the tool until you create one" in page.text
    assert f"{tool_url}/lti/canvas.json" in page.text and 'data-copy="canvas-json-url"' in page.text
    assert "/static/copy-button.js" in page.text and "<script>" not in page.text
    assert "Sandbox LMS" in page.text  # the registered platforms

    signed_out = browser.http.post(f"{tool_url}/lti/admin/sign-out", data={"csrf_token": csrf_token(page)})
    assert signed_out.status_code == 303
    assert browser.get("/lti/admin").status_code == 401


def test_adding_a_deployment_needs_the_admin(app: Flask, tool_url: str, browser: LtiBrowser) -> None:
    page = browser.get("/lti/admin")
    before = _domain_rows(app)
    with app.app_context():
        platform_id = db.session.execute(select(Platform.id)).scalar_one()
    refused = browser.http.post(
        f"{tool_url}/lti/admin/platforms/{platform_id}/deployments",
        data={"csrf_token": csrf_token(page), "deployment_id": "sneaky"},
    )
    assert refused.status_code == 401
    assert _domain_rows(app) == before


def test_commands_print_the_registration_url_and_the_admin_token(app: Flask) -> None:
    runner = app.test_cli_runner()
    urls = runner.invoke(main, ["platform", "register-url", "--base-url", "https://mentor.example.edu/"])
    assert urls.exit_code == 0, urls.output
    assert re.search(r"Dynamic registration URL: https://mentor\.example\.edu/lti/register/[\w-]{43}\n", urls.output)
    assert "registers one LMS, until" in urls.output
    assert "Canvas developer key JSON: https://mentor.example.edu/lti/canvas.json" in urls.output
    assert runner.invoke(main, ["platform", "register-url"]).exit_code != 0  # no base URL known
    token = runner.invoke(main, ["platform", "admin-token"])
    with app.app_context():
        assert token.output.strip() == runtime().settings.admin_token.get_secret_value()


def test_the_admin_token_is_generated_once_in_the_instance_folder_unless_set(tmp_path: Path) -> None:
    generated = load_settings({"instance_path": tmp_path}).admin_token.get_secret_value()
    assert len(generated) >= 40
    assert load_settings({"instance_path": tmp_path}).admin_token.get_secret_value() == generated
    assert (tmp_path / "admin_token").stat().st_mode & 0o077 == 0
    chosen = "c" * 30
    assert load_settings({"instance_path": tmp_path, "admin_token": chosen}).admin_token.get_secret_value() == chosen
    with pytest.raises(ValidationError, match="admin_token"):
        load_settings({"instance_path": tmp_path, "admin_token": "short"})
