"""Platform public keys: fetched over HTTP, cached with a TTL in shared state, refetched once on an unknown kid."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
from joserfc.jwk import KeySet

from lti_tool.errors import LaunchError
from lti_tool.lti.state import LaunchStateStore


class PlatformKeyCache:
    """Without a refetch on an unknown `kid`, a platform's key rotation would break every launch until the TTL ends;
    the minimum refetch interval stops forged tokens with random kids from turning the tool into a JWKS hammer."""

    def __init__(self, store: LaunchStateStore, *, ttl: int, min_refetch: int, timeout: float) -> None:
        self._store = store
        self._ttl = ttl
        self._min_refetch = min_refetch
        self._timeout = timeout

    def key_set_for(self, url: str, kid: str) -> KeySet:
        cache_key = "jwks-" + hashlib.sha256(url.encode()).hexdigest()
        cached = self._store.get(cache_key) if self._ttl else None
        if cached is not None:
            fresh_enough = time.time() - cached["fetched_at"] < self._min_refetch
            if _has_kid(cached["jwks"], kid) or fresh_enough:
                return _import(cached["jwks"], url)
        jwks = self._fetch(url)
        if self._ttl:
            self._store.put(cache_key, {"fetched_at": time.time(), "jwks": jwks}, self._ttl)
        return _import(jwks, url)

    def _fetch(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=self._timeout, follow_redirects=True)
            response.raise_for_status()
            jwks = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise LaunchError(
                "platform_keys_unavailable",
                f"The tool could not fetch the platform's public keys from {url} ({type(error).__name__}).",
                hint="Check the platform's JWKS URL in the tool registration (`mentor-lti platform list`) and that "
                "the tool can reach it.",
                status=502,
            ) from error
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise LaunchError(
                "platform_keys_invalid",
                f"The platform's key set at {url} is not a JWKS document.",
                hint="The JWKS URL must answer a JSON object with a `keys` list.",
                status=502,
            )
        return jwks


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
            f"The platform's key set at {url} contains an unreadable key.",
            status=502,
        ) from error
