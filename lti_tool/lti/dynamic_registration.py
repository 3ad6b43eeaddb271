"""LTI Dynamic Registration 1.0, the tool's side: check the platform's OpenID configuration, register with it, and
store the platform, its deployment and the attempt.

The tool's administrator creates a one-time registration link (lti_tool.lti.invitations) and hands it to an LMS
administrator, who pastes it into the LMS, which opens it with `openid_configuration` and `registration_token`.
Without a valid invitation nothing is fetched and nothing is written. Whoever holds a link can open it, so everything
the platform says is still checked before it is trusted:

- The configuration must come from the issuer's own origin: whoever serves it then speaks for that issuer, and an
  LMS cannot register itself under another LMS's issuer. Hosted Canvas is the one exception: all its instances share
  the issuer `https://canvas.instructure.com` (beta, test: `canvas.beta…`, `canvas.test…`) while an institution's
  configuration may be served from its own domain. That issuer is accepted only from a configuration whose product
  is Canvas and whose authorization, token and key-set endpoints are on Instructure's own hosts, because launches
  are trusted through those keys: such a registration can only ever accept launches signed by hosted Canvas.
- HTTPS everywhere, except a configuration on this machine's loopback address (development), whose endpoints may
  then be on loopback too; a public configuration may not point the tool at loopback addresses.
- Every request goes through `PlatformHttp` (lti_tool/lti/outbound.py): only public addresses unless a network is
  in `allowed_private_networks` (checked on the resolved address when connecting), one deadline for all of each
  request, no redirects, and answers of at most `MAX_ANSWER_BYTES`.
- Whoever opens the registration URL sees no more of the answers than their HTTP status and an OAuth `error` code
  (only if it is a plain token): never a body, which could come from a service the caller cannot reach. Every way
  of not getting an answer (refused, reset, timed out, unknown name, address not permitted) is one error with one
  message, so the page cannot be used to scan ports or networks.
- A process runs at most `dynamic_registration_concurrency` registrations at once (each may wait on a slow LMS);
  beyond that the page answers 503 with Retry-After and records nothing, so LMSs cannot take every request thread.

The first successful registration uses its invitation up, in the transaction that stores the platform. Each
registration token is used once: its hash is recorded (and committed) before the platform is called, so a
second use is refused even while the first is still running. The attempt stays on record either way: a failed one
with its error, so that an administrator can see what happened; nothing else is stored when registration fails.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lti_tool.errors import MentorLtiError, NotFound, RegistrationError
from lti_tool.extensions import db, utcnow
from lti_tool.lti.invitations import INVITATION_LIFETIME, find_invitation, use_invitation
from lti_tool.lti.models import DynamicRegistration, Platform
from lti_tool.lti.outbound import AnswerTooLarge, PlatformHttp, Unreachable, display_origin, fetch
from lti_tool.lti.registrations import PlatformSpec, register_platform
from lti_tool.lti.tool_configuration import SERVICE_SCOPES, TOOL_CONFIGURATION, ToolConfiguration

log = logging.getLogger(__name__)

PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
CANVAS_ACCOUNT_NAME = "https://canvas.instructure.com/lti/account_name"
MAX_ANSWER_BYTES = 256 * 1024
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# Hosted Canvas: each shared issuer, and the hosts its launch endpoints may be on (sso.* since 2023).
CANVAS_CLOUD = {
    "https://canvas.instructure.com": frozenset({"canvas.instructure.com", "sso.canvaslms.com"}),
    "https://canvas.beta.instructure.com": frozenset({"canvas.beta.instructure.com", "sso.beta.canvaslms.com"}),
    "https://canvas.test.instructure.com": frozenset({"canvas.test.instructure.com", "sso.test.canvaslms.com"}),
}
PRODUCT_NAMES = {"moodle": "Moodle", "canvas": "Canvas"}
BUSY_RETRY_AFTER_SECONDS = 30
# RFC 6749 (5.2) error codes are short ASCII words; anything else in an answer's `error` is not shown.
OAUTH_ERROR_CODE = re.compile(r"[a-z][a-z0-9_.-]{0,63}")

START_AGAIN = (
    "Start the registration again from the LMS (Moodle: Manage tools > Tool URL > Add LTI Advantage; Canvas: "
    "Apps > Manage > Install a New App > LTI 1.3, Dynamic Registration, or Developer Keys > + Developer Key > "
    "+ LTI Registration): each registration link works once."
)
MANUAL_INSTEAD = "Or register the tool by hand: the README's install guides give every value to paste."
ASK_FOR_INVITATION = (
    "Ask the tool's administrator for a registration link: they create one on the tool's admin page (/lti/admin) "
    f"or with `mentor-lti platform register-url`. Each link registers one LMS, within {INVITATION_LIFETIME.days} "
    "days."
)


class DynamicRegistrationError(MentorLtiError):
    """A dynamic registration was refused or failed: `code` names the check, `status` is the HTTP answer."""

    title = "The tool could not be registered"

    def __init__(
        self, code: str, message: str, *, hint: str = "", status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.status = status
        self.retry_after = retry_after
        self.recorded = False  # whether the attempt, with this error, is on record for the admin page


@dataclass(frozen=True)
class PlatformConfiguration:
    """The parts of a platform's OpenID configuration (LTI Dynamic Registration 1.0, 3.4) the tool relies on."""

    issuer: str
    product: str  # product_family_code: "moodle", "canvas", ...
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    authorization_server: str | None
    message_types: frozenset[str] | None  # None: the platform does not say
    account_name: str | None  # Canvas names the account being registered into

    @property
    def product_name(self) -> str:
        return PRODUCT_NAMES.get(self.product, self.product)


