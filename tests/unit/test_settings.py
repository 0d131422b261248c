from __future__ import annotations

from pathlib import Path

import pytest

from projectone.domain import ConfigurationError
from projectone.settings import Settings, load_settings


def test_no_settings_at_all_means_a_sqlite_file_and_the_simulator(tmp_path: Path) -> None:
    settings = load_settings({"XDG_DATA_HOME": str(tmp_path)})
    assert settings == Settings()
    assert settings.whatsapp.simulated
    # The default location is resolved lazily, from the user's data folder.
    assert settings.database_url is None


def test_environment_variables_fill_nested_settings() -> None:
    settings = load_settings(
        {
            "PROJECTONE_DATABASE_URL": "postgresql://u@db/p",
            "PROJECTONE_WHATSAPP_ACCESS_TOKEN": "EAAG-token",
            "PROJECTONE_WHATSAPP_TIMEOUT_SECONDS": "2.5",
            "PROJECTONE_DISPATCH_CONCURRENCY": "64",
            "PROJECTONE_TEST_POSTGRES_URL": "ignored: belongs to the test suite",
            "HOME": "/root",
        }
    )
    assert settings.resolved_database_url == "postgresql://u@db/p"
    assert settings.whatsapp.access_token == "EAAG-token"
    assert not settings.whatsapp.simulated
    assert settings.whatsapp.timeout_seconds == 2.5
    assert settings.dispatch.concurrency == 64


def test_a_toml_file_is_read_and_the_environment_wins_over_it(tmp_path: Path) -> None:
    config = tmp_path / "projectone.toml"
    config.write_text(
        'database_url = "sqlite:///from-file.db"\n[whatsapp]\nphone_number_id = "123"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        {"PROJECTONE_CONFIG": str(config), "PROJECTONE_DATABASE_URL": "sqlite:///env.db"}
    )
    assert settings.database_url == "sqlite:///env.db"
    assert settings.whatsapp.phone_number_id == "123"


def test_a_misspelt_setting_is_an_error_not_a_silent_default() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"PROJECTONE_DATABSE_URL": "sqlite:///x.db"})
    assert caught.value.key == "PROJECTONE_DATABSE_URL"


@pytest.mark.parametrize(
    "environ",
    [
        {"PROJECTONE_DISPATCH_CONCURRENCY": "many"},
        {"PROJECTONE_DISPATCH_CONCURRENCY": "0"},
        {"PROJECTONE_WHATSAPP_TIMEOUT_SECONDS": "-1"},
    ],
)
def test_a_malformed_value_is_a_configuration_error_naming_the_variable(
    environ: dict[str, str],
) -> None:
    (name,) = environ
    with pytest.raises(ConfigurationError) as raised:
        load_settings(environ)
    assert raised.value.key == name
    assert str(raised.value).startswith(f"{name}: ")


def test_an_unreadable_settings_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings({"PROJECTONE_CONFIG": str(tmp_path / "missing.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("database_url = ", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_settings({"PROJECTONE_CONFIG": str(bad)})
