"""The sandbox LMS's LTI Advantage services as plain Python: dynamic registration, the OAuth 2 token endpoint with
client-assertion checks, Assignment and Grade Services line items and scores, and paged Names and Role
Provisioning memberships. Canvas-like and Moodle-like presets differ where those platforms differ.

State lives in memory (the sandbox is a development platform); every method is thread-safe because the sandbox
serves requests concurrently (the tool calls back into it while handling a launch)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

AGS_SCOPES = (
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
)
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOKEN_LIFETIME_SECONDS = 3600


class Preset(StrEnum):
    """How the sandbox behaves where Canvas and Moodle differ (paths, paging, registration extensions)."""

    MOODLE = "moodle"
    CANVAS = "canvas"


class ServiceError(Exception):
    """A service request the platform refuses: `status` and an OAuth-style `error` code, as real platforms answer."""

    def __init__(self, status: int, error: str, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.retry_after = retry_after  # seconds, sent as Retry-After

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


@dataclass
class RegisteredTool:
    """A tool registered through dynamic registration: what the platform launches and trusts for it."""

    client_id: str
    deployment_id: str
    name: str
    login_url: str
    redirect_uris: list[str]
    jwks_url: str
    target_link_uri: str
    scopes: list[str]
    registration: dict[str, Any]  # as the tool posted it


@dataclass
class Score:
    user_id: str
    score_given: float | None
    score_maximum: float | None
    activity_progress: str
    grading_progress: str
    timestamp: str
    comment: str | None = None
    # When the LMS stored it, by its own clock: Canvas compares a new score's timestamp with this.
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class LineItem:
    id: str
    course_id: str
    label: str
    score_maximum: float
    resource_link_id: str | None = None
    resource_id: str | None = None
    tag: str | None = None
    scores: dict[str, Score] = field(default_factory=dict)  # latest per user
    posts: int = 0  # every accepted score POST, to observe retries


@dataclass
class Membership:
    user_id: str
    roles: list[str]
    name: str
    given_name: str
    family_name: str
    email: str
    status: str = "Active"


class Advantage:
    """The services of one sandbox platform; `tool_jwks_url(client_id)` finds the key set to check assertions."""

    def __init__(self, *, issuer: str, token_url: str, preset: Preset = Preset.MOODLE) -> None:
        self.issuer = issuer
        self.token_url = token_url
        self.preset = preset
        # Members a page when the tool asks for no page size (`limit`): small, so that paging is always exercised
        # (Moodle would answer the whole roster at once, Canvas 50 members).
        self.page_size = 5
        # The most members a page holds whatever the tool asks: Canvas serves at most 50 (its NRPS
        # MembershipsProvider::MAX_PAGE_SIZE); Moodle serves any `limit`.
        self.max_page_size: int | None = 50 if preset is Preset.CANVAS else None
        self.outage = False  # when set, AGS and NRPS answer 503 as an LMS under maintenance does
        self.throttle_seconds: int | None = None  # when set, AGS and NRPS answer 429 with this Retry-After
        # When set, this many more membership pages are served, then the outage begins: an LMS failing mid-sync.
        self.outage_after_pages: int | None = None
        # Off: NRPS leaves out names and emails, as Canvas (privacy level) and Moodle (tool settings) can.
        self.share_personal_data = True
        # Canvas answers a registration with a deployment id only when it installs the app while registering (its
        # LTI Registrations feature); off, the id comes later, when an admin installs the app, as without it.
        self.canvas_deployment_in_registration = True
        # How far the LMS's clock is ahead of the tool's: Canvas stamps a result's update with its own clock.
        self.clock_ahead = timedelta(0)
        self._lock = threading.Lock()
        self._registration_tokens: dict[str, bool] = {}  # token -> used
        self.tools: dict[str, RegisteredTool] = {}
        self._jwks_urls: dict[str, str] = {}
        self._used_jti: dict[str, float] = {}
        self._tokens: dict[str, tuple[str, frozenset[str], float]] = {}  # token -> client_id, scopes, expiry
        self.token_requests: list[str] = []  # client ids, one per issued token
        self.line_items: dict[str, LineItem] = {}
        self.removed: dict[str, set[str]] = {}  # course id -> user ids who left the course
        # Course id -> members the roster lists beyond the course's people: someone no launch knows, or data an LMS
        # should not send (a NUL character, say), to see the tool cope with it.
        self.also_listed: dict[str, list[Membership]] = {}
        self._mixed_case = secrets.token_urlsafe(6) + "Ab"  # a cursor whose case matters

    # --- Dynamic registration ----------------------------------------------------------------------------------

    def new_registration_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._registration_tokens[token] = False
        return token

    def trust_client(self, client_id: str, jwks_url: str) -> None:
        """A manually configured tool (the sandbox's own client) may also ask for tokens."""
        with self._lock:
            self._jwks_urls[client_id] = jwks_url

    def register(self, authorization: str | None, body: Any, *, deployment_id: str) -> dict[str, Any]:
        """Accept a tool's registration (LTI Dynamic Registration 1.0, 3.6): once per registration token."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            used = self._registration_tokens.get(token)
            if used is None:
                raise ServiceError(401, "invalid_token", "The registration token is unknown.")
            if used:
                raise ServiceError(401, "invalid_token", "The registration token was already used.")
            self._registration_tokens[token] = True
        if not isinstance(body, dict):
            raise ServiceError(400, "invalid_client_metadata", "The registration must be a JSON object.")
        tool_config = body.get(TOOL_CONFIGURATION)
        required = ("initiate_login_uri", "redirect_uris", "jwks_uri", "client_name")
        missing = [name for name in required if not body.get(name)]
        if missing or not isinstance(tool_config, dict) or not tool_config.get("target_link_uri"):
            raise ServiceError(400, "invalid_client_metadata", f"Missing: {', '.join(missing) or TOOL_CONFIGURATION}.")
        if body.get("token_endpoint_auth_method") != "private_key_jwt":
            raise ServiceError(400, "invalid_client_metadata", "token_endpoint_auth_method must be private_key_jwt.")
        if sorted(body.get("grant_types", [])) != ["client_credentials", "implicit"]:
            raise ServiceError(400, "invalid_client_metadata", "grant_types must be implicit and client_credentials.")
        client_id = f"{self.preset.value}-{uuid.uuid4().hex[:12]}"
        allowed = {*AGS_SCOPES, NRPS_SCOPE}
        scopes = [s for s in str(body.get("scope", "")).split() if s in allowed]
        tool = RegisteredTool(
            client_id=client_id,
            deployment_id=deployment_id,
            name=str(body["client_name"]),
            login_url=str(body["initiate_login_uri"]),
            redirect_uris=[str(u) for u in body["redirect_uris"]],
            jwks_url=str(body["jwks_uri"]),
            target_link_uri=str(tool_config["target_link_uri"]),
            scopes=scopes,
            registration=body,
        )
        with self._lock:
            self.tools[client_id] = tool
            self._jwks_urls[client_id] = tool.jwks_url
        answer = {
            **{k: v for k, v in body.items() if k != TOOL_CONFIGURATION},
            "client_id": client_id,
            "registration_client_uri": f"{self.issuer}/registrations/{client_id}",
            "scope": " ".join(scopes),
            TOOL_CONFIGURATION: dict(tool_config),
        }
        if self.preset is Preset.MOODLE:
            answer[TOOL_CONFIGURATION]["deployment_id"] = deployment_id  # Moodle: the new tool type's id
        elif self.canvas_deployment_in_registration:
            answer["deployment_id"] = deployment_id  # Canvas: the account's deployment, at the top level
        return answer

    # --- OAuth 2 client credentials with a JWT client assertion (LTI Security Framework 4.1) --------------------

    def issue_token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("grant_type") != "client_credentials":
            raise ServiceError(400, "unsupported_grant_type", "grant_type must be client_credentials.")
        if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
            raise ServiceError(400, "invalid_request", f"client_assertion_type must be {CLIENT_ASSERTION_TYPE}.")
        assertion = form.get("client_assertion", "")
        client_id = unverified_claim(assertion, "iss")
        with self._lock:
            jwks_url = self._jwks_urls.get(client_id or "")
        if client_id is None or jwks_url is None:
            raise ServiceError(401, "invalid_client", "The client assertion's issuer is not a registered client.")
        try:
            keys = KeySet.import_key_set(httpx.get(jwks_url, timeout=5).raise_for_status().json())
            token = jwt.decode(assertion, keys, algorithms=["RS256"])
        except (JoseError, ValueError, httpx.HTTPError) as error:
            raise ServiceError(
                401, "invalid_client", f"The client assertion's signature is invalid: {error}"
            ) from error
        claims = token.claims
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        now = time.time()
        if claims.get("sub") != client_id:
            raise ServiceError(401, "invalid_client", "The client assertion's sub must be the client id.")
        if self.token_url not in audiences:
            raise ServiceError(401, "invalid_client", "The client assertion's aud must be the token endpoint.")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now:
            raise ServiceError(401, "invalid_client", "The client assertion has expired.")
        jti = claims.get("jti")
        if not jti:
            raise ServiceError(401, "invalid_client", "The client assertion needs a jti.")
        with self._lock:
            self._used_jti = {k: exp for k, exp in self._used_jti.items() if exp > now}
            if jti in self._used_jti:
                raise ServiceError(401, "invalid_client", "The client assertion's jti was already used.")
            self._used_jti[jti] = float(claims["exp"])
        tool = self.tools.get(client_id)
        allowed = set(tool.scopes) if tool else {*AGS_SCOPES, NRPS_SCOPE}
        asked = set(form.get("scope", "").split())
        if not asked or not asked <= allowed:
            raise ServiceError(400, "invalid_scope", f"Scopes not granted: {' '.join(sorted(asked - allowed))}.")
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[access_token] = (client_id, frozenset(asked), now + TOKEN_LIFETIME_SECONDS)
            self.token_requests.append(client_id)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "scope": " ".join(sorted(asked)),
        }

    def authorise(self, authorization: str | None, scope: str | tuple[str, ...]) -> str:
        """The client id behind a bearer token that carries (one of) `scope`; 401/403 otherwise."""
        if self.outage:
            raise ServiceError(503, "temporarily_unavailable", "The LMS is down for maintenance.")
        if self.throttle_seconds is not None:
            raise ServiceError(429, "rate_limited", "Too many requests: slow down.", retry_after=self.throttle_seconds)
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found[2] < time.time():
            raise ServiceError(401, "invalid_token", "The access token is unknown or expired.")
        wanted = (scope,) if isinstance(scope, str) else scope
        if not set(wanted) & found[1]:
            raise ServiceError(403, "insufficient_scope", f"The token lacks the scope {wanted[0]}.")
        return found[0]

    # --- Assignment and Grade Services 2.0 ----------------------------------------------------------------------

    @property
    def service_query(self) -> str:
        """Moodle's AGS URLs carry the tool type (`?type_id=`) and its services refuse a call without it, so a
        tool must keep a URL's query when it adds `/scores` or filters; Canvas's carry none."""
        return "?type_id=1" if self.preset is Preset.MOODLE else ""

    def check_service_query(self, args: Mapping[str, str]) -> None:
        if self.preset is Preset.MOODLE and args.get("type_id") != "1":
            raise ServiceError(400, "invalid_request", "This URL needs its type_id parameter, as the LMS gave it.")

    def line_item_url(self, item: LineItem, base_url: str) -> str:
        return f"{base_url}/api/courses/{item.course_id}/line_items/{item.id}{self.service_query}"

    def find_line_items(self, course_id: str, filters: dict[str, str]) -> list[LineItem]:
        with self._lock:
            items = [i for i in self.line_items.values() if i.course_id == course_id]
        for name, attribute in (
            ("resource_link_id", "resource_link_id"),
            ("resource_id", "resource_id"),
            ("tag", "tag"),
        ):
            if filters.get(name):
                items = [i for i in items if getattr(i, attribute) == filters[name]]
        return items

    def create_line_item(self, course_id: str, body: Any) -> LineItem:
        if not isinstance(body, dict) or not body.get("label"):
            raise ServiceError(400, "invalid_request", "A line item needs a label.")
        maximum = body.get("scoreMaximum")
        if not isinstance(maximum, int | float) or maximum <= 0:
            raise ServiceError(400, "invalid_request", "scoreMaximum must be a number above 0.")
        item = LineItem(
            id=uuid.uuid4().hex[:10],
            course_id=course_id,
            label=str(body["label"]),
            score_maximum=float(maximum),
            resource_link_id=body.get("resourceLinkId"),
            resource_id=body.get("resourceId"),
            tag=body.get("tag"),
        )
        with self._lock:
            self.line_items[item.id] = item
        return item

    def line_item(self, course_id: str, item_id: str) -> LineItem:
        with self._lock:
            item = self.line_items.get(item_id)
        if item is None or item.course_id != course_id:
            raise ServiceError(404, "not_found", "No such line item in this course.")
        return item

    def post_score(self, course_id: str, item_id: str, body: Any, members: dict[str, Membership]) -> None:
        item = self.line_item(course_id, item_id)
        if not isinstance(body, dict):
            raise ServiceError(400, "invalid_request", "A score must be a JSON object.")
        for required in ("userId", "activityProgress", "gradingProgress", "timestamp"):
            if not body.get(required):
                raise ServiceError(400, "invalid_request", f"A score needs {required}.")
        member = members.get(body["userId"])
        if member is None or member.status != "Active":
            # Canvas answers 422 here and Moodle 400: either way a refusal that no retry can change.
            status = 422 if self.preset is Preset.CANVAS else 400
            raise ServiceError(status, "invalid_request", "userId is not an active member of this course.")
        given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
        if given is not None and (not isinstance(maximum, int | float) or maximum <= 0 or given < 0):
            raise ServiceError(400, "invalid_request", "scoreGiven needs a positive scoreMaximum.")
        try:
            at = datetime.fromisoformat(str(body["timestamp"]))
        except ValueError as error:
            raise ServiceError(400, "invalid_request", "timestamp must be ISO 8601.") from error
        if at.tzinfo is None:
            raise ServiceError(400, "invalid_request", "timestamp needs a time zone.")
        score = Score(
            user_id=body["userId"],
            score_given=given,
            score_maximum=maximum,
            activity_progress=body["activityProgress"],
            grading_progress=body["gradingProgress"],
            timestamp=body["timestamp"],
            comment=body.get("comment"),
        )
        with self._lock:
            previous = item.scores.get(score.user_id)
            if previous is not None:
                self._check_newer(previous, at)
            score.updated_at = datetime.now(UTC) + self.clock_ahead
            item.scores[score.user_id] = score
            item.posts += 1

    def _check_newer(self, held: Score, given: datetime) -> None:
        """Both LMSs refuse a score older than the one they hold, each in its own way. Moodle compares whole
        seconds with the held score's timestamp (`grade.timemodified >= strtotime(timestamp)`: 409), so it also
        refuses a second score in the same second and a repeat of the score it holds. Canvas compares exactly with
        the time it last updated the learner's result, by its own clock (`result.updated_at > timestamp`: 400,
        scores_controller#verify_valid_timestamp), so it refuses a repeat of the score it holds too (its update
        came after the score's timestamp), and a score given before the previous one reached it."""
        if self.preset is Preset.MOODLE:
            if int(datetime.fromisoformat(held.timestamp).timestamp()) >= int(given.timestamp()):
                raise ServiceError(409, "conflict", "Refusing score with an earlier timestamp for this item and user.")
        elif held.updated_at > given:
            raise ServiceError(
                400,
                "invalid_request",
                f"Provided timestamp of {given.isoformat()} before last updated timestamp of "
                f"{held.updated_at.isoformat(timespec='milliseconds')}",
            )

    def results(self, course_id: str, item_id: str, base_url: str, user_id: str | None) -> list[dict[str, Any]]:
        """The line item's results (AGS 2.0 result service), of one learner when `user_id` is given: the score each
        holds, as `resultScore` out of `resultMaximum` (Canvas keeps the posted scoreGiven and scoreMaximum)."""
        item = self.line_item(course_id, item_id)
        url = self.line_item_url(item, base_url).split("?")[0]
        with self._lock:
            held = [s for s in item.scores.values() if user_id is None or s.user_id == user_id]
        answer = []
        for score in held:
            result: dict[str, Any] = {
                "id": f"{url}/results/{score.user_id}{self.service_query}",
                "scoreOf": self.line_item_url(item, base_url),
                "userId": score.user_id,
            }
            if score.score_given is not None:
                result["resultScore"] = score.score_given
                result["resultMaximum"] = score.score_maximum
            if score.comment is not None:
                result["comment"] = score.comment
            answer.append(result)
        return answer

    def line_item_json(self, item: LineItem, base_url: str) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.line_item_url(item, base_url),
            "label": item.label,
            "scoreMaximum": item.score_maximum,
        }
        for key, value in (
            ("resourceLinkId", item.resource_link_id),
            ("resourceId", item.resource_id),
            ("tag", item.tag),
        ):
            if value is not None:
                data[key] = value
        return data

    # --- Names and Role Provisioning Services 2.0 ---------------------------------------------------------------

    def memberships_page(
        self, url: str, members: Sequence[Membership], query: dict[str, str]
    ) -> tuple[Sequence[Membership], str | None]:
        """One page of members and the next page's URL, paged the way the preset's LMS pages.

        Both honour the NRPS `limit` (up to `max_page_size`). Moodle pages with `limit` and `from`; Canvas with
        `page` and `per_page` (a `limit` becomes the `per_page` of its links), where `page` after the first is an
        opaque, case-sensitive bookmark (so a client that lowercases the Link header loses its place).
        """
        with self._lock:
            if self.outage_after_pages is not None:
                self.outage_after_pages -= 1
                if self.outage_after_pages <= 0:
                    self.outage, self.outage_after_pages = True, None
        if self.preset is Preset.MOODLE:
            limit = self._page_size(query.get("limit"))
            start = max(0, _int(query.get("from"), 0))
            chunk = members[start : start + limit]
            more = start + limit < len(members)
            return chunk, f"{url}?{urlencode({'limit': limit, 'from': start + limit})}" if more else None
        per_page = self._page_size(query.get("limit") or query.get("per_page"))
        page = query.get("page", "1")
        if page == "1":
            index = 0
        elif page.startswith(f"bookmark:{self._mixed_case}:"):
            index = _int(page.rsplit(":", 1)[1], -1)
        else:
            raise ServiceError(400, "invalid_request", "Unknown page bookmark (bookmarks are case-sensitive).")
        if index < 0:
            raise ServiceError(400, "invalid_request", "Unknown page bookmark.")
        chunk = members[index : index + per_page]
        more = index + per_page < len(members)
        bookmark = f"bookmark:{self._mixed_case}:{index + per_page}"
        return chunk, f"{url}?{urlencode({'page': bookmark, 'per_page': per_page})}" if more else None

    def _page_size(self, asked: str | None) -> int:
        size = _int(asked, self.page_size)
        size = size if size > 0 else self.page_size
        return size if self.max_page_size is None else min(size, self.max_page_size)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def unverified_claim(token: str, name: str) -> str | None:
    """A claim read before verification, only to find which client's keys verify the token."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    value = claims.get(name) if isinstance(claims, dict) else None
    return value if isinstance(value, str) else None
