"""How often one client (or everyone) may try something that guesses at a secret or costs the tool work: counted in
the shared state store, so a limit holds across every worker and instance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lti_tool.lti.state import LaunchStateStore


@dataclass(frozen=True)
class Limit:
    """At most `attempts` in a window of `window_seconds`, which starts at the first attempt."""

    name: str
    attempts: int
    window_seconds: int


# An LMS administrator registers the tool once; a few retries after a failure fit in a minute.
REGISTRATION_PER_ADDRESS = Limit("registration", attempts=5, window_seconds=60)
# A person types the admin token; guessing it needs millions of tries. The global limit holds against many
# addresses; the tool's administrator keeps the `mentor-lti` commands on the server meanwhile.
SIGN_IN_PER_ADDRESS = Limit("admin-sign-in", attempts=5, window_seconds=60)
SIGN_IN_EVERYONE = Limit("admin-sign-in-everyone", attempts=30, window_seconds=60)


def wait_seconds(store: LaunchStateStore, limit: Limit, who: str) -> int | None:
    """Count an attempt by `who` (a client address, or "" for everyone); the seconds to wait when it is one too
    many, else None."""
    # The key holds a hash, not the address: the state store is not the place for personal data.
    key = f"throttle:{limit.name}:{hashlib.sha256(who.encode()).hexdigest()[:32]}"
    count, seconds_left = store.count(key, limit.window_seconds)
    return seconds_left if count > limit.attempts else None
