"""What rules are evaluated on, what they report, and the reference evaluator.

:class:`Subject` holds the fields of one language variant of a post; an :class:`Outcome` says
whether a rule is violated and where (:class:`Span`). :func:`evaluate_reference` walks one
expression and searches each phrase on its own: slow, obvious, and the yardstick that
:class:`~projectone.domain.compliance.compiled.CompiledRules`, the evaluator the engine runs,
must agree with.
"""

from __future__ import annotations

import bisect
import functools
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

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
from projectone.domain.compliance.matcher import reference_find
from projectone.domain.compliance.negation import is_negated_reference
from projectone.domain.compliance.regex import GuardedRegex, compile_guarded
from projectone.domain.compliance.text import (
    NormalizedText,
    is_word_char,
    normalize,
)
from projectone.domain.compliance.text import normalize_phrase as _normalize_phrase

# Rule literals are few and repeat on every post: normalise each once per process.
normalize_phrase = functools.lru_cache(maxsize=65536)(_normalize_phrase)

__all__ = [
    "PART_SEPARATOR",
    "PHRASE_FUNCTIONS",
    "TEXT_PARTS",
    "Outcome",
    "Span",
    "Subject",
    "compare",
    "evaluate_reference",
    "literals_of",
    "phrases_of",
    "reference_outcome",
    "regexes_of",
]

PHRASE_FUNCTIONS = frozenset({"CONTAINS", "CONTAINS_ALL", "AFFIRMS", "COUNT", "NEAR"})
#: The text fields of a post; ``text`` is the non-empty ones joined by ``PART_SEPARATOR``.
TEXT_PARTS = ("title", "body", "cta", "disclaimer")
#: A blank line: no phrase or clause runs across two parts.
PART_SEPARATOR = "\n\n"


@attrs.frozen
class Subject:
    """The values of every field for one language variant of a post."""

    values: Mapping[str, str]

    @classmethod
    def of(
        cls,
        *,
        title: str = "",
        body: str = "",
        cta: str = "",
        disclaimer: str = "",
        language: str = "en",
        advisor_type: str = "",
        advisor_reg_no: str = "",
        advisor_name: str = "",
        content_type: str = "",
        content_topic: str = "",
    ) -> Subject:
        parts = {"title": title, "body": body, "cta": cta, "disclaimer": disclaimer}
        return cls(
            {
                **parts,
                "text": PART_SEPARATOR.join(p for p in parts.values() if p),
                "language": language,
                "advisor.type": advisor_type,
                "advisor.sebi_reg_no": advisor_reg_no,
                "advisor.name": advisor_name,
                "content.type": content_type,
                "content.topic": content_topic,
            }
        )

    def get(self, field: str) -> str:
        return self.values.get(field, "")

    @property
    def parts(self) -> dict[str, str]:
        """The text parts: title, body, cta, disclaimer."""
        return {name: self.get(name) for name in TEXT_PARTS}

    def with_parts(self, parts: Mapping[str, str]) -> Subject:
        """The same subject with some text parts replaced (``text`` follows)."""
        merged = {**self.parts, **parts}
        values = {**self.values, **merged}
        values["text"] = PART_SEPARATOR.join(merged[p] for p in TEXT_PARTS if merged[p])
        return Subject(values)

    @property
    def language(self) -> str:
        return self.get("language")


@attrs.frozen
class Span:
    """Where a rule found what it looked for: ``[start, end)`` in the field's original text."""

    field: str
    start: int
    end: int
    excerpt: str


@attrs.frozen
class Outcome:
    violated: bool
    evidence: tuple[Span, ...] = ()
    error: str | None = None


def _walk(expr: Expr) -> Iterable[Expr]:
    yield expr
    match expr:
        case ListLit(items=items):
            for item in items:
                yield from _walk(item)
        case Call(args=args):
            for arg in args:
                yield from _walk(arg)
        case Not(operand=operand):
            yield from _walk(operand)
        case BinaryOp(left=left, right=right):
            yield from _walk(left)
            yield from _walk(right)


