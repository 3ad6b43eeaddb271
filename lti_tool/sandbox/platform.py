"""The sandbox LMS as plain Python: its keys, courses and people, login initiation, OIDC authorization and
signed id_tokens. No Flask here, so tests can also mint deliberately broken tokens with it."""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from lti_tool.lti.claims import LTI
from lti_tool.resources import resource_path

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
    people: tuple[Person, ...]

    def person(self, person_id: str) -> Person:
        for person in self.people:
            if person.id == person_id:
                return person
        raise KeyError(person_id)


def load_courses(path: Path | None = None) -> tuple[Course, ...]:
    data = tomllib.loads((path or resource_path("config") / "sandbox.toml").read_text())
    return tuple(
        Course(
            id=c["id"],
            title=c["title"],
            label=c["label"],
            resource_link_title=c["resource_link_title"],
            people=tuple(Person(**p) for p in c["people"]),
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

    def course(self, course_id: str) -> Course:
        for course in self.courses:
            if course.id == course_id:
                return course
        raise KeyError(course_id)

    def sub(self, person: Person) -> str:
        # Opaque and stable, like Canvas and Moodle user ids as seen by a tool.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/users/{person.id}"))

    def login_initiation_params(self, course_id: str, person_id: str) -> dict[str, str]:
        course = self.course(course_id)
        course.person(person_id)
        hint = self.sign({"course": course_id, "person": person_id, "exp": int(time.time()) + 600})
        return {
            "iss": self.issuer,
            "login_hint": person_id,
            "target_link_uri": self.tool.launch_url,
            "lti_message_hint": hint,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }

    def login_initiation_url(self, course_id: str, person_id: str) -> str:
        return f"{self.tool.login_url}?{urlencode(self.login_initiation_params(course_id, person_id))}"

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
        if params.get("client_id") != self.client_id:
            raise SandboxAuthError("unknown client_id")
        if params.get("redirect_uri") != self.tool.launch_url:
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
        course = self.course(hint.claims["course"])
        person = course.person(hint.claims["person"])
        token = self.sign(self.id_token_claims(course, person, nonce=params["nonce"]))
        return self.tool.launch_url, {"id_token": token, "state": params["state"]}

    def id_token_claims(self, course: Course, person: Person, *, nonce: str) -> dict[str, Any]:
        now = int(time.time())
        context_url = f"{self.base_url}/api/courses/{course.id}"
        return {
            "iss": self.issuer,
            "aud": self.client_id,
            "azp": self.client_id,
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
            LTI + "deployment_id": self.deployment_id,
            LTI + "target_link_uri": self.tool.launch_url,
            LTI + "resource_link": {"id": f"{course.id}-link-1", "title": course.resource_link_title},
            LTI + "roles": [*ROLE_IRIS[person.role], INSTITUTION_ROLES[person.role]],
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
                "scope": [
                    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
                    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
                ],
                "lineitems": f"{context_url}/line_items",
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": f"{context_url}/memberships",
                "service_versions": ["2.0"],
            },
        }

    def sign(self, claims: dict[str, Any], *, key: RSAKey | None = None, header: dict[str, Any] | None = None) -> str:
        signing = key or self.keys.signing_key()
        return jwt.encode({"alg": "RS256", "kid": signing.kid, **(header or {})}, claims, signing)
