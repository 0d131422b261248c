"""Errors of the rule language: every problem carries its position and a caret excerpt."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from projectone.domain.errors import ProjectOneError

__all__ = ["RuleError", "RuleProblem", "locate"]


@attrs.frozen(kw_only=True)
class RuleProblem:
    """One thing wrong with a rule: ``line`` and ``column`` are 1-based."""

    message: str
    line: int
    column: int
    excerpt: str
    rule_id: str | None = None

    def format(self, filename: str | None = None) -> str:
        """``FILE:LINE:COL: message`` (``rule <id>:LINE:COL`` without a file)."""
        where = filename if filename is not None else f"rule {self.rule_id or '?'}"
        head = f"{where}:{self.line}:{self.column}: "
        rule = f"[{self.rule_id}] " if filename is not None and self.rule_id else ""
        return f"{head}{rule}{self.message}"


class RuleError(ProjectOneError):
    """A rule or rulebook was rejected; ``problems`` lists every problem found, in order."""

    code = "invalid_rule"

    def __init__(self, problems: Sequence[RuleProblem]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0] if self.problems else None
        summary = f"{first.format()}" if first else "invalid rule"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(summary + more)


def locate(
    source: str, pos: int, *, line_offset: int = 0, column_offset: int = 0
) -> tuple[int, int, str]:
    """(line, column, excerpt with a caret) of offset ``pos`` in ``source``.

    ``line_offset``/``column_offset`` shift the result when ``source`` sits inside a larger file
    (the column offset applies to the expression's first line only).
    """
    pos = max(0, min(pos, len(source)))
    line_start = source.rfind("\n", 0, pos) + 1
    line_end = source.find("\n", pos)
    line_end = len(source) if line_end == -1 else line_end
    line_no = source.count("\n", 0, pos) + 1
    column = pos - line_start + 1
    text = source[line_start:line_end]
    excerpt = f"{text}\n{' ' * (column - 1)}^"
    if line_no == 1:
        column += column_offset
    return line_no + line_offset, column, excerpt
