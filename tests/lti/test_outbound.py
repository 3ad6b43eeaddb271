"""Requests to URLs an LMS or a caller supplied: only public addresses unless a network is allowed, checked on the
address actually connected to; one deadline for the whole request, which a dripping server cannot stretch; and
platform key sets fetched without redirects and with a size limit."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, redirect
from joserfc.jwk import RSAKey
from pydantic import ValidationError

from lti_tool.errors import LaunchError
from lti_tool.lti.jwks import PlatformKeyCache
from lti_tool.lti.outbound import PlatformHttp, Unreachable, fetch, is_permitted
from lti_tool.settings import Settings, load_settings
from tests.conftest import LOOPBACK_NETWORKS
from tests.servers import ServedApp, dripping, served

KEY_SET = {"keys": [{**RSAKey.generate_key(2048).as_dict(private=False), "kid": "k1", "use": "sig"}]}
LOOPBACK = [ipaddress.ip_network(n) for n in LOOPBACK_NETWORKS]


def _settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings({"instance_path": tmp_path, "jwks_cache_ttl_seconds": 0, **overrides})


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254",
        "0.0.0.0", "::", "224.0.1.1", "ff02::1", "240.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.2.1",  # noqa: S104
        "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "2002:7f00:1::",
        "2002:a9fe:a9fe::", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "2001:0:4136:e378:8000:63bf:80ff:fffe",
    ],
)  # fmt: skip
def test_non_public_addresses_and_their_ipv6_disguises_are_refused(address: str) -> None:
    assert not is_permitted(ipaddress.ip_address(address), [])


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700:4700::1111", "64:ff9b::5db8:d70e", "2002:5db8:d70e::"])
def test_public_addresses_are_permitted(address: str) -> None:
    assert is_permitted(ipaddress.ip_address(address), [])


def test_allowed_networks_open_exactly_what_they_name() -> None:
    intranet = [ipaddress.ip_network("10.20.0.0/16")]
    assert is_permitted(ipaddress.ip_address("10.20.3.4"), intranet)
    assert is_permitted(ipaddress.ip_address("::ffff:10.20.3.4"), intranet)
    assert not is_permitted(ipaddress.ip_address("10.21.0.1"), intranet)
    assert not is_permitted(ipaddress.ip_address("127.0.0.1"), intranet)
    assert is_permitted(ipaddress.ip_address("127.0.0.1"), LOOPBACK)


def test_a_malformed_network_stops_the_tool_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="allowed_private_networks"):
        load_settings({"instance_path": tmp_path, "allowed_private_networks": ["10.0.0.1/8"]})
    with pytest.raises(ValidationError, match="allowed_private_networks"):
        load_settings({"instance_path": tmp_path, "allowed_private_networks": ["intranet"]})


def _counting_app(seen: list[str]) -> Flask:
    app = Flask("internal")

    @app.get("/<path:path>")
    def anything(path: str) -> Response:
        seen.append(path)
        return Response(json.dumps(KEY_SET), content_type="application/json")

    return app


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "127.1", "[::ffff:127.0.0.1]"])
def test_loopback_is_refused_under_any_name_unless_allowed(tmp_path: Path, host: str) -> None:
    seen: list[str] = []
    with served(_counting_app(seen)) as internal:
        url = internal.url.replace("127.0.0.1", host) + "/secret"
        with PlatformHttp(_settings(tmp_path)) as http, pytest.raises(Unreachable) as refused:
            fetch(http, "GET", url, max_bytes=1024)
        assert "not a permitted address" in refused.value.detail
        assert seen == []  # never connected
        if host != "[::ffff:127.0.0.1]":  # connecting to IPv4-mapped loopback needs a dual-stack listener
            with PlatformHttp(_settings(tmp_path, allowed_private_networks=LOOPBACK_NETWORKS)) as http:
                assert fetch(http, "GET", url, max_bytes=1024).json() == KEY_SET
            assert seen == ["secret"]


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_one_deadline_holds_for_the_whole_request_against_a_dripping_server(tmp_path: Path, drip_headers: bool) -> None:
    settings = _settings(tmp_path, allowed_private_networks=LOOPBACK_NETWORKS, platform_http_timeout_seconds=1.0)
    # A byte every 0.1 s never trips a 1 s per-read timeout; only a deadline over the whole request stops it.
    with dripping(json.dumps(KEY_SET).encode() * 10, drip_headers=drip_headers) as lms, PlatformHttp(settings) as http:
        started = time.monotonic()
        with pytest.raises(Unreachable):
            fetch(http, "GET", lms.url + "/jwks", max_bytes=1024 * 1024)
        assert 0.9 < time.monotonic() - started < 1.5


# --- Platform key sets ---------------------------------------------------------------------------------------------


def _platform(seen: list[str], internal: ServedApp | None = None) -> Flask:
    app = Flask("platform")

    @app.get("/jwks")
    def jwks() -> Response:
        seen.append("jwks")
        return Response(json.dumps(KEY_SET), content_type="application/json")

    @app.get("/moved")
    def moved() -> Any:
        seen.append("moved")
        return redirect(f"{internal.url if internal else ''}/admin/keys", code=302)

    @app.get("/huge")
    def huge() -> Response:
        seen.append("huge")
        padding = [{"kty": "oct", "k": "x" * 1000} for _ in range(1000)]  # ~1 MiB of keys the tool would skip
        return Response(json.dumps({"keys": [*KEY_SET["keys"], *padding]}), content_type="application/json")

    return app


def _keys(settings: Settings, url: str) -> Any:
    return PlatformKeyCache(store=None, settings=settings).key_set_for(url, "k1")


def test_a_key_set_redirect_is_not_followed(tmp_path: Path) -> None:
    settings = _settings(tmp_path, allowed_private_networks=LOOPBACK_NETWORKS)
    inside: list[str] = []
    with served(_counting_app(inside)) as internal, served() as platform:
        seen: list[str] = []
        platform.set_app(_platform(seen, internal))
        with pytest.raises(LaunchError) as refused:
            _keys(settings, f"{platform.url}/moved")
    assert refused.value.code == "platform_keys_unavailable"
    assert "answered 302, not 200 (redirects are not followed)" in refused.value.message
    assert seen == ["moved"] and inside == []


def test_a_key_set_larger_than_256_kib_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path, allowed_private_networks=LOOPBACK_NETWORKS)
    seen: list[str] = []
    with served(_platform(seen)) as platform:
        assert _keys(settings, f"{platform.url}/jwks").keys[0].kid == "k1"
        with pytest.raises(LaunchError) as refused:
            _keys(settings, f"{platform.url}/huge")
    assert refused.value.code == "platform_keys_unavailable"
    assert "answered more than 256 KiB" in refused.value.message


def test_a_key_set_on_loopback_is_refused_by_default(tmp_path: Path) -> None:
    seen: list[str] = []
    with served(_platform(seen)) as platform, pytest.raises(LaunchError) as refused:
        _keys(_settings(tmp_path), f"{platform.url}/jwks")
    assert refused.value.code == "platform_keys_unavailable" and "could not be reached" in refused.value.message
    assert seen == []


def test_a_dripping_key_set_fails_within_the_deadline(tmp_path: Path) -> None:
    settings = _settings(tmp_path, allowed_private_networks=LOOPBACK_NETWORKS, platform_http_timeout_seconds=1.0)
    with dripping(json.dumps(KEY_SET).encode()) as platform:
        started = time.monotonic()
        with pytest.raises(LaunchError) as refused:
            _keys(settings, f"{platform.url}/jwks")
        assert time.monotonic() - started < 1.5
    assert refused.value.code == "platform_keys_unavailable"
