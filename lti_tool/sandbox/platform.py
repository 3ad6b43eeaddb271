"""The sandbox LMS as plain Python: its keys, courses and people, login initiation, OIDC authorization and
signed id_tokens. No Flask here, so tests can also mint deliberately broken tokens with it."""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from lti_tool.lti.claims import LTI
from lti_tool.resources import resource_path
from lti_tool.sandbox.advantage import (
    AGS_SCOPES,
    NRPS_SCOPE,
    PLATFORM_CONFIGURATION,
    Advantage,
    Membership,
    Preset,
    RegisteredTool,
    unverified_claim,
)

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DEEP_LINKING = "LtiDeepLinkingRequest"
RESOURCE_LINK = "LtiResourceLinkRequest"

ROLE_IRIS = {
    "Instructor": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"],
    "TeachingAssistant": [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
    ],
    "Learner": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
}
# Like Canvas, the sandbox adds institution roles; the tool must decide by course roles.
INSTITUTION_ROLES = {
    "Instructor": "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Instructor",
    "TeachingAssistant": "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
    "Learner": "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
}
ADMINISTRATOR = "Administrator"  # a site administrator, enrolled in no course
# How each LMS launches a site administrator who is not enrolled in the course. Moodle (lti_get_ims_role): the
# Instructor membership role, since an administrator may manage every activity, then the system and institution
# administrator roles. Canvas: an account administrator's institution role, and no course role.
ADMINISTRATOR_ROLES = {
    Preset.MOODLE: [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#Administrator",
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator",
    ],
    Preset.CANVAS: ["http://purl.imsglobal.org/vocab/lis/v2/institution/person#Administrator"],
}


@dataclass(frozen=True)
class ContentSelection:
    """What a deep linking placement accepts back from a tool."""

    accept_types: tuple[str, ...]
    targets: tuple[str, ...]  # accept_presentation_document_targets
    accept_multiple: bool
    accept_lineitem: bool = True
    auto_create: bool = False


# Per placement, as Canvas sends them (lib/lti/messages/deep_linking_request.rb). Canvas omits accept_lineitem; the
# sandbox states it, true where a placed link may be graded (the spec allows both).
CONTENT_SELECTIONS = {
    "link_selection": ContentSelection(("ltiResourceLink",), ("iframe", "window"), accept_multiple=True),
    "assignment_selection": ContentSelection(("ltiResourceLink",), ("iframe", "window"), accept_multiple=False),
    "collaboration": ContentSelection(
        ("ltiResourceLink",), ("iframe",), accept_multiple=False, accept_lineitem=False, auto_create=True
    ),
    "migration_selection": ContentSelection(("file",), ("iframe",), accept_multiple=False, accept_lineitem=False),
}
# The session cookie a Moodle-like sandbox sets (Moodle 4.5.11+ sends `MoodleSession` with SameSite=Lax) and
# requires on its OIDC authorization and deep linking return, as Moodle's require_login does.
LMS_SESSION_COOKIE = "SandboxLmsSession"


class PlatformStorage(StrEnum):
    """Where the sandbox answers LTI platform storage messages (its `lti_storage_target`), as Canvas does: in a
    forwarding frame beside the tool's, or, inside its rich-content editor, in the parent window itself."""

    FRAME = "post_message_forwarding"
    PARENT = "_parent"


CLIENT_ID = "mentor-lti-sandbox"
DEPLOYMENT_ID = "sandbox-deployment-1"


class SandboxAuthError(Exception):
    """The OIDC authorization request was refused, as a real platform would refuse it."""


@dataclass(frozen=True)
class Person:
    id: str
    given_name: str
    family_name: str
    role: str

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def email(self) -> str:
        return f"{self.id}@sandbox.example"


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    label: str
    resource_link_title: str
    people: tuple[Person, ...]  # the course's members: its roster
    # The site's administrators: not members (no roster lists them), but they may open the tool from the course.
    administrators: tuple[Person, ...] = ()

    def person(self, person_id: str) -> Person:
        for person in (*self.people, *self.administrators):
            if person.id == person_id:
                return person
        raise KeyError(person_id)


