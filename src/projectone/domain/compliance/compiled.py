"""The rule evaluator the engine runs: a rulebook compiled once, then cheap per post.

Every phrase of every rule goes into one multi-pattern automaton and every ``MATCHES`` pattern
into one RE2 set; each text field a rule reads is normalised once and scanned once by each;
rules are then decided from the match sets (DESIGN.md §3.2).

Each rule expression is compiled into a tree of Python closures with its literals normalised
up front, so evaluating a rule is a handful of calls and dictionary lookups, not a walk over
the syntax tree. :func:`~projectone.domain.compliance.evaluate.evaluate_reference` is the slow,
obvious evaluator this one must agree with (a property test holds them to it, evidence too).

Evaluation never raises on any text: a rule whose evaluation fails anyway is reported as
violated with the error (it fails closed).
"""

from __future__ import annotations

import bisect
import functools
import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
from projectone.domain.compliance.evaluate import (
    PART_SEPARATOR,
    TEXT_PARTS,
    Outcome,
    Span,
    Subject,
    compare,
    literals_of,
    normalize_phrase,
    phrases_of,
    regexes_of,
)
from projectone.domain.compliance.matcher import PhraseMatcher
from projectone.domain.compliance.negation import is_negated
from projectone.domain.compliance.regex import RegexScan, RegexSet, compile_guarded
from projectone.domain.compliance.text import (
    NormalizedText,
    is_nfc,
    join_normalized,
    normalize,
    word_count,
    word_starts,
)

__all__ = ["CompiledRules"]

_Found = dict[str, list[tuple[int, int]]]

# Titles, calls to action and disclaimers repeat from post to post (an advisor's disclaimer is
# on every post): short texts are normalised once per process. A NormalizedText is immutable
# (its lazily built maps are the same whoever builds them), so posts can share one.
_SHARED_UP_TO = 600  # characters; bodies are longer, and rarely repeat
_normalize_shared = functools.lru_cache(maxsize=2048)(normalize)


def _normalized(raw: str) -> NormalizedText:
    return _normalize_shared(raw) if len(raw) <= _SHARED_UP_TO else normalize(raw)


class _FieldScan:
    """One field of one post: normalised once; matches, words and regex hits on demand."""

    __slots__ = ("_found", "_length", "_regex", "_words", "name", "norm", "raw")

    def __init__(self, name: str, raw: str, norm: NormalizedText | None = None) -> None:
        self.name = name
        self.raw = raw
        self.norm: NormalizedText = _normalized(raw) if norm is None else norm
        self._found: _Found | None = None
        self._regex: RegexScan | None = None
        self._words: list[int] | None = None
        self._length: int | None = None

    def found(self, matcher: PhraseMatcher) -> _Found:
        if self._found is None:
            self._found = matcher.find(self.norm)
        return self._found

    def found_none_of(self, phrases: frozenset[str]) -> bool:
        """Whether the phrases were looked for already, and none of ``phrases`` was found."""
        return self._found is not None and phrases.isdisjoint(self._found)

    def regex(self, regexes: RegexSet) -> RegexScan:
        if self._regex is None:
            self._regex = regexes.scan(self.norm.text)
        return self._regex

    def words(self) -> list[int]:
        if self._words is None:
            self._words = word_starts(self.norm.text)
        return self._words

    def word_count(self, cap: int | None = None) -> int:
        """The number of words, or ``cap`` when there are at least that many."""
        n = len(self._words) if self._words is not None else word_count(self.norm.text, cap)
        return n if cap is None else min(n, cap)

    def word_index(self, pos: int) -> int:
        return bisect.bisect_right(self.words(), pos) - 1

    def length(self) -> int:
        if self._length is None:
            raw = self.raw
            nfc = self.norm.original_is_nfc or is_nfc(raw)
            self._length = len(raw) if nfc else len(unicodedata.normalize("NFC", raw))
        return self._length

    def span(self, start: int, end: int) -> Span:
        o_start, o_end = self.norm.original_span(start, end)
        return Span(self.name, o_start, o_end, self.raw[o_start:o_end])

    def evidence(self, start: int, end: int) -> Span | None:
        """:meth:`span`, or for ``(_REGEX_HIT, index)`` the span of the first match of regex
        ``index`` (``None`` if it has none, which RE2 rules out after the set found it)."""
        if start == _REGEX_HIT:
            assert self._regex is not None
            found = self._regex.first(end)
            if found is None:
                return None
            start, end = found
        return self.span(start, end)


