"""Platform public keys: fetched over HTTP, cached with a TTL in shared state, refetched once on an unknown kid.

The key set URL is the platform's to choose, so it is fetched like every platform URL (lti_tool/lti/outbound.py:
permitted addresses only, one deadline) and, beyond that, without redirects and at most `MAX_KEY_SET_BYTES`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import KeySet

from lti_tool.errors import LaunchError
from lti_tool.lti.outbound import AnswerTooLarge, PlatformHttp, Unreachable, display_origin, fetch
from lti_tool.lti.state import LaunchStateStore
from lti_tool.settings import Settings

# Real key sets hold a few keys (Canvas publishes three, about 1.5 KiB each).
MAX_KEY_SET_BYTES = 256 * 1024
KEYS_HINT = (
    "Check the platform's JWKS URL in the tool registration (`mentor-lti platform list`), that the tool can reach "
    "it, and that an LMS on a private network is listed in allowed_private_networks."
)


class PlatformKeyCache:
    """Without a refetch on an unknown `kid`, a platform's key rotation would break every launch until the TTL ends;
    the minimum refetch interval stops forged tokens with random kids from turning the tool into a JWKS hammer."""

    def __init__(self, store: LaunchStateStore, settings: Settings) -> None:
        self._store = store
        self._ttl = settings.jwks_cache_ttl_seconds
        self._min_refetch = settings.jwks_min_refetch_seconds
        self._settings = settings
        # This process's copy of the shared cache, imported: a launch whose kid it holds reads no shared state and
        # parses no key. Each copy ends when the shared entry it was read from does.
        self._held: dict[str, _HeldKeySet] = {}

    def key_set_for(self, url: str, kid: str) -> KeySet:
        cache_key = "jwks-" + hashlib.sha256(url.encode()).hexdigest()
        held = self._held.get(cache_key) if self._ttl else None
        if held is not None and time.time() < held.fetched_at + self._ttl and _has_kid(held.jwks, kid):
            return held.key_set
        cached = self._store.get(cache_key) if self._ttl else None
        if cached is not None:
            fresh_enough = time.time() - cached["fetched_at"] < self._min_refetch
            if _has_kid(cached["jwks"], kid) or fresh_enough:
                return self._hold(cache_key, cached["fetched_at"], cached["jwks"], url)
        jwks = self._fetch(url)
        fetched_at = time.time()
        if self._ttl:
            self._store.put(cache_key, {"fetched_at": fetched_at, "jwks": jwks}, self._ttl)
        return self._hold(cache_key, fetched_at, jwks, url)

    def _hold(self, cache_key: str, fetched_at: float, jwks: dict[str, Any], url: str) -> KeySet:
        key_set = _import(jwks, url)
        if self._ttl:
            self._held[cache_key] = _HeldKeySet(fetched_at, jwks, key_set)
        return key_set

    def _fetch(self, url: str) -> dict[str, Any]:
        where = display_origin(url)
        try:
            with PlatformHttp(self._settings) as http:
                response = fetch(http, "GET", url, headers={"Accept": "application/json"}, max_bytes=MAX_KEY_SET_BYTES)
        except (Unreachable, AnswerTooLarge) as error:
            problem = (
                f"answered more than {MAX_KEY_SET_BYTES // 1024} KiB"
                if isinstance(error, AnswerTooLarge)
                else "could not be reached"
            )
            raise LaunchError(
                "platform_keys_unavailable",
                f"The platform's public keys at {where} {problem}.",
                hint=KEYS_HINT,
                status=502,
            ) from error
        if response.status_code != 200:
            raise LaunchError(
                "platform_keys_unavailable",
                f"The platform's public keys at {where} answered {response.status_code}, not 200 (redirects are "
                "not followed).",
                hint=KEYS_HINT,
                status=502,
            )
        try:
            jwks = response.json()
        except ValueError:
            jwks = None
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise LaunchError(
                "platform_keys_invalid",
                f"The platform's key set at {where} is not a JWKS document.",
                hint="The JWKS URL must answer a JSON object with a `keys` list.",
                status=502,
            )
        return jwks


@dataclass(frozen=True)
class _HeldKeySet:
    fetched_at: float
    jwks: dict[str, Any]
    key_set: KeySet


def _has_kid(jwks: dict[str, Any], kid: str) -> bool:
    return any(key.get("kid") == kid for key in jwks.get("keys", []))


def _import(jwks: dict[str, Any], url: str) -> KeySet:
    # Keys we cannot use (other kty, encryption keys) are skipped rather than failing the whole set.
    usable = [key for key in jwks["keys"] if key.get("kty") == "RSA" and key.get("use", "sig") == "sig"]
    try:
        return KeySet.import_key_set({"keys": usable})
    except ValueError as error:
        raise LaunchError(
            "platform_keys_invalid",
            f"The platform's key set at {display_origin(url)} contains an unreadable key.",
            status=502,
        ) from error
