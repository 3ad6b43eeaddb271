"""Builds the sandbox platform and registers it with the tool through the same service as `platform add`."""

from __future__ import annotations

from pathlib import Path

from lti_tool.lti.models import Platform
from lti_tool.lti.registrations import PlatformSpec, register_platform
from lti_tool.sandbox.advantage import Preset
from lti_tool.sandbox.platform import PlatformKeys, PlatformStorage, SandboxPlatform, ToolEndpoints


def build_sandbox(
    instance_path: Path, base_url: str, tool_url: str, *, preset: Preset = Preset.MOODLE
) -> SandboxPlatform:
    """A Canvas-like sandbox offers platform storage (its forwarding frame); a Moodle-like one does not."""
    tool = tool_url.rstrip("/")
    return SandboxPlatform(
        preset=preset,
        platform_storage=PlatformStorage.FRAME if preset is Preset.CANVAS else None,
        base_url=base_url.rstrip("/"),
        tool=ToolEndpoints(login_url=f"{tool}/lti/login", launch_url=f"{tool}/lti/launch", jwks_url=f"{tool}/lti/jwks"),
        keys=PlatformKeys(instance_path / "sandbox" / "platform_keys.json"),
    )


def register_sandbox(platform: SandboxPlatform) -> Platform:
    """Register (idempotently) the sandbox as a platform of the tool. The caller commits."""
    return register_platform(
        PlatformSpec(
            name=f"{platform.name} ({platform.base_url})",
            issuer=platform.issuer,
            client_id=platform.client_id,
            deployment_ids=(platform.deployment_id,),
            auth_login_url=platform.auth_url,
            auth_token_url=platform.token_url,
            key_set_url=platform.jwks_url,
        )
    )
