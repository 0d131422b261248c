"""The examples of docs/rules.md run: the rule language reference cannot drift from the code."""

from __future__ import annotations

import doctest
from pathlib import Path

RULES_MD = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_rules_reference_examples_run() -> None:
    result = doctest.testfile(
        str(RULES_MD),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"
    assert result.attempted >= 8