@dataclass(frozen=True)
class RegistrationOutcome:
    """A completed registration, as the result page shows it."""

    platform: Platform
    product: str
    product_name: str
    deployment_id: str | None
    missing_scopes: tuple[str, ...]


@contextmanager
def registration_slot(slots: threading.Semaphore) -> Iterator[None]:
    """One of the process's registration slots for the duration, or a 503 DynamicRegistrationError right away."""
    if not slots.acquire(blocking=False):
        raise DynamicRegistrationError(
            "tool_busy",
            "The tool is busy with other LMS registrations right now and did not start this one.",
            hint="Nothing was used up: reload this page in a minute, or start the registration again from the LMS.",
            status=503,
            retry_after=BUSY_RETRY_AFTER_SECONDS,
        )
    try:
        yield
    finally:
        slots.release()


def register_tool(
    *, invitation: str, configuration_url: str, registration_token: str, tool: ToolConfiguration, http: PlatformHttp
) -> RegistrationOutcome:
    """Run one registration, invited by the secret `invitation`. Commits twice on purpose: the token as used before
    the platform is called, then the outcome (a failure too, and then re-raises it as a DynamicRegistrationError)."""
    invitation_id = _check_invitation(invitation)
    if not configuration_url or not registration_token:
        raise DynamicRegistrationError(
            "not_started_by_lms",
            "This is the tool's LTI Dynamic Registration URL; it must be opened by the LMS, which adds the "
            "`openid_configuration` and `registration_token` it needs.",
            hint="Paste this page's address into the LMS (Moodle: Manage tools > Tool URL; Canvas: Apps > Manage > "
            "Install a New App > LTI 1.3, Dynamic Registration URL, or Developer Keys > + Developer Key > "
            "+ LTI Registration).",
        )
    _check_url(configuration_url, "configuration URL", allow_loopback=True)
    attempt_id = _claim_token(registration_token, _without_query(configuration_url))
    facts: dict[str, Any] = {}
    try:
        configuration = validate_configuration(
            _fetch_json(http, "GET", configuration_url, registration_token, what="configuration"), configuration_url
        )
        facts = {"issuer": configuration.issuer, "product": configuration.product}
        answer = _post_registration(http, configuration, registration_token, tool)
        facts["response"] = answer
        platform, deployment_id = _store_platform(configuration, answer)
        if not use_invitation(invitation_id, platform.id):
            raise DynamicRegistrationError(
                "invitation_used",
                "Another registration used this registration link while this one ran.",
                hint=ASK_FOR_INVITATION,
                status=409,
            )
    except (DynamicRegistrationError, RegistrationError) as error:
        db.session.rollback()
        failure = (
            error
            if isinstance(error, DynamicRegistrationError)
            else DynamicRegistrationError("registration_conflict", error.message, hint=error.hint, status=409)
        )
        _record(attempt_id, status="failed", error=failure.explanation, **facts)
        db.session.commit()
        failure.recorded = True
        log.info("dynamic registration %s failed: %s", attempt_id, failure.code)
        raise failure from error
    _record(attempt_id, status="registered", platform_id=platform.id, **facts)
    db.session.commit()
    log.info("dynamic registration %s: platform=%s product=%s", attempt_id, platform.id, configuration.product)
    granted = set(str(answer.get("scope", "")).split()) if "scope" in answer else set(SERVICE_SCOPES)
    return RegistrationOutcome(
        platform=platform,
        product=configuration.product,
        product_name=configuration.product_name,
        deployment_id=deployment_id,
        missing_scopes=tuple(s for s in SERVICE_SCOPES if s not in granted),
    )