class _Scan:
    """The state of evaluating every rule on one subject."""

    __slots__ = (
        "evidence",
        "fields",
        "language",
        "matcher",
        "negated",
        "regexes",
        "subject",
        "values",
    )

    def __init__(self, subject: Subject, matcher: PhraseMatcher, regexes: RegexSet) -> None:
        self.subject = subject
        # The field values (what Subject.get reads), for the closures: one call less each.
        self.values = subject.values
        self.language = subject.language
        self.matcher = matcher
        self.regexes = regexes
        self.fields: dict[str, _FieldScan] = {}
        self.negated: dict[tuple[str, int, int], bool] = {}
        # (field, start, end) in normalised text; mapped back to Spans only for violated rules.
        self.evidence: list[tuple[_FieldScan, int, int]] = []

    def field(self, name: str) -> _FieldScan:
        f = self.fields.get(name)
        if f is None:
            raw = self.values.get(name, "")
            norm = self._joined_parts(raw) if name == "text" else None
            f = self.fields[name] = _FieldScan(name, raw, norm)
        return f

    def _joined_parts(self, text: str) -> NormalizedText | None:
        """``text`` normalised from its parts when it is their join (rules read both)."""
        values = self.values
        parts = [p for p in TEXT_PARTS if values.get(p, "")]
        if text != PART_SEPARATOR.join([values[p] for p in parts]):
            return None
        return join_normalized([self.field(p).norm for p in parts], PART_SEPARATOR)

    def is_negated(self, f: _FieldScan, start: int, end: int) -> bool:
        key = (f.name, start, end)
        negated = self.negated.get(key)
        if negated is None:
            norm = f.norm
            negated = self.negated[key] = is_negated(
                norm.text, start, end, self.language, norm.line_breaks()
            )
        return negated


_Fn = Callable[[_Scan], Any]
_PASSED = Outcome(False)
# In place of a start offset in the evidence: "the first match of regex ``end`` in the field".
_REGEX_HIT = -1


def _wanted(arg: Expr) -> tuple[str, ...]:
    """The normalised phrases of a phrase argument, in source order (duplicates kept)."""
    return tuple(normalize_phrase(p) for p in literals_of(arg))


def _compile(expr: Expr, regex_index: Mapping[str, int]) -> _Fn:
    match expr:
        case StringLit(value=value) | NumberLit(value=value) | BoolLit(value=value):
            constant: Any = value
            return lambda _s: constant
        case ListLit(items=items):
            parts = [_compile(i, regex_index) for i in items]
            return lambda s: [p(s) for p in parts]
        case FieldRef(name=name):
            return lambda s: s.values.get(name, "")
        case Not(operand=operand):
            inner = _compile(operand, regex_index)
            return lambda s: not inner(s)
        case BinaryOp(op=Op.AND, left=left, right=right):
            a, b = _compile(left, regex_index), _compile(right, regex_index)
            return lambda s: bool(a(s)) and bool(b(s))
        case BinaryOp(op=Op.OR, left=left, right=right):
            a, b = _compile(left, regex_index), _compile(right, regex_index)
            return lambda s: bool(a(s)) or bool(b(s))
        case BinaryOp(op=op, left=left, right=right):
            capped = _capped_word_count(op, left, right)
            if capped is not None:
                return capped
            literal = _field_against_literal(op, left, right)
            if literal is not None:
                return literal
            a, b = _compile(left, regex_index), _compile(right, regex_index)
            return lambda s: compare(op, a(s), b(s))
        case Call():
            return _compile_call(expr, regex_index)
    raise TypeError(f"cannot compile {expr!r}")  # pragma: no cover


_ORDERINGS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})


def _capped_word_count(op: Op, left: Expr, right: Expr) -> _Fn | None:
    """``WORDS(f) op k`` (either way round) counting no further than the answer needs.

    For a whole count ``c >= 0`` and a number ``k``, ``c op k`` is the same for every
    ``c > floor(k)``: counting stops at ``floor(k) + 1`` words (one search for ``== 0``).
    """
    if op not in _ORDERINGS:
        return None
    words, number, flipped = left, right, False
    if isinstance(left, NumberLit):
        words, number, flipped = right, left, True
    if not (
        isinstance(number, NumberLit)
        and isinstance(words, Call)
        and words.name == "WORDS"
        and isinstance(words.args[0], FieldRef)
    ):
        return None
    field, k = words.args[0].name, number.value
    cap = max(0, math.floor(k) + 1)
    if flipped:
        return lambda s: compare(op, k, s.field(field).word_count(cap))
    return lambda s: compare(op, s.field(field).word_count(cap), k)


