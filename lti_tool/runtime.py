"""The per-app objects views and commands share: validated settings, the tool's keys and the launch-state store."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app

from lti_tool.lti.frame_origins import FrameAncestors
from lti_tool.lti.jwks import PlatformKeyCache
from lti_tool.lti.keys import KeyStore
from lti_tool.lti.registrations import LoginRegistrations
from lti_tool.lti.state import DatabaseStateStore, LaunchStateStore, RedisStateStore
from lti_tool.settings import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    keys: KeyStore
    state: LaunchStateStore
    # This process's dynamic registrations that may wait on an LMS at once (lti.dynamic_registration.registration_slot).
    registration_slots: threading.BoundedSemaphore
    frame_ancestors: FrameAncestors
    platform_keys: PlatformKeyCache
    login_registrations: LoginRegistrations

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        state: LaunchStateStore = RedisStateStore(settings.redis_url) if settings.redis_url else DatabaseStateStore()
        return cls(
            settings=settings,
            keys=KeyStore(settings.instance_path),
            state=state,
            registration_slots=threading.BoundedSemaphore(settings.dynamic_registration_concurrency),
            frame_ancestors=FrameAncestors(state),
            platform_keys=PlatformKeyCache(state, settings),
            login_registrations=LoginRegistrations(),
        )


def runtime() -> Runtime:
    value: Runtime = current_app.extensions["mentor_lti"]
    return value
