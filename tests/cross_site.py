"""The tool and the sandbox LMS on two different *sites*, as in production: https://tool.test and https://lms.test,
both on loopback (Chromium maps the names with --host-resolver-rules), over TLS with a certificate made for the
test run. Each also answers on plain http://127.0.0.1 for the server-to-server calls (key sets, tokens), which do
not go through the browser and cannot resolve the test names."""

from __future__ import annotations

import datetime
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select

from lti_tool import create_app
from lti_tool.database import upgrade_database
from lti_tool.extensions import db
from lti_tool.lti.models import Platform
from lti_tool.sandbox.advantage import Preset
from lti_tool.sandbox.app import create_sandbox_app
from lti_tool.sandbox.platform import PlatformKeys, PlatformStorage, SandboxPlatform, ToolEndpoints
from lti_tool.sandbox.setup import register_sandbox
from tests.conftest import Sandbox
from tests.servers import CountingMiddleware, served

TOOL_HOST = "tool.test"
LMS_HOST = "lms.test"
HOST_RESOLVER_RULES = f"--host-resolver-rules=MAP {TOOL_HOST} 127.0.0.1, MAP {LMS_HOST} 127.0.0.1"
# Chromium content-setting patterns (primary, secondary): every cookie of the tool's site, wherever it is opened;
# or only while it is framed by the LMS (as Safari does: the tool's own window keeps its cookies).
EVERY_TOOL_COOKIE = f"[*.]{TOOL_HOST},*"
TOOL_COOKIES_IN_THE_LMS_FRAME = f"[*.]{TOOL_HOST},[*.]{LMS_HOST}"


def throwaway_tls(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a self-signed certificate for both test names (the browser is told to accept it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mentor-lti cross-site test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(TOOL_HOST), x509.DNSName(LMS_HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


def chromium_profile(directory: Path, blocked_cookies: str | None, *, third_party_blocked: bool = False) -> Path:
    """A fresh Chromium profile whose preferences block the cookies `blocked_cookies` names (a content-setting
    pattern): a per-browser site block, nothing machine-wide. `third_party_blocked`: the "block third-party
    cookies" setting, which still lets partitioned cookies through."""
    (directory / "Default").mkdir(parents=True, exist_ok=True)
    exceptions = {blocked_cookies: {"setting": 2}} if blocked_cookies else {}
    profile: dict[str, Any] = {"content_settings": {"exceptions": {"cookies": exceptions}}}
    if third_party_blocked:
        profile.update({"cookie_controls_mode": 1, "block_third_party_cookies": True})
    preferences = {"profile": profile}
    (directory / "Default" / "Preferences").write_text(json.dumps(preferences))
    return directory


@dataclass
class CrossSite:
    app: Flask
    tool_url: str
    sandbox: Sandbox


@contextmanager
def cross_site_environment(
    settings: dict[str, Any], directory: Path, *, preset: Preset = Preset.CANVAS, partitioned: bool = True
) -> Iterator[CrossSite]:
    """The tool with its production cookie settings (`partitioned`: COOKIE_PARTITIONED) at https://tool.test:<port>,
    the sandbox LMS at https://lms.test:<port>, registered with each other."""
    tls = throwaway_tls(directory / "tls")
    with (
        served(tls=tls, host_name=TOOL_HOST) as tool,
        served() as tool_direct,
        served(tls=tls, host_name=LMS_HOST) as lms,
        served() as lms_direct,
    ):
        app = create_app(
            {
                **settings,
                "cookie_secure": True,
                "cookie_samesite": "None",
                "cookie_partitioned": partitioned,
                "public_base_url": tool.url,
                "trusted_hosts": ["127.0.0.1"],
            }
        )
        tool.set_app(app)
        tool_direct.set_app(app)
        with app.app_context():
            upgrade_database()
        platform = SandboxPlatform(
            preset=preset,
            base_url=lms.url,
            tool=ToolEndpoints(
                login_url=f"{tool.url}/lti/login",
                launch_url=f"{tool.url}/lti/launch",
                jwks_url=f"{tool_direct.url}/lti/jwks",
            ),
            keys=PlatformKeys(Path(app.instance_path) / "sandbox" / "platform_keys.json"),
            platform_storage=PlatformStorage.FRAME if preset is Preset.CANVAS else None,
        )
        counter = CountingMiddleware(create_sandbox_app(platform))
        lms.set_app(counter)
        lms_direct.set_app(counter)
        try:
            with app.app_context():
                registered = register_sandbox(platform)
                db.session.flush()
                row = db.session.execute(select(Platform).where(Platform.id == registered.id)).scalar_one()
                row.key_set_url = f"{lms_direct.url}/jwks"
                row.auth_token_url = f"{lms_direct.url}/token"
                db.session.commit()
            yield CrossSite(app, tool.url, Sandbox(platform, lms.url, counter))
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