def validate_configuration(document: Any, configuration_url: str) -> PlatformConfiguration:
    """The platform's configuration, checked (see the module docstring); raises DynamicRegistrationError."""
    config_url = urlsplit(configuration_url)
    local = _is_loopback(config_url.hostname)
    _check_url(configuration_url, "configuration URL", allow_loopback=True)
    if not isinstance(document, dict):
        raise DynamicRegistrationError("configuration_invalid", "The LMS's OpenID configuration is not a JSON object.")
    found = document.get(PLATFORM_CONFIGURATION)
    platform = found if isinstance(found, dict) else {}
    missing = [name for name in ("issuer", *ENDPOINTS) if not isinstance(document.get(name), str) or not document[name]]
    if not isinstance(platform.get("product_family_code"), str):
        missing.append(f"{PLATFORM_CONFIGURATION} (with product_family_code)")
    if missing:
        raise DynamicRegistrationError(
            "configuration_incomplete",
            f"The LMS's OpenID configuration lacks {', '.join(missing)}.",
            hint="Moodle 4.x and Canvas publish all of these. Check that the LMS supports LTI Dynamic Registration. "
            + MANUAL_INSTEAD,
        )
    for name in ("issuer", *ENDPOINTS):
        _check_url(document[name], name, allow_loopback=local)
    algorithms = document.get("id_token_signing_alg_values_supported")
    if not isinstance(algorithms, list) or "RS256" not in algorithms:
        raise DynamicRegistrationError(
            "unsupported_algorithm",
            "The LMS does not say that it signs LTI messages with RS256 (id_token_signing_alg_values_supported), "
            "which LTI 1.3 requires.",
            hint=MANUAL_INSTEAD,
        )
    configuration = PlatformConfiguration(
        # Exactly as the platform will send it in every id_token's `iss`.
        issuer=document["issuer"],
        product=platform["product_family_code"].strip().lower(),
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        registration_endpoint=document["registration_endpoint"],
        authorization_server=_text(document.get("authorization_server")),
        message_types=_message_types(platform.get("messages_supported")),
        account_name=_text(platform.get(CANVAS_ACCOUNT_NAME)),
    )
    _check_issuer(configuration, configuration_url)
    return configuration


