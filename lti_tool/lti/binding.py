"""Binds an OIDC login to the browser that started it, by a secret that the launch form never carries.

pylti1p3's state cookie holds the state itself, which the launch form carries too: a captured, unused launch form
(id_token + state) could be replayed from any browser that sets that cookie itself. Instead each login gets a
random browser secret; the launch state store keeps only its SHA-256 beside the state, with the login's nonce. The
browser keeps the secret (in the HttpOnly state cookie, or in the LMS's platform storage when the frame has no
cookies: lti_tool.lti.platform_storage) and a launch must present it again. The nonce is kept with the binding so
that a launch's id_token must be the one issued for *this* login: a captured id_token cannot be posted with the
state (and secret) of another login, the attacker's own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from lti_tool.errors import LaunchError
from lti_tool.lti.state import LaunchStateStore


def new_browser_secret() -> str:
    return secrets.token_urlsafe(32)


def bind_login(store: LaunchStateStore, state: str, *, secret: str, nonce: str, ttl_seconds: int) -> None:
    """Remember `secret`'s hash and the login's `nonce` for `state`; the secret itself goes to the browser only."""
    store.put(_key(state), {"secret": _digest(secret), "nonce": nonce}, ttl_seconds)


def check_browser_secret(store: LaunchStateStore, state: str, secret: str) -> str:
    """Refuse a launch whose browser secret is not the one its login handed out (forged, or another login's);
    answers the nonce that login issued, which the id_token must carry."""
    binding: Any = store.get(_key(state))
    expected = binding.get("secret") if isinstance(binding, dict) else None
    if not isinstance(expected, str) or not hmac.compare_digest(expected, _digest(secret)):
        raise LaunchError(
            "state_mismatch",
            "This launch was not started by a login in this browser, or that login has expired.",
            hint="Launch the tool again from the LMS, in the same browser.",
        )
    return str(binding.get("nonce", ""))


def same_nonce(login_nonce: str, token_nonce: Any) -> bool:
    """Whether the id_token answers this login, not another one (whose nonce the store may also hold)."""
    return isinstance(token_nonce, str) and hmac.compare_digest(login_nonce.encode(), token_nonce.encode())


def _key(state: str) -> str:
    return f"lti1p3-binding-{state}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
