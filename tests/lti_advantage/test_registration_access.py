"""Who may register a platform and sign in as the tool's administrator, over real HTTP: a registration needs a
one-time invitation link the administrator created (without one the tool fetches and writes nothing), attempts
are throttled per client address, admin sign-ins per address (an IPv6 client by its /64), never for everyone (that
would let anyone lock the administrator out), and signing out kills every copy
of the admin cookie. The throttles and sign-in records live in the shared state store: database or Redis."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from flask import Flask, Response, jsonify
from sqlalchemy import update

from lti_tool.extensions import db, utcnow
from lti_tool.lti.models import RegistrationInvitation
from lti_tool.runtime import runtime
from tests.conftest import ToolEnvironment, row_counts, tool_environment
from tests.lti_browser import error_code
from tests.programs.helpers import csrf_token
from tests.registration import invite
from tests.servers import CountingMiddleware, served

REDIS_URL = os.environ.get("MENTOR_LTI_TEST_REDIS_URL", "")
BOTH_STORES = pytest.mark.parametrize(
    "redis_url",
    ["", pytest.param(REDIS_URL, marks=pytest.mark.skipif(not REDIS_URL, reason="set MENTOR_LTI_TEST_REDIS_URL"))],
    ids=["database", "redis"],
)


@contextmanager
def self_made_lms() -> Iterator[tuple[str, CountingMiddleware]]:
    """Anyone's own 'LMS': a complete OpenID configuration for itself and a registration endpoint that accepts."""
    app = Flask("self_made_lms")
    with served() as server:
        url = server.url

        @app.get("/openid-configuration")
        def configuration() -> Response:
            return jsonify(
                {
                    "issuer": url,
                    "authorization_endpoint": f"{url}/auth",
                    "token_endpoint": f"{url}/token",
                    "jwks_uri": f"{url}/jwks",
                    "registration_endpoint": f"{url}/register",
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "https://purl.imsglobal.org/spec/lti-platform-configuration": {"product_family_code": "moodle"},
                }
            )

        @app.post("/register")
        def register() -> Response:
            return jsonify({"client_id": "mine", "https://purl.imsglobal.org/spec/lti-tool-configuration": {}})

        counter = CountingMiddleware(app)
        server.set_app(counter)
        yield url, counter


def _lms_params(lms: str) -> dict[str, str]:
    return {"openid_configuration": f"{lms}/openid-configuration", "registration_token": secrets.token_hex(8)}


@pytest.fixture
def environment(tool_settings: dict[str, Any], redis_url: str) -> Iterator[ToolEnvironment]:
    """The tool behind one trusted proxy, so each test's clients come from addresses of their own (Redis outlives a
    test: its counters must not meet another test's)."""
    with tool_environment({**tool_settings, "trusted_proxies": 1, "redis_url": redis_url}) as env:
        yield env


@pytest.fixture
def redis_url() -> str:
    return ""


def _address() -> str:
    return "10." + ".".join(str(secrets.randbelow(256)) for _ in range(3))


def _client(address: str) -> httpx.Client:
    return httpx.Client(headers={"X-Forwarded-For": address}, timeout=30)


# --- Invitations ---------------------------------------------------------------------------------------------------


def test_a_registration_without_an_invitation_fetches_and_writes_nothing(app: Flask, tool_url: str) -> None:
    before = row_counts(app)
    with self_made_lms() as (lms, calls), _client(_address()) as http:
        uninvited = http.get(f"{tool_url}/lti/register", params=_lms_params(lms))
        made_up = http.get(f"{tool_url}/lti/register/{secrets.token_urlsafe(32)}", params=_lms_params(lms))
    assert uninvited.status_code == 403 and error_code(uninvited) == "invitation_required"
    assert "registers only with an LMS its administrator invited" in uninvited.text
    assert "mentor-lti platform register-url" in uninvited.text and "/lti/admin" in uninvited.text
    assert made_up.status_code == 403 and error_code(made_up) == "not_invited"
    assert "listed, with this error" not in made_up.text
    assert calls.counts == {}  # the tool did not ask that LMS for anything
    assert row_counts(app) == before