def _check_issuer(configuration: PlatformConfiguration, configuration_url: str) -> None:
    if _origin(configuration.issuer) == _origin(configuration_url):
        return
    trusted_hosts = CANVAS_CLOUD.get(configuration.issuer)
    if trusted_hosts is None or configuration.product != "canvas":
        raise DynamicRegistrationError(
            "issuer_mismatch",
            f"The LMS configuration served from {display_origin(configuration_url)} names the issuer "
            f"{configuration.issuer}, which is not its own address. A platform can only register itself.",
            hint="Start the registration from the LMS whose address is the issuer. Hosted Canvas (issuer "
            "canvas.instructure.com) is accepted only with Canvas's own sign-in and key endpoints.",
            status=403,
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        host = urlsplit(getattr(configuration, name)).hostname
        if host not in trusted_hosts:
            raise DynamicRegistrationError(
                "issuer_mismatch",
                f"The configuration claims hosted Canvas's issuer {configuration.issuer}, but its {name} is on "
                f"{host}, not on Canvas's own hosts ({', '.join(sorted(trusted_hosts))}).",
                hint="Launches are trusted through these endpoints, so a hosted Canvas registration must use "
                "Instructure's. A self-hosted Canvas uses its own address as issuer.",
                status=403,
            )


def add_deployment(platform_id: int, deployment_id: str) -> Platform:
    """Add a deployment to a registered platform (Canvas assigns it when the app is installed). The caller commits."""
    platform = db.session.get(Platform, platform_id)
    if platform is None:
        raise NotFound("No such platform registration.")
    return register_platform(
        PlatformSpec(
            name=platform.name,
            issuer=platform.issuer,
            client_id=platform.client_id,
            deployment_ids=(deployment_id.strip(),),
            auth_login_url=platform.auth_login_url,
            auth_token_url=platform.auth_token_url,
            key_set_url=platform.key_set_url,
            auth_audience=platform.auth_audience,
        )
    )


def recent_registrations(limit: int = 20) -> list[DynamicRegistration]:
    return list(
        db.session.execute(select(DynamicRegistration).order_by(DynamicRegistration.id.desc()).limit(limit)).scalars()
    )


def _check_invitation(secret: str) -> int:
    """The id of the open invitation with this secret; refuses (writing nothing) when there is none."""
    invitation = find_invitation(secret)
    if invitation is None:
        raise DynamicRegistrationError(
            "not_invited",
            "This registration link is not valid: the tool registers only with an LMS its administrator invited, "
            "and this link is unknown or was revoked.",
            hint=ASK_FOR_INVITATION,
            status=403,
        )
    if invitation.used_at is not None:
        raise DynamicRegistrationError(
            "invitation_used",
            f"This registration link was already used, on {invitation.used_at:%Y-%m-%d %H:%M} UTC: each link "
            "registers one LMS.",
            hint=ASK_FOR_INVITATION,
            status=410,
        )
    if invitation.expires_at <= utcnow():
        raise DynamicRegistrationError(
            "invitation_expired",
            f"This registration link expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.",
            hint=ASK_FOR_INVITATION,
            status=410,
        )
    return invitation.id


def _claim_token(token: str, configuration_url: str) -> int:
    token_hash = hashlib.sha256(token.encode()).hexdigest()
    earlier = db.session.execute(
        select(DynamicRegistration).where(DynamicRegistration.token_hash == token_hash)
    ).scalar_one_or_none()
    if earlier is None:
        attempt = DynamicRegistration(token_hash=token_hash, openid_configuration_url=configuration_url)
        db.session.add(attempt)
        try:
            db.session.commit()
            return attempt.id
        except IntegrityError:  # the same token, in another request at the same moment
            db.session.rollback()
    outcome = f" (it {earlier.status} on {earlier.created_at:%Y-%m-%d %H:%M} UTC)" if earlier is not None else ""
    raise DynamicRegistrationError(
        "registration_token_reused",
        f"This registration link was already used{outcome}. The tool accepts each LMS registration token once.",
        hint=START_AGAIN,
        status=409,
    )


def _record(attempt_id: int, **values: Any) -> None:
    attempt = db.session.get_one(DynamicRegistration, attempt_id)
    for name, value in values.items():
        setattr(attempt, name, value)


def _post_registration(
    http: PlatformHttp, configuration: PlatformConfiguration, token: str, tool: ToolConfiguration
) -> dict[str, Any]:
    body = tool.registration_request(product=configuration.product, message_types=configuration.message_types)
    answer = _fetch_json(http, "POST", configuration.registration_endpoint, token, what="registration", body=body)
    if not isinstance(answer, dict) or not _text(answer.get("client_id")):
        raise DynamicRegistrationError(
            "registration_answer_invalid",
            f"{configuration.product_name} accepted the registration but did not answer with a client_id.",
            hint=MANUAL_INSTEAD,
            status=502,
        )
    return answer


def _store_platform(configuration: PlatformConfiguration, answer: dict[str, Any]) -> tuple[Platform, str | None]:
    client_id = str(answer["client_id"])
    # Moodle answers the deployment (its tool type id) inside the tool configuration; Canvas at the top level, and
    # only when it created the account's deployment while registering. Otherwise it comes when the app is installed.
    tool_configuration = answer.get(TOOL_CONFIGURATION)
    deployment = tool_configuration.get("deployment_id") if isinstance(tool_configuration, dict) else None
    deployment_id = _text(deployment if deployment is not None else answer.get("deployment_id"))
    label = configuration.account_name or f"{configuration.product_name} {urlsplit(configuration.issuer).netloc}"
    platform = register_platform(
        PlatformSpec(
            name=f"{label} (client {client_id})"[:200],
            issuer=configuration.issuer,
            client_id=client_id,
            deployment_ids=(deployment_id,) if deployment_id else (),
            auth_login_url=configuration.authorization_endpoint,
            auth_token_url=configuration.token_endpoint,
            key_set_url=configuration.jwks_uri,
            # LTI Dynamic Registration 1.0, 3.4: when given, the audience of the tool's client assertions.
            auth_audience=configuration.authorization_server,
        )
    )
    return platform, deployment_id


def _fetch_json(
    http: PlatformHttp, method: str, url: str, token: str, *, what: str, body: dict[str, Any] | None = None
) -> Any:
    """One request to the platform, bearing the registration token; its JSON answer, or a DynamicRegistrationError."""
    where = display_origin(url)
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    try:
        response = fetch(http, method, url, headers=headers, json=body, max_bytes=MAX_ANSWER_BYTES)
    except AnswerTooLarge as error:
        raise DynamicRegistrationError(
            "platform_answer_too_large",
            f"The LMS's {what} answer from {where} is larger than {MAX_ANSWER_BYTES // 1024} KiB.",
            status=502,
        ) from error
    except Unreachable as error:
        # One message for every cause (logged by `fetch`): a caller must not learn which ports or hosts answer.
        raise DynamicRegistrationError(
            "platform_unreachable",
            f"The tool could not reach the LMS at {where} for its {what}.",
            hint="Check that the tool's server can reach the LMS over HTTPS. " + START_AGAIN,
            status=502,
        ) from error
    status = response.status_code
    if status in (401, 403):
        raise DynamicRegistrationError(
            "registration_token_refused",
            f"The LMS refused the registration token when asked for its {what} ({_status(response)}). "
            "Registration tokens are valid once, for a short time.",
            hint=START_AGAIN,
        )
    if 300 <= status < 400:
        raise DynamicRegistrationError(
            "platform_redirected",
            f"The LMS answered the {what} request with a redirect ({status}), which the tool does not follow.",
            hint="The LMS must serve its OpenID configuration and registration endpoint at the addresses it "
            "gives. " + MANUAL_INSTEAD,
        )
    if status >= 400:
        raise DynamicRegistrationError(
            "platform_refused" if status < 500 else "platform_failed",
            f"The LMS answered the {what} request with an error ({_status(response)}).",
            hint=START_AGAIN if status < 500 else "The LMS may be busy or down. " + START_AGAIN,
            status=400 if status < 500 else 502,
        )
    try:
        return json.loads(response.content)
    except ValueError as error:
        raise DynamicRegistrationError(
            "platform_answer_invalid", f"The LMS's {what} answer from {where} is not JSON.", status=502
        ) from error


def _status(response: httpx.Response) -> str:
    """The status of an error answer, with its OAuth error code when it has a plain one: nothing else of a body is
    shown (to whoever opened the registration URL) or stored (in the attempt)."""
    code = _oauth_error_code(response.content)
    return f"{response.status_code}: {code}" if code else str(response.status_code)


def _oauth_error_code(content: bytes) -> str | None:
    """The `error` of an OAuth-style JSON error answer, if it is a plain error code: the only part of an error
    answer's body the tool ever shows or stores (the rest could be anything, from anyone)."""
    try:
        body = json.loads(content)
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) and OAUTH_ERROR_CODE.fullmatch(code) else None


