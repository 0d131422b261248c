"""The prompts the model-backed AI adapters send, versioned and shipped as package data.

Each prompt is a Markdown file ``<name>_v<N>.md`` in this package with two sections, ``##
system`` and ``## user``; an HTML comment before them is documentation and is not sent. The
user section is a :class:`string.Template`: ``$request`` is filled in per call, ``$$`` is a
literal dollar sign.

A prompt is never edited once released: a new wording is a new file (``generate_v2.md``), so
its version string (``"generate-v2"``), recorded with every draft and review and part of every
cache key, always names the words that produced a result.

This module uses the standard library and attrs only: any layer may read prompts.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from importlib import resources

import attrs

__all__ = ["Prompt", "load_prompt", "prompt_versions"]

_FILE = re.compile(r"(?P<name>[a-z][a-z0-9_]*?)_v(?P<version>[1-9][0-9]*)\.md")
_VERSION_STRING = re.compile(r"(?P<name>[a-z][a-z0-9_]*)-v(?P<version>[1-9][0-9]*)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SECTION = re.compile(r"^##[ \t]+(system|user)[ \t]*$", re.MULTILINE | re.IGNORECASE)


@attrs.frozen(kw_only=True)
class Prompt:
    """One version of one prompt: the system message and the user message's template."""

    name: str
    #: What results record: ``"<name>-v<N>"``, e.g. ``"generate-v1"``.
    version: str
    system: str
    user_template: str

    @property
    def placeholders(self) -> frozenset[str]:
        """The ``$names`` the user template needs."""
        return frozenset(string.Template(self.user_template).get_identifiers())

    def render(self, **values: str) -> str:
        """The user message with every placeholder filled.

        ``ValueError`` when a placeholder has no value or a value has no placeholder (a typo
        would otherwise silently send a prompt missing its data). Values are inserted as they
        are: nothing in them is read as a placeholder.
        """
        missing = self.placeholders - values.keys()
        unknown = values.keys() - self.placeholders
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"no value for {', '.join(sorted(missing))}")
            if unknown:
                problems.append(f"no placeholder for {', '.join(sorted(unknown))}")
            raise ValueError(f"prompt {self.version}: {'; '.join(problems)}")
        return string.Template(self.user_template).substitute(values)


def prompt_versions() -> Mapping[str, tuple[int, ...]]:
    """Every prompt shipped, with its versions in ascending order."""
    found: dict[str, list[int]] = {}
    for entry in resources.files(__name__).iterdir():
        match = _FILE.fullmatch(entry.name)
        if match is not None and entry.is_file():
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: tuple(sorted(versions)) for name, versions in sorted(found.items())}


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The prompt ``name`` (``"generate"``, ``"review"``) at ``version``, the latest by default.

    ``name`` may also be a recorded version string such as ``"generate-v1"``. ``LookupError``
    names what exists when there is no such prompt; ``ValueError`` when its file is not laid
    out as this module describes.
    """
    recorded = _VERSION_STRING.fullmatch(name)
    if recorded is not None:
        if version is not None and version != int(recorded["version"]):
            raise ValueError(f"{name!r} names version {recorded['version']}, not {version}")
        name, version = recorded["name"], int(recorded["version"])
    available = prompt_versions()
    versions = available.get(name)
    if not versions or (version is not None and version not in versions):
        shipped = ", ".join(f"{n}-v{v}" for n, vs in available.items() for v in vs)
        wanted = name if version is None else f"{name}-v{version}"
        raise LookupError(f"no prompt {wanted!r}; shipped prompts: {shipped or 'none'}")
    return _load(name, versions[-1] if version is None else version)


@functools.cache
def _load(name: str, version: int) -> Prompt:
    file_name = f"{name}_v{version}.md"
    text = resources.files(__name__).joinpath(file_name).read_text(encoding="utf-8")
    sections = _SECTION.split(_COMMENT.sub("", text))
    # split() with one group: [preamble, title1, body1, title2, body2]
    titles = [title.lower() for title in sections[1::2]]
    if titles != ["system", "user"] or sections[0].strip():
        raise ValueError(
            f"{file_name}: expected a '## system' then a '## user' section and nothing "
            f"before them but a comment, found {titles or 'no sections'}"
        )
    system, user_template = (body.strip() for body in sections[2::2])
    if not system or not user_template:
        raise ValueError(f"{file_name}: the system and user sections must not be empty")
    prompt = Prompt(
        name=name, version=f"{name}-v{version}", system=system, user_template=user_template
    )
    if not string.Template(user_template).is_valid():
        raise ValueError(f"{file_name}: a '$' in the user section is not a placeholder (write $$)")
    return prompt