def _field_against_literal(op: Op, left: Expr, right: Expr) -> _Fn | None:
    """``field == 'x'``, ``field != 'x'``, ``field IN ['x', 'y']`` with the literals normalised
    once (what :func:`compare` would do on every call)."""
    if not isinstance(left, FieldRef):
        return None
    name = left.name
    if op in (Op.EQ, Op.NE) and isinstance(right, StringLit):
        value = normalize_phrase(right.value)
        if op is Op.EQ:
            return lambda s: normalize_phrase(s.values.get(name, "")) == value
        return lambda s: normalize_phrase(s.values.get(name, "")) != value
    if op is Op.IN and isinstance(right, ListLit):
        if not all(isinstance(i, StringLit) for i in right.items):
            return None
        values = frozenset(
            normalize_phrase(i.value) for i in right.items if isinstance(i, StringLit)
        )
        return lambda s: normalize_phrase(s.values.get(name, "")) in values
    return None


def _compile_call(node: Call, regex_index: Mapping[str, int]) -> _Fn:
    name, args = node.name, node.args
    assert isinstance(args[0], FieldRef)
    field = args[0].name

    if name == "LENGTH":
        return lambda s: s.field(field).length()
    if name == "WORDS":
        return lambda s: s.field(field).word_count()
    if name == "MATCHES":
        assert isinstance(args[1], StringLit)
        index = regex_index[args[1].value]

        def matches(s: _Scan) -> bool:
            f = s.field(field)
            scan = f.regex(s.regexes)
            occurs = scan.occurs(index)
            if occurs is None:
                span = scan.first(index)
                if span is None:
                    return False
                s.evidence.append((f, *span))
                return True
            if occurs:  # where: searched only if the rule turns out violated (see evaluate)
                s.evidence.append((f, _REGEX_HIT, index))
            return occurs

        return matches
    if name in ("STARTS_WITH", "ENDS_WITH"):
        assert isinstance(args[1], StringLit)
        phrase = normalize_phrase(args[1].value)
        if name == "STARTS_WITH":
            return lambda s: s.field(field).norm.text.startswith(phrase)
        return lambda s: s.field(field).norm.text.endswith(phrase)
    if name == "NEAR":
        assert isinstance(args[3], NumberLit)
        a, b = frozenset(_wanted(args[1])), frozenset(_wanted(args[2]))
        return _compile_near(field, a, b, int(args[3].value))

    wanted = _wanted(args[1])
    if name == "CONTAINS_ALL":
        required = frozenset(wanted)
        return lambda s: required <= s.field(field).found(s.matcher).keys()
    # A post hits a handful of the rulebook's phrases; a rule lists dozens. Each function takes
    # the phrases found that the rule wants (one set intersection, in C, over the smaller side)
    # in the rule's order (that order picks the evidence).
    rank = {p: i for i, p in reversed(list(enumerate(wanted)))}
    by_rank = rank.__getitem__
    # A set, not a frozenset: ``dict_keys & set`` then walks whichever side is smaller.
    wanted_set = set(rank)
    if name == "COUNT":
        times = {p: wanted.count(p) for p in rank}

        def count(s: _Scan) -> int:
            found = s.field(field).found(s.matcher)
            return sum(len(spans) * times[p] for p, spans in found.items() if p in times)

        return count
    if name == "CONTAINS":

        def contains(s: _Scan) -> bool:
            f = s.field(field)
            found = f.found(s.matcher)
            hits = found.keys() & wanted_set
            if not hits:
                return False
            first = min(hits, key=by_rank) if len(hits) > 1 else hits.pop()
            s.evidence.append((f, *found[first][0]))
            return True

        return contains
    if name == "AFFIRMS":

        def affirms(s: _Scan) -> bool:
            f = s.field(field)
            found = f.found(s.matcher)
            hits = found.keys() & wanted_set
            if not hits:
                return False
            for phrase in sorted(hits, key=by_rank) if len(hits) > 1 else hits:
                for start, end in found[phrase]:
                    if not s.is_negated(f, start, end):
                        s.evidence.append((f, start, end))
                        return True
            return False

        return affirms
    raise TypeError(f"unknown function {name}")  # pragma: no cover


