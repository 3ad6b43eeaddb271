"""Calls to a platform's LTI Advantage services (AGS, NRPS) with OAuth 2 client-credentials tokens.

The token request authenticates with a JWT client assertion signed by the tool's current key (LTI Security
Framework 4.1). Tokens are kept in the database, shared by every worker, and reused until `TOKEN_MARGIN` before
they expire; a client also holds the token it used, so a roster of a hundred pages reads the database for it once.
A 401 from a service drops the token and retries once with a fresh one. The token, AGS and NRPS URLs
are the platform's to choose: every call goes through `PlatformHttp` (lti_tool/lti/outbound.py) and answers are
read up to `MAX_SERVICE_ANSWER_BYTES`. A refusal's description is kept: staff see why their LMS refused a score.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import httpx
from joserfc import jwt
from sqlalchemy import delete, select

from lti_tool.errors import MentorLtiError
from lti_tool.extensions import db, upsert, utcnow
from lti_tool.lti.keys import KeyStore
from lti_tool.lti.models import Platform, ServiceToken
from lti_tool.lti.outbound import AnswerTooLarge, PlatformHttp, Unreachable, fetch

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_MARGIN = timedelta(seconds=60)
ASSERTION_LIFETIME_SECONDS = 300
# Moodle answers a course's whole roster in one page: room for tens of thousands of members, and no more.
MAX_SERVICE_ANSWER_BYTES = 32 * 1024 * 1024


class ServiceError(MentorLtiError):
    """A platform service call failed. `retryable`: an outage or throttling, worth trying again later, not before
    `retry_after` seconds when the platform said so."""

    def __init__(
        self, message: str, *, status: int | None = None, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status
        self.retryable = retryable
        self.retry_after = retry_after


def client_assertion(platform: Platform, keys: KeyStore) -> str:
    """A short-lived JWT proving to the platform's token endpoint that this request comes from the tool."""
    key = keys.signing_key()
    now = int(time.time())
    claims = {
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": platform.auth_audience or platform.auth_token_url,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECONDS,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key.key)


def _scope_key(scopes: Iterable[str]) -> str:
    return " ".join(sorted(set(scopes)))


class ServiceClient:
    """One platform's services, as the tool's client. Not thread-safe: one per worker thread or request."""

    def __init__(self, platform: Platform, *, keys: KeyStore, http: PlatformHttp) -> None:
        self.platform = platform
        self.keys = keys
        self.http = http
        self._held: dict[str, tuple[str, datetime]] = {}  # scope -> the token this client used, its expiry

    def access_token(self, scopes: Iterable[str]) -> str:
        """A valid token for `scopes`: the one held or stored if it lives past the margin, else a new one (stored)."""
        scope = _scope_key(scopes)
        held = self._held.get(scope)
        if held is None:
            stored = db.session.execute(
                select(ServiceToken).where(ServiceToken.platform_id == self.platform.id, ServiceToken.scope == scope)
            ).scalar_one_or_none()
            held = None if stored is None else (stored.access_token, stored.expires_at)
        if held is not None and held[1] - TOKEN_MARGIN > utcnow():
            self._held[scope] = held
            return held[0]
        return self._new_token(scope)

    def _new_token(self, scope: str) -> str:
        response = self._fetch(
            "POST",
            self.platform.auth_token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": CLIENT_ASSERTION_TYPE,
                "client_assertion": client_assertion(self.platform, self.keys),
                "scope": scope,
            },
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise ServiceError(
                f"The LMS refused an access token ({response.status_code}): {_oauth_error(response)}",
                status=response.status_code,
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        answer = response.json()
        token, lifetime = answer.get("access_token"), answer.get("expires_in", 3600)
        if not isinstance(token, str) or not token:
            raise ServiceError("The LMS token endpoint answered without an access_token.", retryable=False)
        expires_at = utcnow() + timedelta(seconds=int(lifetime) if isinstance(lifetime, int | float) else 3600)
        values = {"platform_id": self.platform.id, "scope": scope, "access_token": token, "expires_at": expires_at}
        statement = upsert(ServiceToken).values(**values)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=["platform_id", "scope"],
                set_={"access_token": token, "expires_at": expires_at},
            )
        )
        self._held[scope] = (token, expires_at)
        return token

    def _forget_token(self, scopes: Iterable[str]) -> None:
        scope = _scope_key(scopes)
        self._held.pop(scope, None)
        db.session.execute(
            delete(ServiceToken).where(ServiceToken.platform_id == self.platform.id, ServiceToken.scope == scope)
        )

    def request(
        self,
        method: str,
        url: str,
        scopes: Iterable[str],
        *,
        accept: str,
        body: Any = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Call a service URL with a bearer token; 2xx answers are returned, others raise ServiceError."""
        scopes = tuple(scopes)
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {self.access_token(scopes)}", "Accept": accept}
            if content_type:
                headers["Content-Type"] = content_type
            response = self._fetch(
                method,
                # Merged into the URL's own query: Moodle's service URLs carry `?type_id=`, which httpx's `params=`
                # would replace.
                httpx.URL(url).copy_merge_params(params or {}),
                headers=headers,
                content=None if body is None else _dumps(body),
            )
            if response.status_code == 401 and attempt == 1:
                self._forget_token(scopes)  # revoked or expired early: one retry with a new token
                continue
            if response.is_success:
                return response
            raise ServiceError(
                f"The LMS answered {response.status_code} to {method} {url}: {_oauth_error(response)}",
                status=response.status_code,
                retryable=response.status_code >= 500 or response.status_code in (401, 408, 429),
                retry_after=_retry_after(response),
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _fetch(self, method: str, url: str | httpx.URL, **request: Any) -> httpx.Response:
        try:
            return fetch(self.http, method, url, max_bytes=MAX_SERVICE_ANSWER_BYTES, **request)
        except Unreachable as error:
            raise ServiceError(f"The LMS at {error.origin} could not be reached.") from error
        except AnswerTooLarge as error:
            raise ServiceError(f"The LMS answered too much: {error}.", retryable=False) from error


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the HTTP-date form, which LMSs do not send, is ignored)."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def _oauth_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body)[:200]
    return str(body)[:200]
