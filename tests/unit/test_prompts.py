"""The versioned prompts: package data found by importlib.resources, parsed into a Prompt."""

from __future__ import annotations

from importlib import resources

import pytest

from projectone.prompts import Prompt, load_prompt, prompt_versions

__all__: list[str] = []


def test_the_prompt_files_ship_as_package_data() -> None:
    package = resources.files("projectone.prompts")
    assert package.joinpath("generate_v1.md").is_file()
    assert package.joinpath("review_v1.md").is_file()
    assert prompt_versions()["generate"] == (1,)
    assert prompt_versions()["review"] == (1,)


@pytest.mark.parametrize(
    ("name", "placeholders"),
    [("generate", {"request"}), ("review", {"language", "advisor", "text"})],
)
def test_each_prompt_has_a_system_message_and_a_user_template_with_its_placeholders(
    name: str, placeholders: set[str]
) -> None:
    prompt = load_prompt(name)

    assert prompt.name == name
    assert prompt.version == f"{name}-v1"
    assert prompt.system
    assert "<!--" not in prompt.system
    assert "## user" not in prompt.system
    assert prompt.placeholders == placeholders


def test_a_recorded_version_string_loads_that_version() -> None:
    assert load_prompt("generate-v1") == load_prompt("generate", 1) == load_prompt("generate")


def test_an_unknown_prompt_or_version_names_what_ships() -> None:
    with pytest.raises(LookupError, match="generate-v1"):
        load_prompt("summarise")
    with pytest.raises(LookupError, match="review-v1"):
        load_prompt("review", 9)


def test_render_fills_every_placeholder_and_takes_values_literally() -> None:
    prompt = load_prompt("review")

    text = prompt.render(language="en (English)", advisor="{}", text="Costs $5, not $text")

    assert "Costs $5, not $text" in text
    assert "Language: en (English)" in text


def test_render_refuses_a_missing_or_unknown_value() -> None:
    prompt = Prompt(name="p", version="p-v1", system="s", user_template="Hello $name")

    with pytest.raises(ValueError, match="no value for name"):
        prompt.render()
    with pytest.raises(ValueError, match="no placeholder for nmae"):
        prompt.render(name="x", nmae="y")
