"""Text normalisation for compliance matching, with offsets back into the original text.

Rules match phrases against *normalised* text (DESIGN.md §3.2) so that case, spacing, invisible
characters and digit scripts cannot hide a phrase from a rule, yet evidence must point at the
text the advisor actually wrote. :func:`normalize` therefore returns the normalised string
together with, for every normalised character, the range of original characters it came from.

The steps, in order:

1. Unicode NFC. A run that NFC rewrites (``"e\\u0301"`` → ``"é"``) becomes one *unit*: every
   character it produces maps back to the whole run (when NFC only reorders the marks after a
   character, that character keeps its own exact unit). Runs NFC leaves alone map char by char.
2. Full case folding (:meth:`str.casefold`), which may lengthen text (``"ß"`` → ``"ss"``); every
   character of an expansion maps back to the character it came from.
3. Devanagari digits ``०``–``९`` read as ASCII ``0``–``9`` (so ``"१५%"`` matches ``"15%"`` and
   ``\\d`` in a regex).
4. Lone surrogates (possible in a Python ``str``, never in valid UTF-8) become U+FFFD, so the
   result can always be handed to the UTF-8 based matchers (Aho-Corasick, RE2).
5. Zero-width characters (U+200B, U+200C, U+200D, U+2060, U+FEFF) removed; runs of whitespace
   (:meth:`str.isspace`) collapsed to one space, and stripped at both ends. A collapsed space
   maps back to the whole run it replaced, zero-width characters inside it included.

Known limits: the result is not re-normalised after case folding (folding can yield a few
decomposed sequences such as ``"ǰ"`` → ``"j\\u030c"``); this is harmless because phrases and
texts go through the very same function. Line breaks are whitespace, so they are collapsed too.
"""

from __future__ import annotations

import re
import unicodedata

import attrs

__all__ = [
    "ZERO_WIDTH",
    "NormalizedText",
    "is_word_char",
    "normalize",
    "normalize_phrase",
    "replace_lone_surrogates",
]

#: Characters removed by normalisation: invisible, and used to split words so filters miss them.
ZERO_WIDTH: frozenset[str] = frozenset("\u200b\u200c\u200d\u2060\ufeff")

# Letters, digits and the combining marks that belong to a word: Devanagari matras (Mc/Mn),
# virama and nukta are inside words, so "गारंटी" is one word, not "ग", "र", "ट".
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "Mn", "Mc"})
_DEVANAGARI_DIGITS = {0x0966 + d: str(d) for d in range(10)}
_SURROGATE = re.compile("[\ud800-\udfff]")
_HAS_DEVANAGARI_DIGIT = re.compile("[\u0966-\u096f]")
_ZW_CLASS = "".join(sorted(ZERO_WIDTH))
# Step 5 only has work where whitespace and zero-width characters are not already single spaces
# between words: runs of two or more, whitespace other than a space, zero-width characters, and
# a space at either end. Text between such runs is kept in bulk.
_IRREGULAR = re.compile(f"[\\s{_ZW_CLASS}]{{2,}}|[^\\S ]|[{_ZW_CLASS}]|^ | \\Z")


def is_word_char(c: str) -> bool:
    """Whether the single character ``c`` is part of a word: a letter, digit or combining mark.

    ``_`` is not (it joins words in identifiers, not in prose). Phrase boundaries and the
    negation tokeniser both use this one definition so they agree on what a word is.
    """
    return unicodedata.category(c) in _WORD_CATEGORIES


def replace_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (same length, same indices)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


