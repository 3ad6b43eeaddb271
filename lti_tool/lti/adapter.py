"""The only module that imports pylti1p3: OIDC login, launch validation and our database-backed tool config.

pylti1p3 builds the login redirect, holds registrations and runs the LTI message validators. It does not check
`aud`/`azp`, never consumes a nonce, accepts a replayed state by id_token hash, and cannot refetch a rotated
platform key, so `ToolMessageLaunch.validate` runs our own ordered checks and uses the library for the rest.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from flask import Response
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, JoseError, MissingClaimError
from pylti1p3.contrib.flask.cookie import FlaskCookieService
from pylti1p3.contrib.flask.message_launch import FlaskMessageLaunch
from pylti1p3.contrib.flask.oidc_login import FlaskOIDCLogin
from pylti1p3.contrib.flask.request import FlaskRequest
from pylti1p3.deployment import Deployment as LtiDeployment
from pylti1p3.exception import LtiException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.registration import Registration
from pylti1p3.tool_config.abstract import ToolConfAbstract

from lti_tool.errors import LaunchError
from lti_tool.lti import platform_storage, registrations
from lti_tool.lti.binding import bind_login, check_browser_secret, new_browser_secret, same_nonce
from lti_tool.lti.claims import DEEP_LINKING_SETTINGS, LTI, LaunchClaims, refuse_nul, refuse_wrong_types
from lti_tool.lti.jwks import PlatformKeyCache
from lti_tool.lti.keys import KeyStore
from lti_tool.lti.registrations import LaunchRegistration, LoginRegistrations
from lti_tool.lti.state import LaunchStateStore
from lti_tool.settings import Settings

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
SUPPORTED_MESSAGE_TYPES = frozenset({RESOURCE_LINK_REQUEST, DEEP_LINKING_REQUEST})
DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DEEP_LINKING_RESPONSE_LIFETIME = 600
LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "lti_deployment_id", "client_id")

_REGISTRATION_HINT = (
    "Register the platform with `mentor-lti platform add` (issuer, client id, deployment id and the platform's "
    "auth, token and JWKS URLs), or check that the LMS sends the issuer and client id it was registered with."
)


class DatabaseToolConf(ToolConfAbstract[FlaskRequest]):
    """pylti1p3's view of our `platform` and `deployment` tables; every issuer may have many client ids. A request
    looks each (issuer, client id) up once, however often it and pylti1p3 ask; a login in `held` registrations."""

    def __init__(self, held: LoginRegistrations | None = None) -> None:
        super().__init__()
        self._held = held
        self._platforms: dict[tuple[str, str | None], LaunchRegistration | None] = {}

    def platform(self, iss: str, client_id: str | None) -> LaunchRegistration | None:
        if (iss, client_id) not in self._platforms:
            self._platforms[(iss, client_id)] = (
                self._held.find(iss, client_id)
                if self._held is not None
                else registrations.find_registration(iss, client_id, None)
            )
        return self._platforms[(iss, client_id)]

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(  # type: ignore[override]
        self, iss: str, *args: Any, **kwargs: Any
    ) -> Registration | None:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(  # type: ignore[override]
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Registration | None:
        platform = self.platform(iss, client_id)
        return None if platform is None else self.registration_of(platform)

    def registration_of(self, platform: LaunchRegistration) -> Registration:
        # No tool private key: pylti1p3 would sign only service token requests and deep linking responses with it,
        # and lti_tool.lti.services and `sign_deep_linking_response` sign those themselves.
        registration = (
            Registration()
            .set_issuer(platform.issuer)
            .set_client_id(platform.client_id)
            .set_key_set_url(platform.key_set_url)
            .set_auth_login_url(platform.auth_login_url)
            .set_auth_token_url(platform.auth_token_url)
        )
        if platform.auth_audience:
            registration.set_auth_audience(platform.auth_audience)
        return registration

    def find_deployment(self, iss: str, deployment_id: str) -> LtiDeployment | None:
        return None

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> LtiDeployment | None:
        found = registrations.find_registration(iss, client_id, deployment_id)
        if found is None or found.deployment_pk is None:
            return None
        return LtiDeployment().set_deployment_id(deployment_id)


class _NoRequests(requests.Session):
    """The HTTP session pylti1p3 is given: it would fetch platform key sets with it, which the tool does itself
    (lti_tool/lti/jwks.py, under the outbound rules), so any request is a bug. One for every launch, instead of
    the new (unused) session pylti1p3 would build for each."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        raise RuntimeError("pylti1p3 must not make HTTP requests: platform calls go through lti_tool.lti.outbound")


