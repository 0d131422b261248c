"""All phrases of a rulebook matched in one pass over a text (DESIGN.md §3.2).

A rulebook holds hundreds of phrases; searching each on its own costs one scan per phrase.
:class:`PhraseMatcher` compiles every normalised phrase into one Aho-Corasick automaton
(``ahocorasick_rs``, in Rust) and reports, in a single scan, every occurrence of every phrase,
overlapping ones included (``"guaranteed"`` and ``"guaranteed returns"`` both hit in
``"guaranteed returns"``), keeping those that sit on whole-word boundaries.

Whole word means the match does not cut a word in two: if the phrase starts with a word
character (:func:`~projectone.domain.compliance.text.is_word_char`), the character before the
match must not be one; if it ends with a word character, the character after the match must not
be one. An edge of the phrase that is not a word character (``"12%"``, ``"₹"``, ``"#1"``) needs
no boundary, so ``"%"`` still matches in ``"12%"``. For phrases made of words at both ends this
is exactly "the character before the start and the character at the end are not word
characters, or are text edges". Because combining marks are word characters, ``"हम"`` does not
match inside ``"हमी"`` and ``"q"`` does not match ``"q\\u0301"``.

:func:`reference_find` does the same with plain :meth:`str.find`; tests cross-check the two.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick_rs

from projectone.domain.compliance.text import (
    NormalizedText,
    is_word_char,
    normalize_phrase,
    replace_lone_surrogates,
)

__all__ = ["PhraseMatcher", "reference_find"]


def _unique_phrases(phrases: Iterable[str]) -> tuple[str, ...]:
    """Normalised phrases, without empties or duplicates, in first-seen order."""
    seen: dict[str, None] = {}
    for phrase in phrases:
        key = normalize_phrase(phrase)
        if key:
            seen.setdefault(key, None)
    return tuple(seen)


def _haystack(normalized: NormalizedText | str) -> str:
    if isinstance(normalized, NormalizedText):
        return normalized.text
    # A plain str is taken as already normalised; only make sure it is valid UTF-8 material.
    return replace_lone_surrogates(normalized)


def _on_boundaries(text: str, start: int, end: int, word_start: bool, word_end: bool) -> bool:
    if word_start and start > 0 and is_word_char(text[start - 1]):
        return False
    return not (word_end and end < len(text) and is_word_char(text[end]))


class PhraseMatcher:
    """One Aho-Corasick automaton over a fixed set of phrases; immutable once built.

    Phrases are normalised with :func:`normalize_phrase`; those that normalise to the empty
    string are ignored, duplicates are merged. Results are keyed by the normalised phrase.
    """

    __slots__ = ("_automaton", "_phrases", "_word_end", "_word_start")

    def __init__(self, phrases: Iterable[str]) -> None:
        self._phrases = _unique_phrases(phrases)
        self._word_start = tuple(is_word_char(p[0]) for p in self._phrases)
        self._word_end = tuple(is_word_char(p[-1]) for p in self._phrases)
        self._automaton = (
            ahocorasick_rs.AhoCorasick(self._phrases, matchkind=ahocorasick_rs.MatchKind.Standard)
            if self._phrases
            else None
        )

    @property
    def phrases(self) -> tuple[str, ...]:
        """The normalised phrases searched for, in first-seen order."""
        return self._phrases

    def find(self, normalized: NormalizedText | str) -> dict[str, list[tuple[int, int]]]:
        """Every whole-word occurrence of every phrase in ``normalized``, in one scan.

        ``normalized`` is a :class:`NormalizedText` or an already normalised ``str``. Returns
        ``{phrase: [(start, end), ...]}`` with spans in the normalised text, sorted by start;
        phrases that do not occur are absent. Never raises.
        """
        text = _haystack(normalized)
        if self._automaton is None or not text:
            return {}
        found: dict[str, list[tuple[int, int]]] = {}
        phrases, word_start, word_end = self._phrases, self._word_start, self._word_end
        n = len(text)
        word_char = is_word_char
        # _on_boundaries, inlined: this loop runs for every raw hit of every post.
        for index, start, end in self._automaton.find_matches_as_indexes(text, overlapping=True):
            if word_start[index] and start > 0 and word_char(text[start - 1]):
                continue
            if word_end[index] and end < n and word_char(text[end]):
                continue
            spans = found.get(phrases[index])
            if spans is None:
                found[phrases[index]] = [(start, end)]
            else:
                spans.append((start, end))
                if spans[-2] > spans[-1]:  # keep each list sorted by start
                    spans.sort()
        return found

    def __repr__(self) -> str:
        return f"PhraseMatcher({len(self._phrases)} phrases)"


def reference_find(
    phrases: Iterable[str], normalized: NormalizedText | str
) -> dict[str, list[tuple[int, int]]]:
    """What :meth:`PhraseMatcher.find` returns, computed phrase by phrase with :meth:`str.find`.

    Slow (one scan per phrase) but obviously right; the oracle for tests and for one-off
    searches where building an automaton is not worth it.
    """
    text = _haystack(normalized)
    found: dict[str, list[tuple[int, int]]] = {}
    for phrase in _unique_phrases(phrases):
        word_start, word_end = is_word_char(phrase[0]), is_word_char(phrase[-1])
        at = text.find(phrase)
        while at >= 0:
            end = at + len(phrase)
            if _on_boundaries(text, at, end, word_start, word_end):
                found.setdefault(phrase, []).append((at, end))
            at = text.find(phrase, at + 1)
    return found
