"""How often one client may try something that guesses at a secret or costs the tool work: counted in the shared state
store, so a limit holds across every worker and instance.

There is no limit for everyone together: anyone could then keep the administrator out by failing on purpose. What
stops guessing from many addresses is the secrets' size (an admin token of 24+ characters, 256-bit invitations),
and an IPv6 client counts by its /64, the block one subscriber gets, so that rotating addresses within it helps
nothing."""

from __future__ import annotations

import hashlib
import ipaddress
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
# A person types the admin token; a few typing mistakes fit in a minute.
SIGN_IN_PER_ADDRESS = Limit("admin-sign-in", attempts=5, window_seconds=60)


def client_of(address: str) -> str:
    """Who an address counts as: an IPv4 address itself, an IPv6 address its /64 (anything else as given)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


def wait_seconds(store: LaunchStateStore, limit: Limit, address: str) -> int | None:
    """Count an attempt from a client address; the seconds to wait when it is one too many, else None."""
    # The key holds a hash, not the address: the state store is not the place for personal data.
    key = f"throttle:{limit.name}:{hashlib.sha256(client_of(address).encode()).hexdigest()[:32]}"
    count, seconds_left = store.count(key, limit.window_seconds)
    return seconds_left if count > limit.attempts else None
