"""LTI platform storage (1EdTech LTI Client Side postMessages 0.1, postMessage Storage 0.1, OIDC Login with LTI
Client Side postMessages 0.1): what the tool's pages need to keep a login's state and nonce in the LMS's storage
when the frame has no cookies, and to read them back at the launch.

The page scripts are lti_tool/static/lti-storage.js (login) and lti-launch-check.js (launch). They ask the LMS
frame for its capabilities with the target origin `*`, the one message the spec lets a tool send before it knows
where its platform is (the answer only names a frame; nothing secret goes out). `lti.put_data` and `lti.get_data`
go to the frame the LMS named (`lti_storage_target`, or the frame the capabilities answer names) with the exact
origin of the platform's OIDC authorization URL as target origin, and an answer counts only from that origin, for
that message id. The value stored under the state's key is the login's browser secret (lti_tool.lti.binding), the
one the state cookie would carry: the platform keeps it per tool origin in the browser that logged in, so a launch
form replayed from any other browser finds nothing there.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from lti_tool.lti.frame_origins import origin_of

PARAM = "lti_storage_target"
# The launch-check page posts the launch again with what platform storage answered.
STATE_FIELD = "lti_storage_state"
NONCE_FIELD = "lti_storage_nonce"
# How long a page waits for each answer from the LMS before it says so (and falls back).
ANSWER_TIMEOUT_MS = 3000
# A frame name as LMSs send it (Canvas `post_message_forwarding`, Brightspace and Sakai `_parent`); anything else
# is not used as one.
_FRAME_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_MAX_TOKEN_CHARS = 64 * 1024


def storage_target(value: Any) -> str | None:
    """The frame named by an `lti_storage_target` parameter, or None when there is none (or it is no frame name)."""
    return value if isinstance(value, str) and _FRAME_NAME.fullmatch(value) else None


def state_key(state: str) -> str:
    return f"lti_state_{state}"


def nonce_key(nonce: str) -> str:
    return f"lti_nonce_{nonce}"


@dataclass(frozen=True)
class StorageRequest:
    """What a page's script puts into or gets from platform storage; rendered as data attributes."""

    target: str  # the frame name
    origin: str  # the platform's OIDC authorization origin: the only target origin, the only answering origin
    state_key: str
    nonce_key: str
    timeout_ms: int = ANSWER_TIMEOUT_MS


def storage_request(auth_login_url: str, target: str, *, state: str, nonce: str) -> StorageRequest | None:
    """None when the platform's authorization URL has no usable origin (then no message can be addressed)."""
    origin = origin_of(auth_login_url)
    if origin is None:
        return None
    return StorageRequest(target=target, origin=origin, state_key=state_key(state), nonce_key=nonce_key(nonce))


def unverified_nonce(id_token: Any) -> str | None:
    """The `nonce` claim of an id_token not yet verified: only to name the storage key the launch-check page reads.
    The launch is verified in full when that page posts it again."""
    if not isinstance(id_token, str) or len(id_token) > _MAX_TOKEN_CHARS or id_token.count(".") != 2:
        return None
    payload = id_token.split(".")[1]
    try:
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    nonce = body.get("nonce") if isinstance(body, dict) else None
    return nonce if isinstance(nonce, str) and 0 < len(nonce) <= 255 else None