def literals_of(arg: Expr) -> list[str]:
    """The string literals of a phrase argument (one string or a list), in source order."""
    if isinstance(arg, StringLit):
        return [arg.value]
    if isinstance(arg, ListLit):
        return [i.value for i in arg.items if isinstance(i, StringLit)]
    return []


def phrases_of(expr: Expr) -> set[str]:
    """Every phrase literal the expression matches as words (normalised)."""
    found: set[str] = set()
    for node in _walk(expr):
        if isinstance(node, Call) and node.name in PHRASE_FUNCTIONS:
            for arg in node.args[1:]:
                found.update(normalize_phrase(p) for p in literals_of(arg))
    found.discard("")
    return found


def regexes_of(expr: Expr) -> set[str]:
    """Every ``MATCHES`` pattern of the expression."""
    return {
        node.args[1].value
        for node in _walk(expr)
        if isinstance(node, Call)
        and node.name == "MATCHES"
        and len(node.args) == 2
        and isinstance(node.args[1], StringLit)
    }


class _Field:
    """One field's text, normalised once, with lazily computed matches and word positions."""

    def __init__(self, name: str, raw: str) -> None:
        self.name = name
        self.raw = raw
        self.norm: NormalizedText = normalize(raw)
        self._words: list[int] | None = None

    def span(self, start: int, end: int) -> Span:
        o_start, o_end = self.norm.original_span(start, end)
        return Span(self.name, o_start, o_end, self.raw[o_start:o_end])

    def word_index(self, pos: int) -> int:
        if self._words is None:
            text = self.norm.text
            # Deliberately the plain loop, not text.word_starts: this is the yardstick.
            self._words = [
                i
                for i, c in enumerate(text)
                if is_word_char(c) and (i == 0 or not is_word_char(text[i - 1]))
            ]
        return bisect.bisect_right(self._words, pos) - 1

    def word_count(self) -> int:
        self.word_index(0)
        assert self._words is not None
        return len(self._words)