def _check_url(url: str, label: str, *, allow_loopback: bool) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks it: a port that is not a number raises)
    except ValueError:
        raise DynamicRegistrationError(
            "insecure_endpoint", f"The LMS's {label} is not a readable URL.", hint=MANUAL_INSTEAD
        ) from None
    loopback = _is_loopback(parts.hostname)
    if parts.username or parts.password or not parts.hostname:
        problem = "is not a plain https address"
    elif loopback and not allow_loopback:
        problem = "points at a loopback address, which only a configuration on this machine may use"
    elif parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        problem = "must use https (plain http only on 127.0.0.1 or localhost, for development)"
    else:
        return
    raise DynamicRegistrationError(
        "insecure_endpoint", f"The LMS's {label} ({display_origin(url)}) {problem}.", hint=MANUAL_INSTEAD
    )


def _is_loopback(host: str | None) -> bool:
    return (host or "").lower() in LOOPBACK_HOSTS


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default_port = {"https": 443, "http": 80}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


def _without_query(url: str) -> str:
    """A URL fit to keep: Canvas puts the registration token in the configuration URL's query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))[:1000]


def _text(value: Any) -> str | None:
    """A non-empty string from a JSON value (numbers too: some platforms send ids as numbers)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def _message_types(messages: Any) -> frozenset[str] | None:
    """The message types the platform lists as supported; None when it lists none (it does not say)."""
    if not isinstance(messages, list):
        return None
    types = frozenset(m["type"] for m in messages if isinstance(m, dict) and isinstance(m.get("type"), str))
    return types or None
