"""Rulebooks: versioned sets of rules in TOML, loaded whole or not at all, and checked.

Loading parses and type-checks every rule and compiles the set (one phrase automaton, RE2
regexes). Any problem, in any rule, rejects the whole rulebook with every problem listed,
each with its line and column in the TOML text.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from projectone.domain.compliance.ast import Expr
from projectone.domain.compliance.compiled import CompiledRules
from projectone.domain.compliance.errors import RuleError, RuleProblem, locate
from projectone.domain.compliance.evaluate import (
    Outcome,
    Span,
    Subject,
    regexes_of,
)
from projectone.domain.compliance.parser import parse
from projectone.domain.compliance.regex import RegexError, compile_guarded
from projectone.domain.compliance.types import check_types

__all__ = [
    "AutoFix",
    "Category",
    "CheckReport",
    "Rule",
    "Rulebook",
    "Severity",
    "Verdict",
    "Violation",
    "parse_rulebook",
    "risk_score",
    "violation_of",
]


class Severity(enum.StrEnum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class Category(enum.StrEnum):
    SEBI_MANDATORY = "sebi_mandatory"
    SEBI_RECOMMENDED = "sebi_recommended"
    PLATFORM_POLICY = "platform_policy"
    DPDP_COMPLIANCE = "dpdp_compliance"


class Verdict(enum.StrEnum):
    PASS = "pass"
    REVIEW = "review"
    BLOCK = "block"


# How much of the remaining headroom each violation takes: the score is
# 100 * (1 - Π(1 - w/100)), so adding a violation can only raise it, and it never passes 100.
SEVERITY_WEIGHT = {
    Severity.INFO: 3,
    Severity.WARNING: 12,
    Severity.ERROR: 30,
    Severity.CRITICAL: 60,
}
_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]*")
_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LANGUAGES = frozenset({"en", "hi", "mr"})
_ADVISOR_TYPES = frozenset({"RIA", "MFD"})


def risk_score(severities: Iterable[Severity]) -> int:
    """0–100; monotonic: one more violation never lowers it."""
    remaining = 1.0
    for severity in severities:
        remaining *= 1 - SEVERITY_WEIGHT[severity] / 100
    return round(100 * (1 - remaining))


@attrs.frozen(kw_only=True)
class AutoFix:
    """``append``: add ``text[language]`` to ``field``; ``replace``: replace ``phrases`` in
    every text field by ``replacement[language]``."""

    action: str
    field: str = "disclaimer"
    text: Mapping[str, str] = attrs.field(factory=dict)
    phrases: tuple[str, ...] = ()
    replacement: Mapping[str, str] = attrs.field(factory=dict)

    def available_for(self, language: str) -> bool:
        table = self.text if self.action == "append" else self.replacement
        return language in table


@attrs.frozen(kw_only=True)
class Rule:
    id: str
    name: str
    category: Category
    severity: Severity
    when: str
    expr: Expr = attrs.field(repr=False)
    message: str
    suggestion: str = ""
    reference: str = ""
    order: int = 0
    requires_human: bool = False
    advisor_types: frozenset[str] | None = None
    languages: frozenset[str] | None = None
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    auto_fix: AutoFix | None = None

    def applies(self, subject: Subject, on: dt.date | None) -> bool:
        if self.advisor_types is not None and subject.get("advisor.type") not in self.advisor_types:
            return False
        if self.languages is not None and subject.language not in self.languages:
            return False
        if on is not None and self.effective_from is not None and on < self.effective_from:
            return False
        return not (
            on is not None and self.effective_until is not None and on >= self.effective_until
        )


@attrs.frozen(kw_only=True)
class Violation:
    rule_id: str
    name: str
    severity: Severity
    category: Category
    message: str
    suggestion: str
    reference: str
    language: str
    evidence: tuple[Span, ...] = ()
    requires_human: bool = False
    error: str | None = None

    @property
    def start(self) -> int | None:
        return self.evidence[0].start if self.evidence else None

    @property
    def end(self) -> int | None:
        return self.evidence[0].end if self.evidence else None

    @property
    def field(self) -> str | None:
        return self.evidence[0].field if self.evidence else None

    @property
    def excerpt(self) -> str | None:
        return self.evidence[0].excerpt if self.evidence else None


@attrs.frozen(kw_only=True)
class CheckReport:
    verdict: Verdict
    risk_score: int
    violations: tuple[Violation, ...]
    rulebook_version: str
    language: str


_CACHE_SIZE = 256  # entries of each per-rulebook cache (their keys come from the posts)


@attrs.frozen(kw_only=True)
class Rulebook:
    version: str
    name: str
    description: str = ""
    rules: tuple[Rule, ...]
    review_threshold: int = 30
    block_threshold: int = 70
    parameters: Mapping[str, str] = attrs.field(factory=dict)
    compiled: CompiledRules = attrs.field(eq=False, repr=False)
    # The rules that apply, and their ids, per (advisor type, language, date): Rule.applies
    # reads nothing else, and a post would otherwise ask every rule every time.
    _applicable: dict[tuple[str, str, dt.date | None], tuple[tuple[Rule, ...], tuple[str, ...]]] = (
        attrs.field(init=False, factory=dict, eq=False, repr=False)
    )
    _bare_violations: dict[tuple[str, str], Violation] = attrs.field(
        init=False, factory=dict, eq=False, repr=False
    )

    def rule(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def check(self, subject: Subject, *, on: dt.date | None = None) -> CheckReport:
        """Check one language variant; never raises on any text."""
        language = subject.language
        applicable, rule_ids = self._rules_for(subject, language, on)
        outcomes = self.compiled.evaluate(subject, rule_ids)
        # The outcomes come in the order of ``rule_ids``, one per rule when the ids are unique
        # (as a loaded rulebook's are).
        pairs: Iterable[tuple[Rule, Outcome]] = (
            zip(applicable, outcomes.values(), strict=True)
            if len(outcomes) == len(applicable)
            else ((rule, outcomes[rule.id]) for rule in applicable)
        )
        violations = [
            self._violation(rule, outcome, language) for rule, outcome in pairs if outcome.violated
        ]
        return self.judge(violations, language)

    def _violation(self, rule: Rule, outcome: Outcome, language: str) -> Violation:
        """:func:`violation_of`; one shared (immutable) Violation per rule and language when
        there is neither evidence nor error, as for a missing warning."""
        if outcome.evidence or outcome.error is not None:
            return violation_of(rule, outcome, language)
        key = (rule.id, language)
        found = self._bare_violations.get(key)
        if found is None:
            found = violation_of(rule, outcome, language)
            if len(self._bare_violations) >= _CACHE_SIZE:  # the languages come from the posts
                self._bare_violations.clear()
            self._bare_violations[key] = found
        return found

    def _rules_for(
        self, subject: Subject, language: str, on: dt.date | None
    ) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
        """The rules that apply to ``subject`` (in ``language``) on ``on``, in order, and their
        ids."""
        key = (subject.get("advisor.type"), language, on)
        found = self._applicable.get(key)
        if found is None:
            rules = tuple(rule for rule in self.rules if rule.applies(subject, on))
            found = (rules, tuple(rule.id for rule in rules))
            if len(self._applicable) >= _CACHE_SIZE:
                self._applicable.clear()
            self._applicable[key] = found
        return found

    def judge(self, violations: Sequence[Violation], language: str) -> CheckReport:
        """Score ``violations`` and decide the verdict (DESIGN.md §3.2)."""
        score = risk_score(v.severity for v in violations)
        if any(v.severity is Severity.CRITICAL for v in violations) or (
            score >= self.block_threshold
        ):
            verdict = Verdict.BLOCK
        elif score >= self.review_threshold or any(v.requires_human or v.error for v in violations):
            verdict = Verdict.REVIEW
        else:
            verdict = Verdict.PASS
        return CheckReport(
            verdict=verdict,
            risk_score=score,
            violations=tuple(violations),
            rulebook_version=self.version,
            language=language,
        )


def violation_of(rule: Rule, outcome: Outcome, language: str) -> Violation:
    """The violation ``rule`` reports for ``outcome`` in ``language``."""
    return Violation(
        rule_id=rule.id,
        name=rule.name,
        severity=rule.severity,
        category=rule.category,
        message=rule.message,
        suggestion=rule.suggestion,
        reference=rule.reference,
        language=language,
        evidence=outcome.evidence,
        requires_human=rule.requires_human,
        error=outcome.error,
    )


# -- loading -----------------------------------------------------------------------------------


def _when_position(source: str, index: int) -> tuple[int, int]:
    """(0-based line, column offset) where the ``when`` expression of the ``index``-th
    ``[[rules]]`` table starts in the TOML ``source``; (0, 0) if it cannot be found."""
    lines = source.splitlines()
    seen = -1
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[[rules]]"):
            seen += 1
        elif stripped.startswith("[") and not stripped.startswith("[rules."):
            if seen == index:
                break
        elif seen == index:
            m = re.match(r"\s*when\s*=\s*", line)
            if m is None:
                continue
            rest = line[m.end() :]
            for quote in ("'''", '"""', "'", '"'):
                if rest.startswith(quote):
                    column = m.end() + len(quote)
                    if len(quote) == 3 and not line[column:].strip():
                        return number + 1, 0  # TOML drops the newline after '''
                    return number, column
    return 0, 0