_NO_REQUESTS = _NoRequests()


class _StoreStorage(LaunchDataStorage[Any]):
    """pylti1p3 launch storage over our shared state store (database or Redis)."""

    def __init__(self, store: LaunchStateStore, default_ttl: int) -> None:
        super().__init__()
        self._store = store
        self._default_ttl = default_ttl

    def get_session_cookie_name(self) -> str | None:
        # The browser is bound by the OIDC state cookie; a second session-id cookie would only add a way to fail.
        return None

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        return self._store.get(self._prepare_key(key))

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        self._store.put(self._prepare_key(key), value, exp or self._default_ttl)

    def check_value(self, key: str) -> bool:
        return self.get_value(key) is not None

    def take_value(self, key: str) -> Any:
        return self._store.take(self._prepare_key(key))


class _BoundStateCookie(FlaskCookieService):
    """pylti1p3 sets one cookie at login, `lti1p3-<state>` = state; ours carries the login's browser secret
    instead (see lti_tool.lti.binding), with the library's attributes (HttpOnly; over HTTPS SameSite=None,
    Secure, Partitioned). The login binds the secret once it knows the nonce."""

    def __init__(self, request: FlaskRequest) -> None:
        super().__init__(request)
        self.state = ""
        self.secret = new_browser_secret()

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.state = name
        super().set_cookie(name, self.secret, exp)


@dataclass(frozen=True)
class LoginStarted:
    """A login's redirect to the platform's auth endpoint, and, when the LMS offers platform storage, what the
    login page puts there before it goes. `respond` gives a response the state cookie (used when the frame keeps
    cookies: the launch then needs no storage)."""

    auth_url: str
    storage: platform_storage.StorageRequest | None
    browser_secret: str
    nonce: str
    _cookies: _BoundStateCookie

    def respond(self, response: Response) -> Response:
        self._cookies.update_response(response)
        return response


class _WritesAtOnce:
    """The state store as a login sees it: its writes (browser binding, nonce, state parameters, all with the
    login's lifetime) wait for `write`, which makes those of one lifetime in one statement."""

    def __init__(self, store: LaunchStateStore) -> None:
        self._store = store
        self._pending: dict[int, dict[str, Any]] = {}  # lifetime -> key -> value

    def get(self, key: str) -> Any | None:
        for values in self._pending.values():
            if key in values:
                return values[key]
        return self._store.get(key)

    def put(self, key: str, value: Any, ttl_seconds: int) -> None:
        self.put_many({key: value}, ttl_seconds)

    def put_many(self, values: dict[str, Any], ttl_seconds: int) -> None:
        self._pending.setdefault(ttl_seconds, {}).update(values)

    def take(self, key: str) -> Any | None:
        for values in self._pending.values():
            if key in values:
                return values.pop(key)
        return self._store.take(key)

    def count(self, key: str, window_seconds: int) -> tuple[int, int]:
        return self._store.count(key, window_seconds)

    def purge_expired(self) -> None:
        self._store.purge_expired()

    def write(self) -> None:
        for ttl_seconds, values in self._pending.items():
            self._store.put_many(values, ttl_seconds)
        self._pending = {}


