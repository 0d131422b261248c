"""Guarded regular expressions for ``MATCHES(field, 'regex')`` (DESIGN.md §3.2).

Rule authors write patterns and advisors write the text they run on: a backtracking engine
(Python's :mod:`re`) can take exponential time on a pattern like ``(a+)+$``, which would let one
post stall compliance checks. Patterns are therefore compiled with RE2 (``google-re2``), which
matches in time linear in the text, and rejects the features that need backtracking
(backreferences, look-around) at load time with a :class:`RegexError`.

Matching runs on the normalised text (case-folded, Devanagari digits as ASCII, whitespace
collapsed — see :mod:`projectone.domain.compliance.text`) and is case-insensitive, so
``INA\\d{9}`` finds ``ina000012345``. Spans are ``str`` indices into that text (the RE2 wrapper
works on UTF-8 bytes and converts back; tests pin this with Devanagari text).

Syntax notes for rule authors (RE2, not Python): ``\\d``, ``\\w`` and ``\\b`` are ASCII-only
(use ``\\p{L}``, ``\\p{Devanagari}`` for scripts; prefer ``CONTAINS`` for words); ``\\Z`` is
written ``\\z``; the pattern is not case-folded, so a literal ``ß`` never matches (the text
holds ``ss``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol

import re2  # type: ignore[import-untyped]

from projectone.domain.compliance.text import replace_lone_surrogates
from projectone.domain.errors import ValidationError

__all__ = ["GuardedRegex", "RegexError", "RegexScan", "RegexSet", "compile_guarded"]

# RE2's own ceiling on the memory of one compiled program; bigger patterns are rejected.
_MAX_MEM = 8 << 20


class RegexError(ValidationError):
    """A ``MATCHES`` pattern RE2 cannot compile: bad syntax or an unsupported feature.

    A :class:`~projectone.domain.errors.ValidationError` on the field ``"MATCHES pattern"`` (the
    pattern is a value a rule author supplied), so callers that report validation errors
    report this one too; ``pattern`` and ``message`` carry the details.
    """

    def __init__(self, pattern: str, message: str) -> None:
        self.pattern = pattern
        self.message = message
        super().__init__("MATCHES pattern", pattern, message)


class _Match(Protocol):
    def span(self) -> tuple[int, int]: ...


class _Compiled(Protocol):
    def finditer(self, text: str) -> Iterator[_Match]: ...

    def search(self, text: str | bytes) -> _Match | None: ...


class GuardedRegex:
    """A compiled, linear-time, case-insensitive pattern. Build with :func:`compile_guarded`."""

    __slots__ = ("_compiled", "_pattern")

    def __init__(self, pattern: str, compiled: _Compiled) -> None:
        self._pattern = pattern
        self._compiled = compiled

    @property
    def pattern(self) -> str:
        """The pattern as the rule author wrote it."""
        return self._pattern

    def finditer(self, normalized_text: str) -> list[tuple[int, int]]:
        """The ``(start, end)`` of each non-overlapping match, left to right, in ``str`` indices.

        Like :func:`re.finditer`, a pattern that can match the empty string reports empty spans.
        Never raises on any ``str``.
        """
        text = replace_lone_surrogates(normalized_text)
        return [m.span() for m in self._compiled.finditer(text)]

    def search(self, normalized_text: str) -> tuple[int, int] | None:
        """The span of the first match, or ``None``; never raises on any ``str``."""
        m = self._compiled.search(replace_lone_surrogates(normalized_text))
        return None if m is None else m.span()

    def search_utf8(self, encoded: bytes) -> tuple[int, int] | None:
        """The first match in UTF-8 ``encoded`` text, as a span of byte offsets, or ``None``."""
        m = self._compiled.search(encoded)
        return None if m is None else m.span()

    def __repr__(self) -> str:
        return f"GuardedRegex({self._pattern!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GuardedRegex) and other._pattern == self._pattern

    def __hash__(self) -> int:
        return hash(self._pattern)


class RegexScan:
    """Which patterns of a :class:`RegexSet` occur in one text, and where each first matches."""

    __slots__ = ("_encoded", "_hits", "_regexes", "_text")

    def __init__(
        self, regexes: tuple[GuardedRegex, ...], text: str, encoded: bytes, hits: set[int] | None
    ) -> None:
        self._regexes = regexes
        self._text = text
        self._encoded = encoded
        self._hits = hits

    def occurs(self, index: int) -> bool | None:
        """Whether pattern ``index`` matches somewhere, as the set pass found; ``None`` when
        that pass could not tell (then :meth:`first` searches). RE2 answers the same for a set
        and for one pattern on the same text: the span only needs a search of its own."""
        return None if self._hits is None else index in self._hits

    def first(self, index: int) -> tuple[int, int] | None:
        """The ``str`` span of the first match of pattern ``index``, or ``None``."""
        if self._hits is not None and index not in self._hits:
            return None
        span = self._regexes[index].search_utf8(self._encoded)
        if span is None:
            return None
        start, end = span
        # A pattern such as \C can stop inside a character: count whole characters only.
        char_start = len(self._encoded[:start].decode("utf-8", "ignore"))
        return char_start, char_start + len(self._encoded[start:end].decode("utf-8", "ignore"))


class RegexSet:
    """Guarded patterns searched together: one pass over a text tells which of them occur.

    Built on RE2's ``Set``; only the patterns that occur are then searched one by one for
    their first span. ``Set`` has no fallback when its DFA runs out of memory on a hostile
    text (it would report no match at all), so a pattern that matches everything rides along
    as a witness: when it is missing from a result, every pattern is searched on its own
    instead. A failed pass costs time, never a missed match.
    """

    __slots__ = ("_regexes", "_set")

    def __init__(self, regexes: Iterable[GuardedRegex]) -> None:
        self._regexes = tuple(regexes)
        options = re2.Options()
        options.case_sensitive = False
        options.log_errors = False
        options.max_mem = _MAX_MEM * 4
        self._set: Any = None
        if self._regexes:
            patterns = re2.Set.SearchSet(options)
            patterns.Add("")  # the witness, index 0
            try:
                for regex in self._regexes:
                    patterns.Add(regex.pattern)
                patterns.Compile()
            except re2.error:
                return  # too big for one set: every pattern is then searched on its own
            self._set = patterns

    @property
    def regexes(self) -> tuple[GuardedRegex, ...]:
        return self._regexes

    def scan(self, normalized_text: str) -> RegexScan:
        """Scan ``normalized_text`` once; never raises on any ``str``."""
        text = replace_lone_surrogates(normalized_text)
        encoded = text.encode("utf-8")
        hits: set[int] | None = None
        if self._set is not None:
            found = self._set.Match(encoded) or ()
            if 0 in found:
                hits = {i - 1 for i in found if i}
        return RegexScan(self._regexes, text, encoded, hits)

    def __repr__(self) -> str:
        return f"RegexSet({len(self._regexes)} patterns)"


_HINTS = (
    ("(?=", "look-ahead is not supported (RE2 matches in linear time)"),
    ("(?!", "look-ahead is not supported (RE2 matches in linear time)"),
    ("(?<", "look-behind is not supported (RE2 matches in linear time)"),
    ("invalid escape sequence: \\Z", "write \\z for the end of the text"),
)


def _explain(exc: Exception) -> str:
    """RE2's message as text (the binding hands it over as bytes), with a hint where useful."""
    raw = exc.args[0] if exc.args else "invalid pattern"
    message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if message.startswith("invalid escape sequence: \\") and message[-1:].isdigit():
        return f"{message}: backreferences are not supported (RE2 matches in linear time)"
    for needle, hint in _HINTS:
        if needle in message:
            return f"{message}: {hint}"
    return message


def compile_guarded(pattern: str) -> GuardedRegex:
    """Compile ``pattern`` with RE2, case-insensitively.

    Raises :class:`RegexError` when RE2 rejects it: syntax errors, backreferences, look-around,
    possessive quantifiers, repetition counts over 1000, programs over RE2's memory budget,
    patterns that are not valid Unicode (lone surrogates).
    """
    if not isinstance(pattern, str):
        raise RegexError(repr(pattern), "a pattern must be a string")
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would print rejected patterns to stderr
    options.max_mem = _MAX_MEM
    try:
        compiled: _Compiled = re2.compile(pattern, options)
    except re2.error as exc:
        raise RegexError(pattern, _explain(exc)) from None
    except UnicodeEncodeError:
        raise RegexError(pattern, "the pattern is not valid Unicode") from None
    return GuardedRegex(pattern, compiled)
