"""Binds an OIDC login to the browser that started it, by a secret that the launch form never carries.

pylti1p3's state cookie holds the state itself, which the launch form carries too: a captured, unused launch form
(id_token + state) could be replayed from any browser that sets that cookie itself. Instead each login gets a
random browser secret; the launch state store keeps only its SHA-256 beside the state, the browser keeps the
secret (today in the HttpOnly state cookie), and a launch must present it again. How the secret travels is the
caller's business, so another carrier (LTI platform storage) can use the same two functions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from lti_tool.errors import LaunchError
from lti_tool.lti.state import LaunchStateStore


def bind_login(store: LaunchStateStore, state: str, *, ttl_seconds: int) -> str:
    """Remember a new browser secret's hash for `state`; answers the secret, for the browser only."""
    secret = secrets.token_urlsafe(32)
    store.put(_key(state), _digest(secret), ttl_seconds)
    return secret


def check_browser_secret(store: LaunchStateStore, state: str, secret: str) -> None:
    """Refuse a launch whose browser secret is not the one its login handed out (forged, or another login's)."""
    expected = store.get(_key(state))
    if not isinstance(expected, str) or not hmac.compare_digest(expected, _digest(secret)):
        raise LaunchError(
            "state_mismatch",
            "This launch was not started by a login in this browser, or that login has expired.",
            hint="Launch the tool again from the LMS, in the same browser.",
        )


def _key(state: str) -> str:
    return f"lti1p3-binding-{state}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