class _Loader:
    def __init__(self, source: str, parameters: Mapping[str, str]) -> None:
        self.source = source
        self.parameters = dict(parameters)
        self.problems: list[RuleProblem] = []

    def problem(
        self,
        message: str,
        rule_id: str | None = None,
        line: int = 1,
        column: int = 1,
        excerpt: str = "",
    ) -> None:
        self.problems.append(
            RuleProblem(message=message, line=line, column=column, excerpt=excerpt, rule_id=rule_id)
        )

    def substitute(self, text: str, rule_id: str | None) -> str:
        def value(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in self.parameters:
                self.problem(f"unknown parameter ${{{name}}}", rule_id)
                return m.group()
            return self.parameters[name]

        return _PARAM.sub(value, text)

    def text_table(self, raw: Any, where: str, rule_id: str) -> dict[str, str]:
        if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
            self.problem(f"{where} must be a table of language = text", rule_id)
            return {}
        unknown = set(raw) - _LANGUAGES
        if unknown:
            self.problem(f"{where} has unknown languages {sorted(unknown)}", rule_id)
        return {k: self.substitute(v, rule_id) for k, v in raw.items()}

    def auto_fix(self, raw: Any, rule_id: str) -> AutoFix | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problem("auto_fix must be a table", rule_id)
            return None
        action = raw.get("action")
        if action == "append":
            field = raw.get("field", "disclaimer")
            if field not in ("title", "body", "cta", "disclaimer"):
                self.problem(f"auto_fix.field {field!r} is not a text field", rule_id)
            return AutoFix(
                action="append",
                field=field,
                text=self.text_table(raw.get("text"), "auto_fix.text", rule_id),
            )
        if action == "replace":
            phrases = raw.get("phrases")
            if (
                not isinstance(phrases, list)
                or not phrases
                or not all(isinstance(p, str) and p.strip() for p in phrases)
            ):
                self.problem("auto_fix.phrases must be a list of phrases", rule_id)
                phrases = []
            return AutoFix(
                action="replace",
                phrases=tuple(phrases),
                replacement=self.text_table(raw.get("with"), "auto_fix.with", rule_id),
            )
        self.problem("auto_fix.action must be 'append' or 'replace'", rule_id)
        return None

    def choice(
        self, raw: Mapping[str, Any], key: str, kind: type[enum.StrEnum], rule_id: str
    ) -> Any:
        try:
            return kind(str(raw.get(key)))
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            self.problem(f"{key} must be one of {allowed}, got {raw.get(key)!r}", rule_id)
            return None

    def set_of(
        self, raw: Any, key: str, allowed: frozenset[str], rule_id: str
    ) -> frozenset[str] | None:
        if raw is None:
            return None
        if not isinstance(raw, list) or not set(raw) <= allowed or not raw:
            self.problem(f"applies_to.{key} must be a non-empty list of {sorted(allowed)}", rule_id)
            return None
        return frozenset(raw)

    def date(self, raw: Any, key: str, rule_id: str) -> dt.date | None:
        if raw is None or (isinstance(raw, dt.date) and not isinstance(raw, dt.datetime)):
            return raw
        self.problem(f"{key} must be a TOML date such as 2023-05-01", rule_id)
        return None

    def rule(self, index: int, raw: Any, seen: set[str]) -> Rule | None:
        if not isinstance(raw, Mapping):
            self.problem(f"rules[{index}] must be a table")
            return None
        rule_id = raw.get("id")
        if not isinstance(rule_id, str) or _ID.fullmatch(rule_id) is None:
            self.problem(f"rules[{index}].id must be UPPER-CASE letters, digits, - or _", None)
            rule_id = f"rules[{index}]"
        elif rule_id in seen:
            self.problem(f"duplicate rule id {rule_id}", rule_id)
        seen.add(rule_id)
        known = {
            "id",
            "name",
            "category",
            "severity",
            "when",
            "message",
            "suggestion",
            "reference",
            "order",
            "requires_human",
            "applies_to",
            "effective_from",
            "effective_until",
            "auto_fix",
        }
        for key in sorted(set(raw) - known):
            self.problem(f"unknown key {key!r}", rule_id)
        for key in ("name", "when", "message"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                self.problem(f"{key} is required (text)", rule_id)
        for key in ("suggestion", "reference"):
            if not isinstance(raw.get(key, ""), str):
                self.problem(f"{key} must be text", rule_id)
        category = self.choice(raw, "category", Category, rule_id)
        severity = self.choice(raw, "severity", Severity, rule_id)
        order = raw.get("order", 0)
        if not isinstance(order, int) or isinstance(order, bool):
            self.problem("order must be a whole number", rule_id)
            order = 0
        requires_human = raw.get("requires_human", False)
        if not isinstance(requires_human, bool):
            self.problem("requires_human must be true or false", rule_id)
        applies = raw.get("applies_to", {})
        if not isinstance(applies, Mapping) or set(applies) - {"advisor_types", "languages"}:
            self.problem("applies_to takes advisor_types and languages", rule_id)
            applies = {}
        expr = self.expression(index, raw.get("when"), rule_id)
        auto_fix = self.auto_fix(raw.get("auto_fix"), rule_id)
        if expr is None or category is None or severity is None:
            return None
        return Rule(
            id=rule_id,
            name=str(raw.get("name", "")),
            category=category,
            severity=severity,
            when=str(raw["when"]),
            expr=expr,
            message=self.substitute(str(raw.get("message", "")), rule_id),
            suggestion=self.substitute(str(raw.get("suggestion", "")), rule_id),
            reference=str(raw.get("reference", "")),
            order=order,
            requires_human=bool(requires_human),
            advisor_types=self.set_of(
                applies.get("advisor_types"), "advisor_types", _ADVISOR_TYPES, rule_id
            ),
            languages=self.set_of(applies.get("languages"), "languages", _LANGUAGES, rule_id),
            effective_from=self.date(raw.get("effective_from"), "effective_from", rule_id),
            effective_until=self.date(raw.get("effective_until"), "effective_until", rule_id),
            auto_fix=auto_fix,
        )

    def expression(self, index: int, when: Any, rule_id: str) -> Expr | None:
        if not isinstance(when, str) or not when.strip():
            return None
        source = self.substitute(when, rule_id)
        line0, column0 = _when_position(self.source, index)

        def at(pos: int) -> tuple[int, int, str]:
            return locate(source, pos, line_offset=line0, column_offset=column0)

        try:
            expr = parse(source)
        except RuleError as exc:
            for p in exc.problems:
                # Re-anchor the expression-relative position in the file.
                line = p.line + line0
                column = p.column + (column0 if p.line == 1 else 0)
                self.problems.append(attrs.evolve(p, line=line, column=column, rule_id=rule_id))
            return None
        ok = True
        for tp in check_types(expr):
            line, column, excerpt = at(tp.pos)
            self.problem(tp.message, rule_id, line, column, excerpt)
            ok = False
        for pattern in sorted(regexes_of(expr)):
            try:
                compile_guarded(pattern)
            except RegexError as exc:
                pos = source.find(pattern)
                line, column, excerpt = at(max(pos, 0))
                self.problem(f"invalid regular expression: {exc}", rule_id, line, column, excerpt)
                ok = False
        return expr if ok else None


def _parameter_text(value: Any) -> str:
    """What ``${name}`` stands for: text as is; a list of texts as a rule-language list."""
    if isinstance(value, list):
        return "[" + ", ".join("'" + str(v).replace("'", "''") + "'" for v in value) + "]"
    return str(value)


def parse_rulebook(source: str, *, parameters: Mapping[str, str] | None = None) -> Rulebook:
    """Load a rulebook from TOML text; ``RuleError`` listing every problem if any.

    ``parameters`` override the rulebook's ``[parameters]`` (e.g. ``supervisory_body``).
    """
    try:
        doc = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+), column (\d+)", str(exc))
        line, column = (int(m.group(1)), int(m.group(2))) if m else (1, 1)
        text = source.splitlines()[line - 1] if 0 < line <= len(source.splitlines()) else ""
        raise RuleError(
            [
                RuleProblem(
                    message=f"not valid TOML: {exc}",
                    line=line,
                    column=column,
                    excerpt=f"{text}\n{' ' * (column - 1)}^",
                )
            ]
        ) from None
    head = doc.get("rulebook", {})
    raw_params = doc.get("parameters", {})
    params = {str(k): _parameter_text(v) for k, v in raw_params.items()}
    params.update(parameters or {})
    loader = _Loader(source, params)
    for name, value in raw_params.items():
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            loader.problem(f"parameter {name!r}: a list parameter holds text items only")
    if not isinstance(head, Mapping) or not isinstance(head.get("version"), str):
        loader.problem("[rulebook] needs a version (text)")
        head = {} if not isinstance(head, Mapping) else head
    scoring = doc.get("scoring", {})
    review = scoring.get("review_threshold", 30) if isinstance(scoring, Mapping) else 30
    block = scoring.get("block_threshold", 70) if isinstance(scoring, Mapping) else 70
    if not (isinstance(review, int) and isinstance(block, int) and 0 < review <= block <= 100):
        loader.problem("scoring needs 0 < review_threshold <= block_threshold <= 100")
    raw_rules = doc.get("rules", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        loader.problem("a rulebook needs at least one [[rules]] table")
        raw_rules = []
    seen: set[str] = set()
    rules = [r for i, raw in enumerate(raw_rules) if (r := loader.rule(i, raw, seen))]
    if loader.problems:
        raise RuleError(loader.problems)
    rules.sort(key=lambda r: (r.order, r.id))
    return Rulebook(
        version=str(head["version"]),
        name=str(head.get("name", "")),
        description=str(head.get("description", "")),
        rules=tuple(rules),
        review_threshold=review,
        block_threshold=block,
        parameters=params,
        compiled=CompiledRules({r.id: r.expr for r in rules}),
    )