def load_courses(path: Path | None = None) -> tuple[Course, ...]:
    data = tomllib.loads((path or resource_path("config") / "sandbox.toml").read_text())
    administrators = tuple(Person(**p, role=ADMINISTRATOR) for p in data.get("administrators", []))
    return tuple(
        Course(
            id=c["id"],
            title=c["title"],
            label=c["label"],
            resource_link_title=c["resource_link_title"],
            people=tuple(Person(**p) for p in c["people"]),
            administrators=administrators,
        )
        for c in data["courses"]
    )


class PlatformKeys:
    """The platform's RSA keys in a JSON file; the newest signs, all are published until removed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._cache: tuple[int, list[RSAKey]] | None = None

    def _load(self) -> list[RSAKey]:
        if not self.path.exists():
            self._save([_new_key()])
        version = self.path.stat().st_mtime_ns
        if self._cache is None or self._cache[0] != version:
            self._cache = (version, [RSAKey.import_key(k) for k in json.loads(self.path.read_text())["keys"]])
        return list(self._cache[1])

    def _save(self, keys: list[RSAKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump({"keys": [k.as_dict(private=True) for k in keys]}, handle)

    def signing_key(self) -> RSAKey:
        with self._lock:
            return self._load()[-1]

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            return {"keys": [{**k.as_dict(private=False), "alg": "RS256", "use": "sig"} for k in self._load()]}

    def rotate(self, *, keep_old: bool = True) -> str:
        """Start signing with a new key (as platforms do); with keep_old=False the old keys stop being published."""
        with self._lock:
            new = _new_key()
            self._save([*self._load(), new] if keep_old else [new])
            return new.thumbprint()


def _new_key() -> RSAKey:
    key = RSAKey.generate_key(2048)
    key.ensure_kid()
    return key


@dataclass(frozen=True)
class ToolEndpoints:
    login_url: str
    launch_url: str
    jwks_url: str


@dataclass(frozen=True)
class PlacedLink:
    """A resource link the instructor placed through deep linking, launched with its own custom parameters."""

    id: str
    course_id: str
    title: str
    url: str
    custom: dict[str, str]
    line_item_id: str | None
    client_id: str


class CourseRoster(Sequence[Membership]):
    """A course's members as NRPS lists them, built only for the page asked for: a course of ten thousand people
    answers a page in the time a small one does."""

    def __init__(
        self, platform: SandboxPlatform, course: Course, left: set[str], also_listed: list[Membership]
    ) -> None:
        self._platform = platform
        self._people = course.people
        self._left = left
        self._also_listed = also_listed

    def __len__(self) -> int:
        return len(self._people) + len(self._also_listed)

    @overload
    def __getitem__(self, index: int) -> Membership: ...
    @overload
    def __getitem__(self, index: slice) -> list[Membership]: ...
    def __getitem__(self, index: int | slice) -> Membership | list[Membership]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        if index >= len(self._people):
            return self._also_listed[index - len(self._people)]
        person = self._people[index]
        return Membership(
            user_id=self._platform.sub(person),
            roles=self._platform.roster_roles(person),
            name=person.name,
            given_name=person.given_name,
            family_name=person.family_name,
            email=person.email,
            status="Inactive" if person.id in self._left else "Active",
        )


@dataclass
class SandboxPlatform:
    """A real LTI 1.3 platform: everything it says to the tool goes over HTTP through the sandbox app."""

    base_url: str
    tool: ToolEndpoints
    keys: PlatformKeys
    courses: tuple[Course, ...] = field(default_factory=load_courses)
    client_id: str = CLIENT_ID
    deployment_id: str = DEPLOYMENT_ID
    name: str = "Sandbox LMS"
    preset: Preset = Preset.MOODLE
    placed_links: list[PlacedLink] = field(default_factory=list)
    # None: no platform storage (Moodle 4.5). A Canvas-like sandbox has the forwarding frame; tests may change it.
    platform_storage: PlatformStorage | None = None
    # Moodle 4.5.11+: the LMS's own session cookie is SameSite=Lax, and its OIDC and deep linking endpoints need it.
    lax_session_cookie: bool = False
    advantage: Advantage = field(init=False)

    def __post_init__(self) -> None:
        self.advantage = Advantage(issuer=self.issuer, token_url=self.token_url, preset=self.preset)
        self.advantage.trust_client(self.client_id, self.tool.jwks_url)
        # The `data` of each open content selection -> course, client id, placement; it comes back echoed.
        self._deep_link_requests: dict[str, tuple[str, str, ContentSelection]] = {}
        self._deep_link_response_nonces: set[str] = set()

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/jwks"

    @property
    def openid_configuration_url(self) -> str:
        if self.preset is Preset.CANVAS:
            return f"{self.base_url}/api/lti/security/openid-configuration"
        return f"{self.base_url}/mod/lti/openid-configuration.php"

    @property
    def registration_url(self) -> str:
        if self.preset is Preset.CANVAS:
            return f"{self.base_url}/api/lti/registrations"
        return f"{self.base_url}/mod/lti/openid-registration.php"

    def openid_configuration(self) -> dict[str, Any]:
        """The platform's OpenID configuration (LTI Dynamic Registration 1.0, 3.4), shaped like the preset's LMS."""
        placements = ["course_navigation", "link_selection", "assignment_selection"]
        product = {Preset.CANVAS: "canvas", Preset.MOODLE: "moodle"}[self.preset]
        messages: list[dict[str, Any]] = [{"type": RESOURCE_LINK}, {"type": DEEP_LINKING}]
        if self.preset is Preset.CANVAS:
            messages = [
                {"type": RESOURCE_LINK, "placements": placements},
                {"type": DEEP_LINKING, "placements": placements},
            ]
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_url,
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": self.jwks_url,
            "registration_endpoint": self.registration_url,
            "scopes_supported": ["openid", *AGS_SCOPES, NRPS_SCOPE],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "name", "given_name", "family_name", "email", "locale"],
            PLATFORM_CONFIGURATION: {
                "product_family_code": product,
                "version": "sandbox-1",
                "messages_supported": messages,
                "variables": ["Context.id", "ResourceLink.id", "Person.name.full"],
            },
        }

    def registration_start_url(self, tool_registration_url: str) -> str:
        """Where an admin's browser goes to register a tool: the tool's URL with a one-time registration token."""
        token = self.advantage.new_registration_token()
        query = {"openid_configuration": self.openid_configuration_url, "registration_token": token}
        separator = "&" if "?" in tool_registration_url else "?"
        return f"{tool_registration_url}{separator}{urlencode(query)}"

    def register_tool(self, authorization: str | None, body: Any) -> dict[str, Any]:
        # Like Moodle, each registered tool gets its own deployment (Moodle: the tool type id).
        deployment_id = f"sandbox-deployment-{len(self.advantage.tools) + 2}"
        return self.advantage.register(authorization, body, deployment_id=deployment_id)

    def _client(self, client_id: str) -> tuple[ToolEndpoints, str]:
        """The endpoints and deployment of a client: the sandbox's own, or a dynamically registered tool."""
        if client_id == self.client_id:
            return self.tool, self.deployment_id
        registered: RegisteredTool | None = self.advantage.tools.get(client_id)
        if registered is None:
            raise SandboxAuthError("unknown client_id")
        login = registered.login_url
        launch = registered.redirect_uris[0] if registered.redirect_uris else registered.target_link_uri
        return ToolEndpoints(login_url=login, launch_url=launch, jwks_url=registered.jwks_url), registered.deployment_id

    def members(self, course_id: str) -> CourseRoster:
        """The course roster as NRPS shares it; people who left the course are listed as Inactive, and whoever
        `advantage.also_listed` adds comes last."""
        left = self.advantage.removed.get(course_id, set())
        return CourseRoster(self, self.course(course_id), left, self.advantage.also_listed.get(course_id, []))

    def course(self, course_id: str) -> Course:
        for course in self.courses:
            if course.id == course_id:
                return course
        raise KeyError(course_id)

    def sub(self, person: Person) -> str:
        # Opaque and stable, like Canvas and Moodle user ids as seen by a tool.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/users/{person.id}"))

    def login_initiation_params(
        self,
        course_id: str,
        person_id: str,
        *,
        client_id: str | None = None,
        message_type: str = RESOURCE_LINK,
        link_id: str | None = None,
        placement: str | None = None,
        in_editor: bool = False,
    ) -> dict[str, str]:
        """Start a launch: a resource link launch (of the course's link or of a link placed by deep linking) or,
        with `message_type=LtiDeepLinkingRequest`, a content-selection launch from a `placement`. `in_editor`: from
        the rich-content editor, where platform storage is the parent window's (Canvas)."""
        course = self.course(course_id)
        course.person(person_id)
        client = client_id or self.client_id
        if link_id is not None:
            client = self.placed_link(course_id, link_id).client_id
        tool, deployment_id = self._client(client)
        storage = self.storage_target(in_editor=in_editor)
        hint = self.sign(
            {
                "storage": storage,
                "course": course_id,
                "person": person_id,
                "client": client,
                "message_type": message_type,
                "link": link_id,
                "placement": placement,
                "exp": int(time.time()) + 600,
            }
        )
        params = {
            "iss": self.issuer,
            "login_hint": person_id,
            "target_link_uri": tool.launch_url,
            "lti_message_hint": hint,
            "client_id": client,
            "lti_deployment_id": deployment_id,
        }
        if storage:
            params["lti_storage_target"] = storage
        return params

    def storage_target(self, *, in_editor: bool = False) -> str | None:
        """The `lti_storage_target` of a launch: the forwarding frame's name, `_parent` in the editor, or None."""
        if self.platform_storage is None:
            return None
        return PlatformStorage.PARENT.value if in_editor else self.platform_storage.value

    def tool_origins(self) -> list[str]:
        """Origins whose frames may use the platform storage: those of every tool this platform launches."""
        urls = [self.tool.login_url, self.tool.launch_url]
        for registered in self.advantage.tools.values():
            urls += [registered.login_url, *registered.redirect_uris]
        return sorted({_origin(url) for url in urls if _origin(url)})

    def login_initiation_url(self, course_id: str, person_id: str, **options: Any) -> str:
        params = self.login_initiation_params(course_id, person_id, **options)
        tool, _ = self._client(params["client_id"])
        return f"{tool.login_url}?{urlencode(params)}"

    def placed_link(self, course_id: str, link_id: str) -> PlacedLink:
        for link in self.placed_links:
            if link.course_id == course_id and link.id == link_id:
                return link
        raise KeyError(link_id)

    def authorize(self, params: dict[str, str]) -> tuple[str, dict[str, str]]:
        """Check an OIDC authorization request and answer (redirect_uri, form fields to POST there)."""
        expected = {
            "scope": "openid",
            "response_type": "id_token",
            "response_mode": "form_post",
            "prompt": "none",
        }
        for name, value in expected.items():
            if params.get(name) != value:
                raise SandboxAuthError(f"{name} must be {value!r}")
        tool, deployment_id = self._client(params.get("client_id", ""))
        registered = self.advantage.tools.get(params.get("client_id", ""))
        allowed_redirects = registered.redirect_uris if registered else [tool.launch_url]
        if params.get("redirect_uri") not in allowed_redirects:
            raise SandboxAuthError("redirect_uri is not registered for this client")
        if not params.get("nonce") or not params.get("state"):
            raise SandboxAuthError("nonce and state are required")
        try:
            hint = jwt.decode(params.get("lti_message_hint", ""), KeySet([self.keys.signing_key()]))
            jwt.JWTClaimsRegistry(exp={"essential": True}).validate(hint.claims)
        except (JoseError, ValueError) as error:
            raise SandboxAuthError("lti_message_hint is invalid or expired") from error
        if hint.claims["person"] != params.get("login_hint"):
            raise SandboxAuthError("login_hint does not match the message hint")
        if hint.claims.get("client", self.client_id) != params.get("client_id"):
            raise SandboxAuthError("client_id does not match the message hint")
        course = self.course(hint.claims["course"])
        person = course.person(hint.claims["person"])
        claims = self.id_token_claims(
            course, person, nonce=params["nonce"], client_id=params["client_id"], deployment_id=deployment_id
        )
        message_type = hint.claims.get("message_type", RESOURCE_LINK)
        if message_type == DEEP_LINKING:
            claims = self._deep_linking_claims(claims, course, params, hint.claims.get("placement"))
        elif hint.claims.get("link"):
            link = self.placed_link(course.id, hint.claims["link"])
            claims[LTI + "resource_link"] = {"id": link.id, "title": link.title}
            claims[LTI + "target_link_uri"] = link.url
            claims[LTI + "custom"] = dict(link.custom)
            if link.line_item_id:
                ags = claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"]
                ags["lineitem"] = self.advantage.line_item_url(
                    self.advantage.line_items[link.line_item_id], self.base_url
                )
        token = self.sign(claims)
        fields = {"id_token": token, "state": params["state"]}
        if hint.claims.get("storage"):
            # Canvas sends the storage frame's name with the launch too.
            fields["lti_storage_target"] = hint.claims["storage"]
        return params["redirect_uri"], fields

    def _deep_linking_claims(
        self, claims: dict[str, Any], course: Course, params: dict[str, str], placement: str | None
    ) -> dict[str, Any]:
        """A content-selection launch: what the platform accepts back, and where the tool returns it."""
        del claims[LTI + "resource_link"]
        # An assignment placement takes one graded item, a link placement several; others as in the table.
        selection = CONTENT_SELECTIONS.get(placement or "link_selection", CONTENT_SELECTIONS["link_selection"])
        data = f"sandbox-dl-{uuid.uuid4().hex}"
        self._deep_link_requests[data] = (course.id, params["client_id"], selection)
        return {
            **claims,
            LTI + "message_type": DEEP_LINKING,
            DL + "deep_linking_settings": {
                "deep_link_return_url": f"{self.base_url}/deep_linking/return",
                "accept_types": list(selection.accept_types),
                "accept_presentation_document_targets": list(selection.targets),
                "accept_multiple": selection.accept_multiple,
                "accept_lineitem": selection.accept_lineitem,
                "auto_create": selection.auto_create,
                "title": "Add mentor-lti content",
                "data": data,
            },
        }

    def accept_deep_linking_response(self, token: str) -> list[PlacedLink]:
        """Check the tool's signed LtiDeepLinkingResponse and place what it chose in the course."""
        client_id = unverified_claim(token, "iss")
        try:
            tool, deployment_id = self._client(client_id or "")
            keys = KeySet.import_key_set(httpx.get(tool.jwks_url, timeout=5).raise_for_status().json())
            decoded = jwt.decode(token, keys, algorithms=["RS256"])
            jwt.JWTClaimsRegistry(
                exp={"essential": True}, iat={"essential": True}, aud={"essential": True, "value": self.issuer}
            ).validate(decoded.claims)
        except (JoseError, ValueError, httpx.HTTPError, SandboxAuthError) as error:
            raise SandboxAuthError(f"The deep linking response is invalid: {error}") from error
        claims = decoded.claims
        if claims.get(LTI + "message_type") != "LtiDeepLinkingResponse":
            raise SandboxAuthError("message_type must be LtiDeepLinkingResponse")
        if claims.get(LTI + "deployment_id") != deployment_id:
            raise SandboxAuthError("deployment_id does not match the client")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce or nonce in self._deep_link_response_nonces:
            raise SandboxAuthError("the response needs a nonce of its own, never one used before")
        # The platform knows which request a response answers by the `data` it sent, echoed exactly.
        issued = self._deep_link_requests.get(str(claims.get(DL + "data")))
        if issued is None or issued[1] != client_id:
            raise SandboxAuthError("the data of a deep linking request of this client was not echoed")
        course_id, _, selection = issued
        items = claims.get(DL + "content_items", [])
        if not isinstance(items, list) or (len(items) > 1 and not selection.accept_multiple):
            raise SandboxAuthError("this placement accepts one content item")
        for item in items:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in selection.accept_types:
                raise SandboxAuthError(f"content item type {kind!r} was not accepted")
        self._deep_link_requests.pop(str(claims[DL + "data"]))
        self._deep_link_response_nonces.add(nonce)
        placed = []
        for item in items:
            line_item_id = None
            # accept_lineitem false: the platform said it ignores line items.
            if isinstance(item.get("lineItem"), dict) and selection.accept_lineitem:
                line_item = self.advantage.create_line_item(course_id, {**item["lineItem"], "resourceLinkId": None})
                line_item_id = line_item.id
            link = PlacedLink(
                id=f"{course_id}-placed-{len(self.placed_links) + 1}",
                course_id=course_id,
                title=str(item.get("title") or "mentor-lti"),
                url=str(item.get("url") or tool.launch_url),
                custom={str(k): str(v) for k, v in (item.get("custom") or {}).items()},
                line_item_id=line_item_id,
                client_id=str(client_id),
            )
            if line_item_id:
                self.advantage.line_items[line_item_id].resource_link_id = link.id
            self.placed_links.append(link)
            placed.append(link)
        return placed

    def id_token_claims(
        self,
        course: Course,
        person: Person,
        *,
        nonce: str,
        client_id: str | None = None,
        deployment_id: str | None = None,
    ) -> dict[str, Any]:
        now = int(time.time())
        context_url = f"{self.base_url}/api/courses/{course.id}"
        client = client_id or self.client_id
        tool, _ = self._client(client)
        return {
            "iss": self.issuer,
            "aud": client,
            "azp": client,
            "sub": self.sub(person),
            "exp": now + 300,
            "iat": now,
            "nonce": nonce,
            "name": person.name,
            "given_name": person.given_name,
            "family_name": person.family_name,
            "email": person.email,
            "locale": "en-US",
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "deployment_id": deployment_id or self.deployment_id,
            LTI + "target_link_uri": tool.launch_url,
            LTI + "resource_link": {"id": f"{course.id}-link-1", "title": course.resource_link_title},
            LTI + "roles": self.launch_roles(person),
            LTI + "context": {
                "id": course.id,
                "label": course.label,
                "title": course.title,
                "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"],
            },
            LTI + "tool_platform": {
                "guid": self.issuer,
                "name": self.name,
                "product_family_code": "mentor-lti-sandbox",
                "version": "1",
            },
            LTI + "launch_presentation": {
                "document_target": "iframe",
                "locale": "en-US",
                "return_url": f"{self.base_url}/courses/{course.id}",
            },
            LTI + "custom": {},
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": list(AGS_SCOPES),
                "lineitems": f"{context_url}/line_items{self.advantage.service_query}",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{context_url}/memberships",
                "service_versions": ["2.0"],
            },
        }

    def roster_roles(self, person: Person) -> list[str]:
        """A member's roles as the roster service (NRPS) lists them, as the preset's LMS lists them. Moodle's roster
        asks whether someone may manage the course's activities (moodle/course:manageactivities): a non-editing
        teacher may not, so it lists them as Learner, while their launches, which ask whether they may manage the
        activity (mod/lti:manage), make them Instructor."""
        if self.preset is Preset.MOODLE and person.role == "TeachingAssistant":
            return list(ROLE_IRIS["Learner"])
        return list(ROLE_IRIS[person.role])

    def launch_roles(self, person: Person) -> list[str]:
        """The `roles` claim of a person's launch, as the preset's LMS sends it."""
        if person.role == ADMINISTRATOR:
            return list(ADMINISTRATOR_ROLES[self.preset])
        return [*ROLE_IRIS[person.role], INSTITUTION_ROLES[person.role]]

    def sign(self, claims: dict[str, Any], *, key: RSAKey | None = None, header: dict[str, Any] | None = None) -> str:
        signing = key or self.keys.signing_key()
        return jwt.encode({"alg": "RS256", "kid": signing.kid, **(header or {})}, claims, signing)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