def start_login(
    *, store: LaunchStateStore, settings: Settings, launch_url: str, held: LoginRegistrations
) -> LoginStarted:
    """Answer an OIDC third-party login initiation: where to send the browser (the platform's auth endpoint),
    and whether the LMS offers platform storage for the state (`lti_storage_target`, never in a new window)."""
    request = FlaskRequest()
    params = {name: request.get_param(name) for name in LOGIN_PARAMS}
    target = (
        None
        if request.get_param("lti1p3_new_window")
        else platform_storage.storage_target(request.get_param(platform_storage.PARAM))
    )
    if not params["iss"] or not params["login_hint"]:
        missing = " and ".join(name for name in ("iss", "login_hint") if not params[name])
        raise LaunchError(
            "login_incomplete",
            f"The LMS started a login without {missing}.",
            hint="The tool's login URL must be called by the LMS as an LTI 1.3 login initiation.",
        )
    tool_conf = DatabaseToolConf(held)
    platform = tool_conf.platform(params["iss"], params["client_id"])
    if platform is None:
        raise LaunchError(
            "unknown_registration",
            f"No registration for issuer {params['iss']!r} with client id {params['client_id']!r}.",
            hint=_REGISTRATION_HINT,
        )
    ttl = settings.launch_state_ttl_seconds
    writes = _WritesAtOnce(store)
    storage = _StoreStorage(writes, ttl)
    cookies = _BoundStateCookie(request)
    login = FlaskOIDCLogin(request, tool_conf, cookie_service=cookies, launch_data_storage=storage)
    login.set_launch_data_storage(storage).set_launch_data_lifetime(ttl)
    # Kept with the state so a launch whose cookie was blocked can offer to start again in a new window, or check
    # the state in platform storage.
    login.pass_params_to_launch({k: v for k, v in {**params, platform_storage.PARAM: target}.items() if v})
    try:
        auth_url = login.get_redirect_object(launch_url).get_redirect_url()
    except LtiException as error:
        raise LaunchError("login_rejected", str(error), hint=_REGISTRATION_HINT) from error
    nonce = dict(parse_qsl(urlsplit(auth_url).query))["nonce"]
    bind_login(writes, cookies.state, secret=cookies.secret, nonce=nonce, ttl_seconds=ttl)
    writes.write()
    offer = (
        platform_storage.storage_request(platform.auth_login_url, target, state=cookies.state, nonce=nonce)
        if target
        else None
    )
    return LoginStarted(auth_url=auth_url, storage=offer, browser_secret=cookies.secret, nonce=nonce, _cookies=cookies)


class PlatformStorageCheck(LaunchError):
    """A launch without the state cookie whose login offered platform storage: the tool answers a page that reads
    the state's browser secret from the LMS's storage and posts the launch again with it."""

    def __init__(self, *, request: platform_storage.StorageRequest, fields: dict[str, str], **extra: Any) -> None:
        super().__init__(
            "cookies_blocked",
            "Your browser did not send back the tool's cookie, and the LMS's storage did not answer either.",
            hint="Open the tool in a new window; it works there.",
            status=200,
            **extra,
        )
        self.request = request
        self.fields = fields


