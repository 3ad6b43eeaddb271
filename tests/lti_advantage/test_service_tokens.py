"""Service access tokens: the tool authenticates to the LMS token endpoint with a signed client assertion, which
the sandbox checks like a real platform, and reuses a token until shortly before it expires."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from lti_tool.extensions import db, utcnow
from lti_tool.lti.models import Platform, ServiceToken
from lti_tool.lti.services import CLIENT_ASSERTION_TYPE, ServiceClient, ServiceError
from lti_tool.runtime import runtime
from tests.conftest import Sandbox

NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
SCORE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"


def _client(app: Flask, http: httpx.Client) -> ServiceClient:
    platform = db.session.execute(select(Platform)).scalar_one()
    return ServiceClient(platform, keys=runtime().keys, http=http)


def _assertion(app: Flask, sandbox: Sandbox, **changes: Any) -> str:
    """A client assertion signed with the tool's key, with some claims changed (None removes one)."""
    with app.app_context():
        key = runtime().keys.signing_key()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": sandbox.platform.client_id,
        "sub": sandbox.platform.client_id,
        "aud": sandbox.platform.token_url,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key.key)


def _token_request(sandbox: Sandbox, assertion: str, scope: str = NRPS) -> httpx.Response:
    return httpx.post(
        sandbox.platform.token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": CLIENT_ASSERTION_TYPE,
            "client_assertion": assertion,
            "scope": scope,
        },
    )


def test_a_token_is_reused_until_shortly_before_it_expires(app: Flask, sandbox: Sandbox) -> None:
    with app.app_context(), httpx.Client() as http:
        client = _client(app, http)
        first = client.access_token([NRPS])
        db.session.commit()
        assert client.access_token([NRPS]) == first
        assert sandbox.platform.advantage.token_requests == [sandbox.platform.client_id]
        # Other scopes need their own token.
        assert client.access_token([SCORE]) != first
        db.session.commit()
        assert len(sandbox.platform.advantage.token_requests) == 2
        # Within the last minute of its life a token is replaced before it can fail a call (by the next request's
        # client: a client holds the token it used for its own short life, a sync's pages or a batch of scores).
        db.session.execute(update(ServiceToken).values(expires_at=utcnow() + timedelta(seconds=30)))
        db.session.commit()
        assert client.access_token([NRPS]) == first
        renewed = _client(app, http).access_token([NRPS])
        assert renewed != first
        assert len(sandbox.platform.advantage.token_requests) == 3


def test_a_revoked_token_is_replaced_once_and_the_call_succeeds(app: Flask, sandbox: Sandbox) -> None:
    url = f"{sandbox.url}/api/courses/ment-101/memberships"
    accept = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
    with app.app_context(), httpx.Client() as http:
        client = _client(app, http)
        client.access_token([NRPS])
        db.session.commit()
        sandbox.platform.advantage._tokens.clear()  # the platform forgets every token it issued
        response = client.request("GET", url, [NRPS], accept=accept)
        assert response.status_code == 200
        assert len(sandbox.platform.advantage.token_requests) == 2


def test_an_lms_outage_is_a_retryable_service_error(app: Flask, sandbox: Sandbox) -> None:
    sandbox.platform.advantage.outage = True
    with app.app_context(), httpx.Client() as http, pytest.raises(ServiceError) as failed:
        _client(app, http).request(
            "GET", f"{sandbox.url}/api/courses/ment-101/memberships", [NRPS], accept="application/json"
        )
    assert failed.value.retryable and failed.value.status_code == 503


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aud": "https://elsewhere.example/token"}, "aud must be the token endpoint"),
        ({"sub": "someone-else"}, "sub must be the client id"),
        ({"iss": "unknown-client", "sub": "unknown-client"}, "not a registered client"),
        ({"exp": int(time.time()) - 10}, "has expired"),
        ({"jti": None}, "needs a jti"),
    ],
)
def test_the_token_endpoint_refuses_a_bad_client_assertion(
    app: Flask, sandbox: Sandbox, changes: dict[str, Any], message: str
) -> None:
    response = _token_request(sandbox, _assertion(app, sandbox, **changes))
    assert response.status_code == 401
    assert message in response.json()["error_description"]


def test_the_token_endpoint_refuses_a_replayed_assertion(app: Flask, sandbox: Sandbox) -> None:
    assertion = _assertion(app, sandbox)
    assert _token_request(sandbox, assertion).status_code == 200
    replayed = _token_request(sandbox, assertion)
    assert replayed.status_code == 401
    assert "already used" in replayed.json()["error_description"]


def test_the_token_endpoint_refuses_an_assertion_signed_by_another_key(app: Flask, sandbox: Sandbox) -> None:
    stranger = RSAKey.generate_key(2048)
    now = int(time.time())
    forged = jwt.encode(
        {"alg": "RS256", "kid": "not-ours"},
        {
            "iss": sandbox.platform.client_id,
            "sub": sandbox.platform.client_id,
            "aud": sandbox.platform.token_url,
            "iat": now,
            "exp": now + 60,
            "jti": "x",
        },
        stranger,
    )
    response = _token_request(sandbox, forged)
    assert response.status_code == 401
    assert "signature" in response.json()["error_description"]
