"""Typed settings: config/default.toml, then <instance>/config.toml, then MENTOR_LTI_* variables, then overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from lti_tool.resources import resource_path
from xapi.vocabulary import DEFAULT_BASE

ENV_PREFIX = "MENTOR_LTI_"


class Settings(BaseSettings):
    """Every setting the tool reads; documented in the README's Configuration section."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", validate_default=True)

    instance_path: Path = Path("instance")
    tool_name: str = "Mentor"
    database_url: str = ""
    redis_url: str = ""
    secret_key: str = ""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    cookie_secure: bool = True
    cookie_samesite: Literal["None", "Lax", "Strict"] = "None"
    cookie_partitioned: bool = True
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # Host names the tool answers to besides public_base_url's; a comma-separated list in the environment.
    trusted_hosts: Annotated[list[str], NoDecode] = []

    launch_state_ttl_seconds: int = Field(default=600, ge=30)
    launch_data_ttl_seconds: int = Field(default=86400, ge=60)
    # A frame session's token (lti_tool/cookieless.py) is refused this long after it was issued.
    cookieless_token_ttl_seconds: int = Field(default=3600, ge=600, le=28800)
    jwks_cache_ttl_seconds: int = Field(default=3600, ge=0)
    jwks_min_refetch_seconds: int = Field(default=5, ge=0)
    clock_skew_seconds: int = Field(default=60, ge=0, le=600)
    # The most one request to an LMS may take in all (connect, headers, body); see lti_tool/lti/outbound.py.
    platform_http_timeout_seconds: float = Field(default=10.0, gt=0)
    # Loopback, private and other non-public networks (CIDRs) the tool may connect to; empty: none.
    allowed_private_networks: tuple[IPvAnyNetwork, ...] = ()
    # Dynamic registrations running at once in one process; more are answered 503, so they never take every thread.
    dynamic_registration_concurrency: int = Field(default=2, ge=1, le=64)
    roster_sync_interval_seconds: int = Field(default=3600, ge=0)

    sandbox_enabled: bool = False
    # Signs in to the tool's admin page (/lti/admin); empty: generated into <instance>/admin_token on first start.
    admin_token: SecretStr = SecretStr("")

    public_base_url: str = ""
    lrs_endpoint: str = ""
    lrs_username: str = ""
    lrs_password: SecretStr = SecretStr("")
    xapi_base_iri: str = DEFAULT_BASE
    xapi_actor_include_name: bool = False
    xapi_actor_use_email: bool = False
    xapi_batch_size: int = Field(default=100, ge=1, le=1000)
    xapi_poll_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    xapi_claim_lease_seconds: int = Field(default=60, ge=1)
    xapi_retry_cap_seconds: float = Field(default=300.0, ge=1)
    scores_poll_interval_seconds: float = Field(default=2.0, gt=0, le=60)
    scores_retry_cap_seconds: float = Field(default=900.0, ge=1)
    matching_jobs_from: int = Field(default=1000, ge=0)
    jobs_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    jobs_lease_seconds: int = Field(default=60, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("database_url must be a sqlite:// or postgresql+psycopg:// URL")
        return value

    @field_validator("public_base_url", "lrs_endpoint", "xapi_base_iri")
    @classmethod
    def _http_url_or_empty(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _host_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list):
            return value
        hosts = [host.strip().lower() if isinstance(host, str) else host for host in value]
        if any(isinstance(host, str) and ("/" in host or ":" in host) for host in hosts):
            raise ValueError("list host names only (mentor.example.edu), without scheme, port or path")
        return [host for host in hosts if host != ""]

    @field_validator("admin_token")
    @classmethod
    def _long_admin_token(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < 24:
            raise ValueError("must be at least 24 characters (or empty, to generate one)")
        return value

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_path / 'mentor-lti.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit overrides (tests, CLI), then the environment, then the TOML files.
        instance = _instance_path(init_settings())
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=instance / "config.toml"),
            TomlConfigSettingsSource(settings_cls, toml_file=resource_path("config") / "default.toml"),
        )


def _instance_path(overrides: dict[str, Any]) -> Path:
    return Path(overrides.get("instance_path") or os.environ.get(f"{ENV_PREFIX}INSTANCE_PATH") or "instance")


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Validate every layer once; create the instance folder and its secret key on first start."""
    settings = Settings(**(overrides or {}))
    instance = settings.instance_path.resolve()
    instance.mkdir(parents=True, exist_ok=True)
    updates: dict[str, Any] = {"instance_path": instance}
    if not settings.secret_key:
        updates["secret_key"] = _instance_secret(instance)
    if not settings.admin_token.get_secret_value():
        updates["admin_token"] = SecretStr(_instance_secret(instance, "admin_token"))
    return settings.model_copy(update=updates)


def _instance_secret(instance: Path, name: str = "secret_key") -> str:
    path = instance / name
    if not path.exists():
        # O_EXCL: when two processes start at once, one writes and the other reads its key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()