class _Evaluator:
    """Evaluates expressions over one subject; ``find`` supplies phrase matches per field."""

    def __init__(
        self,
        subject: Subject,
        find: Callable[[_Field, list[str]], Mapping[str, list[tuple[int, int]]]],
        regex: Callable[[str], GuardedRegex],
    ) -> None:
        self.subject = subject
        self._find = find
        self._regex = regex
        self._fields: dict[str, _Field] = {}
        self._negated: dict[tuple[str, int, int], bool] = {}
        self.evidence: list[Span] = []

    def field(self, name: str) -> _Field:
        f = self._fields.get(name)
        if f is None:
            f = self._fields[name] = _Field(name, self.subject.get(name))
        return f

    def spans(self, f: _Field, phrases: list[str]) -> list[tuple[str, int, int]]:
        wanted = [normalize_phrase(p) for p in phrases]
        found = self._find(f, [w for w in wanted if w])
        return [(p, s, e) for p in wanted for (s, e) in found.get(p, ())]

    def negated(self, f: _Field, start: int, end: int) -> bool:
        key = (f.name, start, end)
        if key not in self._negated:
            # The character-by-character reading: the compiled evaluator's faster one is held
            # to it through this evaluator too.
            self._negated[key] = is_negated_reference(
                f.norm.text, start, end, self.subject.language, f.norm.line_breaks()
            )
        return self._negated[key]

    def prove(self, f: _Field, spans: Iterable[tuple[int, int]]) -> None:
        self.evidence.extend(f.span(s, e) for s, e in spans)

    def eval(self, expr: Expr) -> Any:
        match expr:
            case StringLit(value=value) | NumberLit(value=value) | BoolLit(value=value):
                return value
            case ListLit(items=items):
                return [self.eval(i) for i in items]
            case FieldRef(name=name):
                return self.subject.get(name)
            case Not(operand=operand):
                return not self.eval(operand)
            case BinaryOp(op=Op.AND, left=left, right=right):
                return bool(self.eval(left)) and bool(self.eval(right))
            case BinaryOp(op=Op.OR, left=left, right=right):
                return bool(self.eval(left)) or bool(self.eval(right))
            case BinaryOp(op=op, left=left, right=right):
                return compare(op, self.eval(left), self.eval(right))
            case Call():
                return self.call(expr)
        raise TypeError(f"cannot evaluate {expr!r}")  # pragma: no cover

    def call(self, node: Call) -> Any:
        name, args = node.name, node.args
        assert isinstance(args[0], FieldRef)
        f = self.field(args[0].name)
        if name == "LENGTH":
            return len(unicodedata.normalize("NFC", f.raw))
        if name == "WORDS":
            return f.word_count()
        if name == "MATCHES":
            assert isinstance(args[1], StringLit)
            hits = self._regex(args[1].value).finditer(f.norm.text)
            self.prove(f, hits[:1])
            return bool(hits)
        if name in ("STARTS_WITH", "ENDS_WITH"):
            assert isinstance(args[1], StringLit)
            phrase = normalize_phrase(args[1].value)
            text = f.norm.text
            if name == "STARTS_WITH":
                return text.startswith(phrase)
            return text.endswith(phrase)
        if name == "NEAR":
            assert isinstance(args[3], NumberLit)
            return self.near(f, literals_of(args[1]), literals_of(args[2]), int(args[3].value))
        spans = self.spans(f, literals_of(args[1]))
        if name == "COUNT":
            return len(spans)
        if name == "CONTAINS":
            self.prove(f, [(s, e) for _, s, e in spans[:1]])
            return bool(spans)
        if name == "CONTAINS_ALL":
            wanted = {normalize_phrase(p) for p in literals_of(args[1])}
            return wanted <= {p for p, _, _ in spans}
        if name == "AFFIRMS":
            affirmed = [(s, e) for _, s, e in spans if not self.negated(f, s, e)]
            self.prove(f, affirmed[:1])
            return bool(affirmed)
        raise TypeError(f"unknown function {name}")  # pragma: no cover

    def near(self, f: _Field, a: list[str], b: list[str], n: int) -> bool:
        a_at = [f.word_index(s) for _, s, _ in self.spans(f, a)]
        b_at = [f.word_index(s) for _, s, _ in self.spans(f, b)]
        return any(abs(i - j) <= n for i in a_at for j in b_at)


def compare(op: Op, left: Any, right: Any) -> bool:
    """``left op right``, strings compared in their normalised form."""
    if isinstance(left, str):
        left = normalize_phrase(left)
    if isinstance(right, str):
        right = normalize_phrase(right)
    if op is Op.IN:
        items = [normalize_phrase(i) if isinstance(i, str) else i for i in right]
        return left in items
    if op is Op.EQ:
        return bool(left == right)
    if op is Op.NE:
        return bool(left != right)
    if op is Op.LT:
        return bool(left < right)
    if op is Op.LE:
        return bool(left <= right)
    if op is Op.GT:
        return bool(left > right)
    return bool(left >= right)


def evaluate_reference(expr: Expr, subject: Subject) -> bool:
    """Evaluate one expression the slow, obvious way (each phrase searched on its own)."""
    return reference_outcome(expr, subject).violated


def reference_outcome(expr: Expr, subject: Subject) -> Outcome:
    """:func:`evaluate_reference` with the evidence the compiled evaluator must also report."""

    def find(f: _Field, phrases: list[str]) -> Mapping[str, list[tuple[int, int]]]:
        return reference_find(phrases, f.norm.text)

    evaluator = _Evaluator(subject, find, compile_guarded)
    violated = bool(evaluator.eval(expr))
    return Outcome(violated, tuple(evaluator.evidence) if violated else ())
