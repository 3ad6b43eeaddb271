"""Platform registrations: add, list, remove, and find the one a login or launch belongs to."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import bindparam, func, null, select

from lti_tool.courses.models import Course
from lti_tool.errors import RegistrationError
from lti_tool.extensions import db
from lti_tool.lti.models import Deployment, Platform


@dataclass(frozen=True)
class PlatformSpec:
    """What an administrator (or the sandbox, or dynamic registration) provides to register a platform."""

    name: str
    issuer: str
    client_id: str
    deployment_ids: tuple[str, ...]
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None = None


def register_platform(spec: PlatformSpec) -> Platform:
    """Add a registration, or add deployments to an existing (issuer, client_id) registration.

    The caller commits. Re-registering the same platform with the same endpoints is accepted (idempotent), so
    the sandbox can register itself on every start; different endpoints for a known client are refused.
    """
    _validate(spec)
    platform = find_platform(spec.issuer, spec.client_id)
    if platform is None:
        if db.session.execute(select(Platform.id).where(Platform.name == spec.name)).first():
            raise RegistrationError(f"A platform named {spec.name!r} is already registered with another client.")
        platform = Platform(
            name=spec.name,
            issuer=spec.issuer,
            client_id=spec.client_id,
            auth_login_url=spec.auth_login_url,
            auth_token_url=spec.auth_token_url,
            key_set_url=spec.key_set_url,
            auth_audience=spec.auth_audience,
        )
        db.session.add(platform)
    elif (platform.auth_login_url, platform.auth_token_url, platform.key_set_url) != (
        spec.auth_login_url,
        spec.auth_token_url,
        spec.key_set_url,
    ):
        raise RegistrationError(
            f"Issuer {spec.issuer} with client_id {spec.client_id} is already registered with other endpoints.",
            hint="Remove it first with `mentor-lti platform remove` if the platform really changed.",
        )
    known = {d.deployment_id for d in platform.deployments}
    for deployment_id in spec.deployment_ids:
        if deployment_id not in known:
            platform.deployments.append(Deployment(deployment_id=deployment_id))
    db.session.flush()
    return platform


def _validate(spec: PlatformSpec) -> None:
    problems = []
    if not spec.name.strip():
        problems.append("name is empty")
    if not spec.client_id.strip():
        problems.append("client id is empty")
    # No deployment yet is allowed: a Canvas developer key registered dynamically gets its deployment id when the
    # app is installed, and the admin adds it then (the tool's admin page, or `platform add`).
    if any(not d.strip() for d in spec.deployment_ids):
        problems.append("deployment ids must not be empty")
    for label, url in (
        ("issuer", spec.issuer),
        ("auth URL", spec.auth_login_url),
        ("token URL", spec.auth_token_url),
        ("JWKS URL", spec.key_set_url),
    ):
        parsed = urlparse(url)
        if parsed.scheme not in ("https", "http") or not parsed.netloc:
            problems.append(f"{label} {url!r} is not an http(s) URL")
    if problems:
        raise RegistrationError("Invalid platform registration: " + "; ".join(problems) + ".")


def find_platform(issuer: str, client_id: str | None) -> Platform | None:
    """The registration for (issuer, client_id); with no client_id, the issuer's only registration if it has one."""
    query = select(Platform).where(Platform.issuer == issuer)
    if client_id:
        return db.session.execute(query.where(Platform.client_id == client_id)).scalar_one_or_none()
    candidates = db.session.execute(query).scalars().all()
    return candidates[0] if len(candidates) == 1 else None


@dataclass(frozen=True)
class LaunchRegistration:
    """A registration as a login or a launch reads it, in one query of plain columns: the platform's, and the id
    of the launch's deployment when the platform has it registered (None: not registered, or not asked)."""

    platform_id: int
    name: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    auth_audience: str | None
    deployment_pk: int | None


