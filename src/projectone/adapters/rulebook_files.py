"""Reading rulebooks from files and from the package's own default rulebook."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from projectone.domain.compliance.errors import RuleError, RuleProblem
from projectone.domain.compliance.rulebook import Rulebook, parse_rulebook

__all__ = ["DEFAULT_RULEBOOK", "default_rulebook", "load_rulebook", "read_rulebook_text"]

DEFAULT_RULEBOOK = "sebi_amfi.toml"


def read_rulebook_text(path: str | Path) -> str:
    """The text of a rulebook file; ``RuleError`` if it cannot be read or is not UTF-8."""
    try:
        return Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RuleError(
            [RuleProblem(message=f"cannot read {path}: {reason}", line=1, column=1, excerpt="")]
        ) from None


def load_rulebook(path: str | Path, *, parameters: Mapping[str, str] | None = None) -> Rulebook:
    """Load and compile the rulebook at ``path`` (``RuleError`` listing every problem)."""
    return parse_rulebook(read_rulebook_text(path), parameters=parameters)


@functools.cache
def _default(parameters: tuple[tuple[str, str], ...]) -> Rulebook:
    text = resources.files("projectone.rulebooks").joinpath(DEFAULT_RULEBOOK).read_text("utf-8")
    return parse_rulebook(text, parameters=dict(parameters))


def default_rulebook(*, parameters: Mapping[str, str] | None = None) -> Rulebook:
    """The SEBI/AMFI rulebook shipped with projectone, compiled once per process.

    ``parameters`` override its ``[parameters]``, e.g. ``{"supervisory_body": "BSE"}``.
    """
    return _default(tuple(sorted((parameters or {}).items())))