def test_an_invitation_registers_one_lms_within_its_lifetime(app: Flask, tool_url: str) -> None:
    link = invite(app, tool_url)
    with self_made_lms() as (lms, calls), _client(_address()) as http:
        assert http.get(link, params=_lms_params(lms)).status_code == 200
        used = http.get(link, params=_lms_params(lms))
        assert used.status_code == 410 and error_code(used) == "invitation_used"
        expired = invite(app, tool_url)
        with app.app_context():
            db.session.execute(update(RegistrationInvitation).values(expires_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        before, asked = row_counts(app), dict(calls.counts)
        late = http.get(expired, params=_lms_params(lms))
    assert late.status_code == 410 and error_code(late) == "invitation_expired"
    assert calls.counts == asked and row_counts(app) == before


def _sign_in(http: httpx.Client, tool_url: str, token: str) -> httpx.Response:
    page = http.get(f"{tool_url}/lti/admin")
    return http.post(f"{tool_url}/lti/admin/sign-in", data={"csrf_token": csrf_token(page), "token": token})


def _admin_token(app: Flask) -> str:
    with app.app_context():
        return runtime().settings.admin_token.get_secret_value()


def test_the_admin_creates_lists_and_revokes_registration_links(app: Flask, tool_url: str) -> None:
    with _client(_address()) as admin, self_made_lms() as (lms, calls):
        assert _sign_in(admin, tool_url, _admin_token(app)).status_code == 303
        page = admin.get(f"{tool_url}/lti/admin")
        created = admin.post(f"{tool_url}/lti/admin/invitations", data={"csrf_token": csrf_token(page)})
        assert created.status_code == 201
        assert "Copy it now: the tool keeps only its fingerprint" in created.text
        link = created.text.split('id="registration-url">', 1)[1].split("</code>", 1)[0]
        assert link.startswith(f"{tool_url}/lti/register/")
        with app.app_context():
            [stored] = db.session.query(RegistrationInvitation).all()
            assert link.rsplit("/", 1)[1] not in stored.token_hash  # only its hash is kept
        listed = admin.get(f"{tool_url}/lti/admin")
        assert listed.text.count(">Revoke<") == 1 and link not in listed.text  # shown once, listed after
        revoke = f"{tool_url}/lti/admin/invitations/{stored.id}/revoke"
        revoked = admin.post(revoke, data={"csrf_token": csrf_token(listed)})
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/lti/admin#invitations-title"
        after = admin.get(f"{tool_url}/lti/admin")
        assert "Revoked the registration link" in after.text and "nobody can register the tool" in after.text
        refused = admin.get(link, params=_lms_params(lms))
        assert refused.status_code == 403 and error_code(refused) == "not_invited"
        assert calls.counts == {}
    # Without signing in, no link is made.
    with _client(_address()) as stranger:
        page = stranger.get(f"{tool_url}/lti/admin")
        assert (
            stranger.post(f"{tool_url}/lti/admin/invitations", data={"csrf_token": csrf_token(page)}).status_code == 401
        )
    with app.app_context():
        assert db.session.query(RegistrationInvitation).count() == 0


# --- Throttles -----------------------------------------------------------------------------------------------------


@BOTH_STORES
def test_registration_attempts_are_throttled_per_client_address(environment: ToolEnvironment) -> None:
    app, tool_url, sandbox = environment.app, environment.tool_url, environment.sandbox
    link = invite(app, tool_url)
    with self_made_lms() as (lms, calls), _client(_address()) as guesser, _client(_address()) as admin:
        for _ in range(5):
            guess = guesser.get(f"{tool_url}/lti/register/{secrets.token_urlsafe(32)}", params=_lms_params(lms))
            assert guess.status_code == 403
        before = row_counts(app)
        throttled = guesser.get(link, params=_lms_params(lms))
        assert throttled.status_code == 429 and error_code(throttled) == "too_many_attempts"
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        assert f"Try again in {throttled.headers['retry-after']} seconds" in throttled.text
        assert calls.counts == {} and row_counts(app) == before
        # Another address is not held up: its LMS registers with the invitation the guesser could not use.
        start = admin.get(f"{sandbox.url}/admin/register-tool", params={"url": link})
        assert admin.get(start.headers["location"]).status_code == 200
    assert len(sandbox.platform.advantage.tools) == 1


def test_admin_sign_in_is_throttled_per_address_and_no_one_can_lock_the_administrator_out(
    app: Flask, tool_url: str
) -> None:
    token = _admin_token(app)
    with _client(_address()) as guesser:
        for _ in range(5):
            assert _sign_in(guesser, tool_url, "x" * 40).status_code == 401
        throttled = _sign_in(guesser, tool_url, token)  # even the right token is not checked now
    assert throttled.status_code == 429 and 1 <= int(throttled.headers["retry-after"]) <= 60
    assert "Too many sign-in attempts. Try again in" in throttled.text
    with _client(_address()) as admin:
        assert _sign_in(admin, tool_url, token).status_code == 303
    # Failures from many addresses hold up only those addresses: the administrator still signs in.
    for _ in range(40):
        with _client(_address()) as guesser:
            assert _sign_in(guesser, tool_url, "y" * 40).status_code == 401
    with _client(_address()) as admin:
        assert _sign_in(admin, tool_url, token).status_code == 303
    # An IPv6 client counts by its /64: other addresses of the same block share its limit.
    block = "2001:db8:5:7::"
    for host in range(1, 6):
        with _client(f"{block}{host:x}") as guesser:
            assert _sign_in(guesser, tool_url, "z" * 40).status_code == 401
    with _client(f"{block}abcd") as same_block, _client("2001:db8:5:8::1") as next_block:
        assert _sign_in(same_block, tool_url, token).status_code == 429
        assert _sign_in(next_block, tool_url, token).status_code == 303


@BOTH_STORES
def test_signing_out_kills_every_copy_of_the_admin_cookie(environment: ToolEnvironment) -> None:
    app, tool_url = environment.app, environment.tool_url
    address = _address()
    with _client(address) as admin, _client(address) as thief:
        assert _sign_in(admin, tool_url, _admin_token(app)).status_code == 303
        thief.cookies.update(admin.cookies)
        assert thief.get(f"{tool_url}/lti/admin").status_code == 200
        page = admin.get(f"{tool_url}/lti/admin")
        assert admin.post(f"{tool_url}/lti/admin/sign-out", data={"csrf_token": csrf_token(page)}).status_code == 303
        assert admin.get(f"{tool_url}/lti/admin").status_code == 401
        assert thief.get(f"{tool_url}/lti/admin").status_code == 401