# Every login and launch runs one of these: built once, on the tables (no ORM rows), compiled once per database.
_PLATFORM, _DEPLOYMENT = Platform.__table__, Deployment.__table__
_REGISTRATION_COLUMNS = (
    _PLATFORM.c.id,
    _PLATFORM.c.name,
    _PLATFORM.c.issuer,
    _PLATFORM.c.client_id,
    _PLATFORM.c.auth_login_url,
    _PLATFORM.c.auth_token_url,
    _PLATFORM.c.key_set_url,
    _PLATFORM.c.auth_audience,
)
_REGISTRATION = (
    select(*_REGISTRATION_COLUMNS, _DEPLOYMENT.c.id)
    .outerjoin(
        _DEPLOYMENT,
        (_DEPLOYMENT.c.platform_id == _PLATFORM.c.id) & (_DEPLOYMENT.c.deployment_id == bindparam("deployment_id")),
    )
    .where(_PLATFORM.c.issuer == bindparam("issuer"), _PLATFORM.c.client_id == bindparam("client_id"))
)
_ISSUER_REGISTRATIONS = select(*_REGISTRATION_COLUMNS, null()).where(_PLATFORM.c.issuer == bindparam("issuer")).limit(2)


def find_registration(issuer: str, client_id: str | None, deployment_id: str | None) -> LaunchRegistration | None:
    """The registration for (issuer, client_id) and its deployment `deployment_id` if registered, in one query: a
    launch names both, and checks them at two different steps (the deployment after the signature). Without a
    client id (a login may omit it), the issuer's only registration if it has one."""
    if client_id:
        row = db.session.execute(
            _REGISTRATION, {"issuer": issuer, "client_id": client_id, "deployment_id": deployment_id}
        ).one_or_none()
    else:
        rows = db.session.execute(_ISSUER_REGISTRATIONS, {"issuer": issuer}).all()
        row = rows[0] if len(rows) == 1 else None
    return None if row is None else LaunchRegistration(*row)


class LoginRegistrations:
    """The registrations logins find, held by this process for HELD_SECONDS after a login read them.

    A login decides nothing: it stores the login's state and sends the browser to the registration's auth URL.
    Every launch reads its registration and deployment from the database again (`find_registration`), so a
    platform removed a moment ago can start a login for a few seconds more, never launch. An unknown issuer or
    client id is not held: each such login looks again, and a platform just registered can log in at once."""

    HELD_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str | None], tuple[LaunchRegistration, float]] = {}

    def find(self, issuer: str, client_id: str | None) -> LaunchRegistration | None:
        key = (issuer, client_id)
        with self._lock:
            held = self._held.get(key)
        if held is not None and time.monotonic() < held[1]:
            return held[0]
        found = find_registration(issuer, client_id, None)
        with self._lock:
            if found is None:
                self._held.pop(key, None)
            else:
                self._held[key] = (found, time.monotonic() + self.HELD_SECONDS)
        return found


def issuer_is_registered(issuer: str) -> bool:
    return db.session.execute(select(Platform.id).where(Platform.issuer == issuer).limit(1)).first() is not None


def list_platforms() -> list[Platform]:
    return list(db.session.execute(select(Platform).order_by(Platform.name)).scalars())


def remove_platform(name: str) -> None:
    platform = db.session.execute(select(Platform).where(Platform.name == name)).scalar_one_or_none()
    if platform is None:
        raise RegistrationError(f"No platform named {name!r}.", hint="Run `mentor-lti platform list`.")
    deployment_ids = [d.id for d in platform.deployments]
    courses = db.session.execute(
        select(func.count(Course.id)).where(Course.deployment_id.in_(deployment_ids))
    ).scalar_one()
    if courses:
        # Course history (programs, sessions, assessments) must never disappear with a registration.
        raise RegistrationError(
            f"Platform {name!r} has {courses} course(s) with data in the tool; it cannot be removed.",
            hint="Add the platform's new registration alongside it instead.",
        )
    db.session.delete(platform)
