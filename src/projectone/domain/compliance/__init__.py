"""The compliance engine: rule language, rulebooks, text matching and negation (DESIGN.md §3.2).

Typical use::

    rulebook = parse_rulebook(toml_text)
    report = rulebook.check(Subject.of(body="Guaranteed returns!", advisor_type="MFD"))
    report.verdict, report.risk_score, report.violations
"""

from projectone.domain.compliance.ast import (
    BinaryOp,
    BoolLit,
    Call,
    Expr,
    FieldRef,
    ListLit,
    Not,
    NumberLit,
    Op,
    StringLit,
)
from projectone.domain.compliance.compiled import CompiledRules
from projectone.domain.compliance.errors import RuleError, RuleProblem
from projectone.domain.compliance.evaluate import (
    Outcome,
    Span,
    Subject,
    evaluate_reference,
)
from projectone.domain.compliance.fix import FixResult, auto_fix
from projectone.domain.compliance.matcher import PhraseMatcher
from projectone.domain.compliance.negation import NEGATION_CUES, is_negated
from projectone.domain.compliance.parser import parse
from projectone.domain.compliance.printer import to_source
from projectone.domain.compliance.regex import RegexError, compile_guarded
from projectone.domain.compliance.rulebook import (
    AutoFix,
    Category,
    CheckReport,
    Rule,
    Rulebook,
    Severity,
    Verdict,
    Violation,
    parse_rulebook,
    risk_score,
)
from projectone.domain.compliance.text import NormalizedText, normalize, normalize_phrase
from projectone.domain.compliance.types import FIELDS, FUNCTIONS, check_types

__all__ = [
    "FIELDS",
    "FUNCTIONS",
    "NEGATION_CUES",
    "AutoFix",
    "BinaryOp",
    "BoolLit",
    "Call",
    "Category",
    "CheckReport",
    "CompiledRules",
    "Expr",
    "FieldRef",
    "FixResult",
    "ListLit",
    "NormalizedText",
    "Not",
    "NumberLit",
    "Op",
    "Outcome",
    "PhraseMatcher",
    "RegexError",
    "Rule",
    "RuleError",
    "RuleProblem",
    "Rulebook",
    "Severity",
    "Span",
    "StringLit",
    "Subject",
    "Verdict",
    "Violation",
    "auto_fix",
    "check_types",
    "compile_guarded",
    "evaluate_reference",
    "is_negated",
    "normalize",
    "normalize_phrase",
    "parse",
    "parse_rulebook",
    "risk_score",
    "to_source",
]
