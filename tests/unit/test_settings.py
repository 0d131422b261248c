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


def test_the_ai_is_offline_unless_openai_is_asked_for_with_a_key() -> None:
    assert load_settings({}).ai == "offline"
    settings = load_settings(
        {
            "PROJECTONE_AI": "openai",
            "PROJECTONE_OPENAI_API_KEY": "sk-test",
            "PROJECTONE_OPENAI_BASE_URL": "http://127.0.0.1:8080/v1",
            "PROJECTONE_OPENAI_REVIEW_MODEL": "gpt-4.1-mini",
            "PROJECTONE_AI_COSTS_MONTHLY_BUDGET_INR": "10000.50",
            "PROJECTONE_AI_COSTS_GENERATIONS_PRO": "50",
            "PROJECTONE_AI_COSTS_PRICES": "my-model=10/20, gpt-4.1=150/600",
        }
    )
    assert settings.ai == "openai"
    assert settings.openai.base_url == "http://127.0.0.1:8080/v1"
    assert settings.openai.review_model == "gpt-4.1-mini"
    assert settings.ai_costs.generations_pro == 50
    assert settings.ai_costs.monthly_budget_inr == "10000.50"


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"PROJECTONE_AI": "openai"}, "PROJECTONE_OPENAI_API_KEY"),
        ({"PROJECTONE_AI": "gpt"}, "PROJECTONE_AI"),
        ({"PROJECTONE_AI_COSTS_PRICES": "gpt-4.1=cheap/600"}, "PROJECTONE_AI_COSTS_PRICES"),
        ({"PROJECTONE_AI_COSTS_PRICES": "gpt-4.1=-1/600"}, "PROJECTONE_AI_COSTS_PRICES"),
        (
            {"PROJECTONE_AI_COSTS_MONTHLY_BUDGET_INR": "lots"},
            "PROJECTONE_AI_COSTS_MONTHLY_BUDGET_INR",
        ),
        ({"PROJECTONE_OPENAI_TEMPERATURE": "3"}, "PROJECTONE_OPENAI_TEMPERATURE"),
    ],
)
def test_a_bad_ai_setting_is_refused_naming_it(environ: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ)
    assert caught.value.key == key