@attrs.frozen
class NormalizedText:
    """A normalised string and the map from its characters back to the original string.

    ``origin[i]`` is where, in ``original``, the unit that produced normalised character ``i``
    starts; ``origin_end[i]`` is where it ends. ``origin`` has one more entry than ``text``:
    ``origin[len(text)]`` is the end of the last unit (0 when ``text`` is empty). Both are
    non-decreasing. Use :meth:`original_span` to map a match back.
    """

    original: str
    text: str
    origin: tuple[int, ...]
    origin_end: tuple[int, ...]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` that normalised ``[start, end)`` came from.

        Out-of-range bounds are clamped. A match that starts or ends inside an expansion (the
        first ``s`` of ``"ß"`` → ``"ss"``) widens to the whole original character, so the
        original slice always covers the match; an empty span maps to an empty span.
        """
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        if end == start:
            at = self.origin[start]
            return at, at
        return self.origin[start], self.origin_end[end - 1]

    def original_text(self, start: int, end: int) -> str:
        """The original substring behind normalised ``[start, end)``."""
        o_start, o_end = self.original_span(start, end)
        return self.original[o_start:o_end]


def normalize(text: str) -> NormalizedText:
    """Normalise ``text`` for matching (see the module docstring); never raises on a ``str``."""
    nfc, starts, ends = _nfc_with_offsets(text)
    folded = nfc.casefold()
    if len(folded) != len(nfc):  # some character expanded: map each one explicitly
        folded, starts, ends = _fold_with_offsets(nfc, starts, ends)
    if not folded.isascii():
        if _HAS_DEVANAGARI_DIGIT.search(folded):
            folded = folded.translate(_DEVANAGARI_DIGITS)
        folded = replace_lone_surrogates(folded)
    return _collapse(text, folded, starts, ends)


def normalize_phrase(phrase: str) -> str:
    """The normalised form of ``phrase``: what it must equal in normalised text to match."""
    return normalize(phrase).text


def _nfc_with_offsets(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """NFC of ``text`` and the original start/end of each of its characters (None: identity)."""
    if unicodedata.is_normalized("NFC", text):
        return text, None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    seg = 0
    for i in range(1, len(text) + 1):
        if i < len(text) and not _starts_segment(text, seg, i):
            continue
        piece = text[seg:i]
        composed = unicodedata.normalize("NFC", piece)
        if composed == piece:
            starts.extend(range(seg, i))
            ends.extend(range(seg + 1, i + 1))
        elif i - seg > 1 and composed[:1] == piece[:1] and composed[1:] == _nfc(piece[1:]):
            # Only the marks after the first character were reordered: keep that one exact.
            starts.append(seg)
            ends.append(seg + 1)
            starts.extend([seg + 1] * (len(composed) - 1))
            ends.extend([i] * (len(composed) - 1))
        else:
            starts.extend([seg] * len(composed))
            ends.extend([i] * len(composed))
        out.append(composed)
        seg = i
    return "".join(out), starts, ends


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _starts_segment(text: str, seg: int, i: int) -> bool:
    """Whether NFC can treat ``text[seg:i]`` and what starts at ``i`` independently.

    True when ``text[i]`` is a starter that neither composes with, nor reorders into, what
    precedes it: then NFC(whole) is the concatenation of the NFC of the pieces.
    """
    c = text[i]
    if unicodedata.combining(c) or unicodedata.combining(unicodedata.normalize("NFD", c)[:1]):
        return False
    before = text[seg:i]
    joined = unicodedata.normalize("NFC", before + c)
    return joined == unicodedata.normalize("NFC", before) + unicodedata.normalize("NFC", c)


def _fold_with_offsets(
    nfc: str, starts: list[int] | None, ends: list[int] | None
) -> tuple[str, list[int], list[int]]:
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for j, c in enumerate(nfc):
        f = c.casefold()
        out.append(f)
        s = j if starts is None else starts[j]
        e = j + 1 if ends is None else ends[j]
        new_starts.extend([s] * len(f))
        new_ends.extend([e] * len(f))
    return "".join(out), new_starts, new_ends


def _collapse(
    original: str, folded: str, starts: list[int] | None, ends: list[int] | None
) -> NormalizedText:
    """Remove zero-width characters, collapse and strip whitespace, and build the offset map."""
    # Fast path: nothing to remove (zero-width and whitespace other than " " are not printable).
    if folded.isprintable() and "  " not in folded and folded[:1] != " " and folded[-1:] != " ":
        if starts is None or ends is None:
            n = len(folded)
            return NormalizedText(original, folded, tuple(range(n + 1)), tuple(range(1, n + 1)))
        last = ends[-1] if ends else 0
        return NormalizedText(original, folded, (*starts, last), tuple(ends))
    parts: list[str] = []
    origin: list[int] = []
    origin_end: list[int] = []
    pos = 0

    def keep(a: int, b: int) -> None:
        parts.append(folded[a:b])
        if starts is None or ends is None:
            origin.extend(range(a, b))
            origin_end.extend(range(a + 1, b + 1))
        else:
            origin.extend(starts[a:b])
            origin_end.extend(ends[a:b])

    for m in _IRREGULAR.finditer(folded):
        a, b = m.span()
        if a > pos:
            keep(pos, a)
        pos = b
        # A run holding real whitespace between two kept characters becomes one space that maps
        # back to the whole run.
        if parts and b < len(folded) and any(c.isspace() for c in m.group()):
            parts.append(" ")
            origin.append(a if starts is None else starts[a])
            origin_end.append(b if ends is None else ends[b - 1])
    if pos < len(folded):
        keep(pos, len(folded))
    origin.append(origin_end[-1] if origin_end else 0)
    return NormalizedText(original, "".join(parts), tuple(origin), tuple(origin_end))
