"""Which LMS origins may frame the tool (CSP `frame-ancestors`), learned from registrations and signed launches.

An LMS frames the tool from its own pages, whose origin is not always the issuer's: Canvas frames from the
institution's domain (canvas.school.edu) while its issuer is canvas.instructure.com and its auth endpoint
sso.canvaslms.com. So the allowed origins are, for every registered platform, the origins of its issuer, its auth
login URL and the URL a dynamic registration was started from (Canvas: the institution's domain), plus the origins
of the LMS pages an accepted launch names in claims its platform signed (launch_presentation.return_url,
tool_platform.url, deep_link_return_url). Learned origins are kept per platform in the launch state store for
LEARNED_ORIGIN_DAYS after they were last added; the list, and which origins each platform already has, are cached
per process for CACHE_SECONDS, so most launches learn nothing and read nothing.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.lti.claims import LaunchClaims
from lti_tool.lti.models import DynamicRegistration, Platform
from lti_tool.lti.state import LaunchStateStore

CACHE_SECONDS = 5.0
LEARNED_ORIGIN_DAYS = 90
# Only plain host names go into the header: anything else could add CSP syntax (spaces, quotes, semicolons).
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


def origin_of(url: str | None) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, or None when it has no safe origin."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def allowed_origins(store: LaunchStateStore) -> set[str]:
    platforms = db.session.execute(select(Platform.id, Platform.issuer, Platform.auth_login_url)).all()
    started_at = db.session.execute(
        select(DynamicRegistration.openid_configuration_url).where(DynamicRegistration.platform_id.is_not(None))
    ).scalars()
    urls: list[str] = [*started_at]
    for platform_id, issuer, auth_login_url in platforms:
        urls += [issuer, auth_login_url, *(store.get(_learned_key(platform_id)) or ())]
    return _origins(urls)


@dataclass(frozen=True)
class LearnedOrigins:
    platform_id: int
    origins: frozenset[str]


class FrameAncestors:
    """The CSP `frame-ancestors` sources, recomputed at most every CACHE_SECONDS in this process (so a newly
    registered platform frames the tool within seconds), at once after this process learns a new origin."""

    def __init__(self, store: LaunchStateStore) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._sources: str | None = None
        self._computed_at = 0.0
        # platform id -> (the origins its stored list held, when this process read it): a launch that names only
        # these reads nothing. What this process adds is known once its commit is done (`learned`).
        self._known: dict[int, tuple[frozenset[str], float]] = {}

    def learn_from_launch(self, claims: LaunchClaims) -> LearnedOrigins | None:
        """Remember the origins of the LMS pages this launch names, in the caller's transaction; when one is new to
        its platform, answers what the platform's list now is, for `learned` once the caller has committed."""
        launched = {origin for origin in map(origin_of, claims.lms_page_urls) if origin}
        known, read_at = self._known.get(claims.platform_id, (frozenset(), -CACHE_SECONDS))
        if launched <= known and time.monotonic() - read_at <= CACHE_SECONDS:
            return None
        key = _learned_key(claims.platform_id)
        stored = frozenset(self._store.get(key) or ())
        self._known[claims.platform_id] = (stored, time.monotonic())
        if launched <= stored:
            return None
        origins = stored | launched
        self._store.put(key, sorted(origins), LEARNED_ORIGIN_DAYS * 86400)
        return LearnedOrigins(claims.platform_id, origins)

    def learned(self, learned: LearnedOrigins) -> None:
        """After the commit that stored them: this process frames from the new origins at once."""
        with self._lock:
            self._known[learned.platform_id] = (learned.origins, time.monotonic())
            self._sources = None

    def sources(self) -> str:
        with self._lock:
            if self._sources is None or time.monotonic() - self._computed_at > CACHE_SECONDS:
                self._sources = " ".join(["'self'", *sorted(allowed_origins(self._store))])
                self._computed_at = time.monotonic()
            return self._sources


def _origins(urls: Iterable[str | None]) -> set[str]:
    return {origin for origin in map(origin_of, urls) if origin}


def _learned_key(platform_id: int) -> str:
    return f"frame-origins-{platform_id}"