class ToolMessageLaunch(FlaskMessageLaunch):
    """A launch validated by our ordered checks; each failure raises a LaunchError naming the check."""

    def __init__(self, *, store: LaunchStateStore, settings: Settings, platform_keys: PlatformKeyCache) -> None:
        self._store = store
        self._storage = _StoreStorage(store, settings.launch_data_ttl_seconds)
        self._tool_conf = DatabaseToolConf()
        super().__init__(
            FlaskRequest(), self._tool_conf, launch_data_storage=self._storage, requests_session=_NO_REQUESTS
        )
        self.set_launch_data_lifetime(settings.launch_data_ttl_seconds)
        self._settings = settings
        self._key_cache = platform_keys
        self._login_nonce = ""
        # The browser secret came from the LMS's platform storage, not from a cookie: the frame has no cookies.
        self.via_platform_storage = False

    def validate(self) -> ToolMessageLaunch:
        self._validated = True
        try:
            self._check_state()
            self._decode_unverified()
            self._platform = self._check_registration()
            self._check_signature_and_claims(self._platform)
            self._deployment_pk = self._check_deployment(self._platform)
            self._check_message()
            self._consume_nonce()
        except Exception:
            self._validated = False
            raise
        return self

    def accept(self) -> LaunchClaims:
        """Validate the launch and return what it says; raises LaunchError naming the failed check."""
        self.validate()
        return LaunchClaims.from_body(
            dict(self._jwt["body"]),
            launch_id=self._launch_id,
            platform_id=self._platform.platform_id,
            deployment_pk=self._deployment_pk,
        )

    def _check_state(self) -> None:
        state = self._get_request_param("state")
        if not state:
            raise LaunchError("missing_state", "The launch has no OIDC `state` parameter.", hint=_LOGIN_FLOW_HINT)
        secret = self._cookie_service.get_cookie(state)
        if secret is None:
            secret = self._get_request_param(platform_storage.STATE_FIELD)
            self.via_platform_storage = bool(secret)
        if not secret:
            self._no_cookie(state)
        self._login_nonce = check_browser_secret(self._store, state, secret)

    def _no_cookie(self, state: str) -> None:
        """No state cookie came back: check the state in platform storage when the login offered it (and the
        launch form names the storage frame), else offer a new window."""
        stored = self._storage.get_value(self._session_service._get_key(state))
        stored = stored if isinstance(stored, dict) else {}
        login_params = {k: v for k, v in stored.items() if k in LOGIN_PARAMS}
        target = platform_storage.storage_target(stored.get(platform_storage.PARAM))
        platform = self._tool_conf.platform(str(stored.get("iss")), stored.get("client_id")) if stored else None
        nonce = platform_storage.unverified_nonce(self._get_request_param("id_token"))
        check = (
            platform_storage.storage_request(platform.auth_login_url, target, state=state, nonce=nonce)
            if target and platform and nonce
            else None
        )
        if check is not None:
            fields = {"id_token": self._get_request_param("id_token"), "state": state}
            raise PlatformStorageCheck(request=check, fields=fields, login_params=login_params)
        raise LaunchError(
            "cookies_blocked",
            "Your browser did not send back the tool's cookie, so this launch cannot be tied to your login.",
            hint="Browsers that block third-party cookies (Safari, some Chrome settings) do this inside an LMS "
            "frame. Open the tool in a new window; it works there.",
            login_params=login_params,
        )

    def _decode_unverified(self) -> None:
        try:
            self.validate_jwt_format()
        except LtiException as error:
            raise LaunchError("malformed_token", f"The id_token is not a readable JWT: {error}.") from error
        body = self._jwt["body"]
        if not isinstance(body, dict):
            raise LaunchError("malformed_token", "The id_token body is not a JSON object.")
        refuse_nul(dict(body))  # before any claim reaches a query
        refuse_wrong_types(dict(body))  # before any claim reaches pylti1p3's validators

    def _check_registration(self) -> LaunchRegistration:
        body = self._jwt["body"]
        issuer = body.get("iss")
        if not isinstance(issuer, str) or not issuer:
            raise LaunchError("missing_claim", "The id_token has no `iss` (issuer) claim.")
        audiences = _audiences(body.get("aud"))
        if not audiences:
            raise LaunchError("missing_claim", "The id_token has no `aud` (audience) claim.")
        client_id = body.get("azp") if len(audiences) > 1 else audiences[0]
        if not isinstance(client_id, str) or not client_id:
            raise LaunchError(
                "wrong_audience",
                "The id_token has several audiences but no `azp` naming this tool's client id.",
            )
        deployment_id = body.get(LTI + "deployment_id")
        # The deployment comes with the registration, in one query; it is checked after the signature.
        found = registrations.find_registration(
            issuer, client_id, deployment_id if isinstance(deployment_id, str) else None
        )
        if found is None:
            if not registrations.issuer_is_registered(issuer):
                raise LaunchError(
                    "unknown_issuer",
                    f"The issuer {issuer!r} is not registered with this tool.",
                    hint=_REGISTRATION_HINT,
                )
            raise LaunchError(
                "wrong_audience",
                f"The id_token is addressed to client id {client_id!r}, which is not registered for {issuer!r}.",
                hint=_REGISTRATION_HINT,
            )
        self._registration = self._tool_conf.registration_of(found)
        return found

    def _check_signature_and_claims(self, platform: LaunchRegistration) -> None:
        header = self._jwt.get("header", {})
        if header.get("alg") != "RS256":
            raise LaunchError(
                "unsupported_alg",
                f"The id_token is signed with {header.get('alg')!r}; LTI 1.3 requires RS256.",
                hint="A token with `alg: none` or a symmetric algorithm is never accepted.",
            )
        kid = header.get("kid")
        if not kid:
            raise LaunchError("missing_kid", "The id_token header names no `kid`, so its key cannot be found.")
        key_set = self._key_cache.key_set_for(platform.key_set_url, kid)
        try:
            token = jwt.decode(self._get_id_token(), key_set, algorithms=["RS256"])
        except BadSignatureError as error:
            raise LaunchError(
                "bad_signature",
                "The id_token's signature does not match the platform's published keys.",
                hint=f"Check that the registered JWKS URL ({platform.key_set_url}) belongs to this platform.",
            ) from error
        except (JoseError, ValueError) as error:
            raise LaunchError(
                "unknown_key",
                f"The platform's key set has no usable key with kid {kid!r} ({error}).",
                hint=f"Check the registered JWKS URL ({platform.key_set_url}).",
            ) from error
        skew = self._settings.clock_skew_seconds
        registry = jwt.JWTClaimsRegistry(
            leeway=skew,
            iss={"essential": True, "value": platform.issuer},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True},
        )
        try:
            registry.validate(token.claims)
        except ExpiredTokenError as error:
            raise LaunchError(
                "expired", "The id_token has expired.", hint="Check that the LMS server's clock is correct."
            ) from error
        except MissingClaimError as error:
            raise LaunchError("missing_claim", f"The id_token lacks a required claim: {error}.") from error
        except JoseError as error:
            raise LaunchError("invalid_claim", f"The id_token has an invalid claim: {error}.") from error
        if token.claims["iat"] > time.time() + skew:
            raise LaunchError("invalid_claim", "The id_token was issued in the future (`iat`).")
        azp = token.claims.get("azp")
        if azp is not None and azp != platform.client_id:
            raise LaunchError("wrong_audience", f"The id_token's `azp` {azp!r} is not this tool's client id.")

    def _check_deployment(self, platform: LaunchRegistration) -> int:
        deployment_id = self._jwt["body"].get(LTI + "deployment_id")
        if not isinstance(deployment_id, str) or not deployment_id:
            raise LaunchError("missing_claim", "The id_token has no deployment_id claim.")
        if platform.deployment_pk is None:
            raise LaunchError(
                "unknown_deployment",
                f"Deployment {deployment_id!r} is not registered for platform {platform.name!r}.",
                hint=f"Add it with `mentor-lti platform add --name {platform.name} ... --deployment-id "
                f"{deployment_id}` (the other values as registered).",
            )
        return platform.deployment_pk

    def _check_message(self) -> None:
        body = self._jwt["body"]
        message_type = body.get(LTI + "message_type")
        if message_type not in SUPPORTED_MESSAGE_TYPES:
            raise LaunchError(
                "unsupported_message_type",
                f"The message type {message_type!r} is not supported by this tool.",
                hint="Place the tool as a resource link (course navigation, module item or assignment), or add "
                "its content through deep linking (content selection).",
            )
        if body.get(LTI + "version") != "1.3.0":
            raise LaunchError("bad_version", f"LTI version {body.get(LTI + 'version')!r} is not 1.3.0.")
        if message_type == DEEP_LINKING_REQUEST:
            _check_deep_linking_settings(body.get(DEEP_LINKING_SETTINGS), self._settings.tool_name)
        try:
            self.validate_message()
        except LtiException as error:
            raise LaunchError("missing_claim", f"The launch message is incomplete: {error}.") from error
        context = body.get(LTI + "context")
        if not isinstance(context, dict) or not context.get("id"):
            raise LaunchError(
                "missing_context",
                "The launch carries no course (context) claim.",
                hint="Add the tool inside a course; it keeps each course's program separate.",
            )

    def _consume_nonce(self) -> None:
        nonce = self._jwt["body"].get("nonce")
        if self.via_platform_storage and not same_nonce(
            self._get_request_param(platform_storage.NONCE_FIELD) or "", nonce
        ):
            raise LaunchError(
                "state_mismatch",
                "The LMS's storage in this browser does not hold this launch's nonce.",
                hint="Launch the tool again from the LMS, in the same browser.",
            )
        # The nonce must be this login's (bound to the browser with the state), and unused.
        if not same_nonce(self._login_nonce, nonce) or (
            self._storage.take_value(self._session_service._get_key("nonce", nonce)) is None
        ):
            raise LaunchError(
                "replayed",
                "This launch has already been used, or it was not started by this tool's login.",
                hint="Each LTI launch can be used once. Launch the tool again from the LMS.",
            )


