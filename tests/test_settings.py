"""Settings layer as documented: config/default.toml < instance config.toml < MENTOR_LTI_* < explicit overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from lti_tool.settings import load_settings


def test_layers_override_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instance = tmp_path / "inst"
    instance.mkdir()
    (instance / "config.toml").write_text('tool_name = "From instance"\nlog_level = "DEBUG"\nclock_skew_seconds = 30\n')
    monkeypatch.setenv("MENTOR_LTI_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("MENTOR_LTI_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("MENTOR_LTI_CLOCK_SKEW_SECONDS", "20")
    settings = load_settings({"clock_skew_seconds": 10})
    assert settings.tool_name == "From instance"  # instance file over default.toml
    assert settings.log_level == "WARNING"  # environment over instance file
    assert settings.clock_skew_seconds == 10  # overrides over environment
    assert settings.jwks_cache_ttl_seconds == 3600  # default.toml
    assert settings.instance_path == instance.resolve()


def test_sqlite_in_the_instance_folder_is_the_default(tmp_path: Path) -> None:
    settings = load_settings({"instance_path": tmp_path})
    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path.resolve() / 'mentor-lti.sqlite3'}"


def test_secret_key_is_created_once_in_the_instance_folder(tmp_path: Path) -> None:
    first = load_settings({"instance_path": tmp_path}).secret_key
    assert len(first) >= 40
    assert load_settings({"instance_path": tmp_path}).secret_key == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("setting", "value"),
    [("database_url", "mysql://x"), ("cookie_samesite", "Sometimes"), ("trusted_proxies", -1), ("no_such", 1)],
)
def test_invalid_settings_are_refused_with_the_setting_named(tmp_path: Path, setting: str, value: object) -> None:
    with pytest.raises(ValidationError, match=setting):
        load_settings({"instance_path": tmp_path, setting: value})