def _compile_near(field: str, a: frozenset[str], b: frozenset[str], n: int) -> _Fn:
    def near(s: _Scan) -> bool:
        f = s.field(field)
        found = f.found(s.matcher)
        if found.keys().isdisjoint(a) or found.keys().isdisjoint(b):
            return False  # (the usual case, in C)
        a_starts = [start for p, spans in found.items() if p in a for start, _ in spans]
        if not a_starts:
            return False
        b_starts = [start for p, spans in found.items() if p in b for start, _ in spans]
        if not b_starts:
            return False
        a_at = [f.word_index(i) for i in a_starts]
        b_at = [f.word_index(j) for j in b_starts]
        return any(abs(i - j) <= n for i in a_at for j in b_at)

    return near


def _needs(expr: Expr) -> tuple[str, frozenset[str]] | None:
    """A field and phrases one of which must occur there for ``expr`` to hold, or ``None``.

    When none of them occurs, ``expr`` is false whatever else the post says: its rule passes
    without evidence, and :meth:`CompiledRules.evaluate` need not run it. Only the simple,
    sure cases: phrase functions (``CONTAINS``, ``CONTAINS_ALL``, ``AFFIRMS``, ``NEAR``), ``OR``
    of two such on one field, ``AND`` with one such; never through ``NOT``.
    """
    match expr:
        case Call(name="AFFIRMS" | "CONTAINS", args=(FieldRef(name=field), phrases)):
            return field, frozenset(_wanted(phrases))
        case Call(name="CONTAINS_ALL", args=(FieldRef(name=field), phrases)):
            wanted = frozenset(_wanted(phrases))
            return (field, wanted) if wanted else None  # (all of no phrase is always there)
        case Call(name="NEAR", args=(FieldRef(name=field), phrases, _, _)):
            return field, frozenset(_wanted(phrases))
        case BinaryOp(op=Op.OR, left=left, right=right):
            a, b = _needs(left), _needs(right)
            if a is None or b is None or a[0] != b[0]:
                return None
            return a[0], a[1] | b[1]
        case BinaryOp(op=Op.AND, left=left, right=right):
            a, b = _needs(left), _needs(right)
            if a is None or b is None:
                return a or b
            return a if len(a[1]) <= len(b[1]) else b
    return None


class CompiledRules:
    """Rules compiled for speed: one automaton over all phrases, one RE2 set over all regexes.

    ``rules`` must already be type-checked; patterns RE2 cannot compile raise ``RegexError``
    here (the rulebook loader reports them with their rule).
    """

    def __init__(self, rules: Mapping[str, Expr]) -> None:
        self.rules = dict(rules)
        phrases: set[str] = set()
        patterns: set[str] = set()
        for expr in self.rules.values():
            phrases |= phrases_of(expr)
            patterns |= regexes_of(expr)
        ordered = sorted(patterns)
        self._matcher = PhraseMatcher(phrases)
        self._regexes = RegexSet(compile_guarded(p) for p in ordered)
        index = {p: i for i, p in enumerate(ordered)}
        self._compiled = {rule_id: _compile(expr, index) for rule_id, expr in self.rules.items()}
        self._needs = {rule_id: _needs(expr) for rule_id, expr in self.rules.items()}

    def evaluate(
        self, subject: Subject, rule_ids: Iterable[str] | None = None
    ) -> dict[str, Outcome]:
        """The outcome of every rule (or of those in ``rule_ids``) for ``subject``, in rule
        order (``rule_ids`` order when given). Never raises; an unknown id is a ``KeyError``."""
        scan = _Scan(subject, self._matcher, self._regexes)
        outcomes: dict[str, Outcome] = {}
        compiled = self._compiled
        chosen = compiled.items() if rule_ids is None else ((i, compiled[i]) for i in rule_ids)
        evidence = scan.evidence
        needs, fields = self._needs, scan.fields
        for rule_id, rule in chosen:
            if evidence:
                evidence.clear()
            need = needs[rule_id]
            if need is not None:  # a rule sure to pass unless one of its phrases occurs
                f = fields.get(need[0])
                if f is not None and f.found_none_of(need[1]):
                    outcomes[rule_id] = _PASSED
                    continue
            try:
                if rule(scan):
                    located = (f.evidence(start, end) for f, start, end in evidence)
                    spans = tuple(span for span in located if span is not None)
                    outcomes[rule_id] = Outcome(True, spans)
                else:
                    outcomes[rule_id] = _PASSED
            except Exception as exc:  # fail closed: an unexplained rule counts as violated
                outcomes[rule_id] = Outcome(True, (), f"{type(exc).__name__}: {exc}")
        return outcomes