_LOGIN_FLOW_HINT = "The LMS must POST the id_token and state to the tool's launch URL after the OIDC login."


def _check_deep_linking_settings(settings: Any, tool_name: str) -> None:
    """What a content selection needs before pylti1p3's checks, each failure explained (pylti1p3 says less)."""
    if not isinstance(settings, dict):
        raise LaunchError("missing_claim", "The deep linking launch carries no deep_linking_settings claim.")
    return_url = settings.get("deep_link_return_url")
    if not isinstance(return_url, str) or urlsplit(return_url).scheme not in ("http", "https"):
        raise LaunchError(
            "missing_claim",
            "The deep linking launch does not say where to return the chosen content (deep_link_return_url).",
        )
    accept_types = settings.get("accept_types")
    if not isinstance(accept_types, list) or "ltiResourceLink" not in accept_types:
        offered = ", ".join(str(t) for t in accept_types) if isinstance(accept_types, list) and accept_types else ""
        raise LaunchError(
            "deep_linking_types",
            f"This place in the LMS accepts only {offered or 'no content types'} back from a tool. {tool_name} adds "
            "its program and skill assessments as LTI links (ltiResourceLink), so there is nothing it can add here.",
            hint=f"Add {tool_name} from a place that takes LTI links: in Moodle, the External tool activity's "
            "“Select content”; in Canvas, a module's or an assignment's External Tool.",
        )


def sign_deep_linking_response(
    keys: KeyStore,
    *,
    client_id: str,
    issuer: str,
    deployment_id: str,
    content_items: list[dict[str, Any]],
    data: Any = None,
    message: str | None = None,
) -> str:
    """The LtiDeepLinkingResponse JWT (LTI Deep Linking 2.0, 4.2), signed with the tool's current key.

    Built with joserfc rather than pylti1p3's DeepLink, which sends `data: null` when the request had none and
    cannot add `msg`. `data` is echoed exactly when the request carried it (None: it did not).
    """
    signing = keys.signing_key()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "aud": issuer,
        "iat": now,
        "exp": now + DEEP_LINKING_RESPONSE_LIFETIME,
        "nonce": uuid.uuid4().hex,
        LTI + "message_type": "LtiDeepLinkingResponse",
        LTI + "version": "1.3.0",
        LTI + "deployment_id": deployment_id,
        DL + "content_items": content_items,
    }
    if data is not None:
        claims[DL + "data"] = data
    if message:
        claims[DL + "msg"] = message
    return jwt.encode({"alg": "RS256", "kid": signing.kid, "typ": "JWT"}, claims, signing.key)


def _audiences(aud: Any) -> list[str]:
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []
