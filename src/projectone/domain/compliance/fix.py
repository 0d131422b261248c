"""Automatic fixes: append a missing mandatory text, replace a forbidden phrase.

A fix is applied only for a rule that is violated, so fixing fixed text changes nothing
(``auto_fix(auto_fix(s)) == auto_fix(s)`` as long as each fix resolves its own rule, which the
default rulebook's tests check rule by rule).
"""

from __future__ import annotations

import datetime as dt

import attrs

from projectone.domain.compliance.evaluate import Subject
from projectone.domain.compliance.matcher import reference_find
from projectone.domain.compliance.negation import is_negated
from projectone.domain.compliance.rulebook import AutoFix, Rulebook
from projectone.domain.compliance.text import normalize, normalize_phrase

__all__ = ["FixResult", "auto_fix"]


@attrs.frozen(kw_only=True)
class FixResult:
    subject: Subject
    applied: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def _append(parts: dict[str, str], fix: AutoFix, language: str) -> bool:
    addition = fix.text[language]
    current = parts[fix.field]
    if normalize_phrase(addition) and normalize_phrase(addition) in normalize(current).text:
        return False
    parts[fix.field] = f"{current.rstrip()} {addition}" if current.strip() else addition
    return True


def _replace(parts: dict[str, str], fix: AutoFix, language: str) -> bool:
    """Replace the affirmed occurrences of the fix's phrases; negated ones ("we do not offer
    guaranteed returns") say the opposite of a promise and are kept as written."""
    replacement = fix.replacement[language]
    changed = False
    for name, raw in parts.items():
        norm = normalize(raw)
        breaks = norm.line_breaks()
        found = reference_find(list(fix.phrases), norm.text)
        spans = sorted(
            {
                norm.original_span(s, e)
                for spans in found.values()
                for s, e in spans
                if not is_negated(norm.text, s, e, language, breaks)
            },
            reverse=True,
        )
        kept: list[tuple[int, int]] = []
        for start, end in spans:  # right to left, skipping overlaps
            if kept and end > kept[-1][0]:
                continue
            kept.append((start, end))
        for start, end in kept:
            raw = raw[:start] + replacement + raw[end:]
            changed = True
        parts[name] = raw
    return changed


def auto_fix(rulebook: Rulebook, subject: Subject, *, on: dt.date | None = None) -> FixResult:
    """Apply the auto-fix of every violated rule that has one for the subject's language."""
    report = rulebook.check(subject, on=on)
    parts = subject.parts
    applied: list[str] = []
    for violation in report.violations:
        fix = rulebook.rule(violation.rule_id).auto_fix
        if fix is None or not fix.available_for(subject.language):
            continue
        done = (_append if fix.action == "append" else _replace)(parts, fix, subject.language)
        if done:
            applied.append(violation.rule_id)
    if not applied:
        return FixResult(subject=subject, applied=())
    return FixResult(subject=subject.with_parts(parts), applied=tuple(applied))
