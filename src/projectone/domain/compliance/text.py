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

import bisect
import functools
import itertools
import operator
import re
import unicodedata
from collections.abc import Sequence

import attrs

__all__ = [
    "ZERO_WIDTH",
    "NormalizedText",
    "is_nfc",
    "is_word_char",
    "join_normalized",
    "normalize",
    "normalize_phrase",
    "replace_lone_surrogates",
    "word_count",
    "word_starts",
]

#: Characters removed by normalisation: invisible, and used to split words so filters miss them.
ZERO_WIDTH: frozenset[str] = frozenset("\u200b\u200c\u200d\u2060\ufeff")

# Letters, digits and the combining marks that belong to a word: Devanagari matras (Mc/Mn),
# virama and nukta are inside words, so "गारंटी" is one word, not "ग", "र", "ट".
_WORD_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "No", "Mn", "Mc"})
_DEVANAGARI_DIGITS = tuple((chr(0x0966 + d), str(d)) for d in range(10))
_SURROGATE = re.compile("[\ud800-\udfff]")
_HAS_DEVANAGARI_DIGIT = re.compile("[\u0966-\u096f]")
_ZW_CLASS = "".join(sorted(ZERO_WIDTH))
# What str.splitlines() splits on: every one is also whitespace (str.isspace).
_LINE_BREAK_RE = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Step 5 changes offsets only where whitespace and zero-width characters do not map one to one:
# runs of two or more, zero-width characters, and whitespace at either end. A single line
# break or tab between two words becomes a space in place, so the offset map keeps it in a run
# copied as is. These seeds find the runs that matter; the runs are then grown to full length.
_LENGTH_CHANGING_SEED = re.compile(f"\\s\\s|[{_ZW_CLASS}]")
_RUN = re.compile(f"[\\s{_ZW_CLASS}]+")
_RUNS_OF = {" ": re.compile(" +"), "\n": re.compile("\n+")}
# Whitespace common in posts, which _collapsed_runs can read as a plain space.
_COMMON_WHITESPACE = ("\n", "\r", "\t")


def _has_zero_width(text: str) -> bool:
    # Five substring searches run ~10x faster than one regex search for the class of five.
    return (
        "\u200b" in text
        or "\u200c" in text
        or "\u200d" in text
        or "\u2060" in text
        or "\ufeff" in text
    )


def _without_zero_width(text: str) -> str:
    if not _has_zero_width(text):
        return text
    for zw in ZERO_WIDTH:
        text = text.replace(zw, "")
    return text


def _is_blank(c: str) -> bool:
    return c.isspace() or c in ZERO_WIDTH


def _collapsed_runs(folded: str) -> list[tuple[int, int]]:
    """The maximal runs of whitespace and zero-width characters whose length step 5 changes."""
    # Blank characters read as spaces, one for one (the offsets do not move): zero-width
    # characters (each one's run is length-changing), line breaks and tabs.
    spaced = folded
    invisible: list[int] = []
    if _has_zero_width(folded):
        for zw in ZERO_WIDTH:
            at = folded.find(zw)
            while at >= 0:
                invisible.append(at)
                at = folded.find(zw, at + 1)
            spaced = spaced.replace(zw, " ")
    if not spaced.isprintable():
        for c in _COMMON_WHITESPACE:
            if c in spaced:
                spaced = spaced.replace(c, " ")
    if not spaced.isprintable():  # other blank characters: the general way
        return _blank_runs(folded)
    # Now " " is the only blank character of ``spaced``.
    runs = _space_runs(spaced)
    if invisible:
        runs = sorted({*runs, *(_space_run_around(spaced, at) for at in invisible)})
    return runs


def _blank_runs(folded: str) -> list[tuple[int, int]]:
    """:func:`_collapsed_runs` for any text (one regex search over all of it)."""
    runs: list[tuple[int, int]] = []
    n = len(folded)

    def add(at: int) -> None:
        start = at
        while start > 0 and _is_blank(folded[start - 1]):
            start -= 1
        run = _RUN.match(folded, at)
        runs.append((start, run.end() if run else at))

    if folded[:1].isspace():
        add(0)
    for m in _LENGTH_CHANGING_SEED.finditer(folded):
        if not runs or m.start() >= runs[-1][1]:
            add(m.start())
    if folded[-1:].isspace() and (not runs or runs[-1][1] < n):
        add(n - 1)
    return runs


def _space_runs(text: str) -> list[tuple[int, int]]:
    """:func:`_collapsed_runs` for a text whose only blank character is ``" "``."""
    return _blank_runs_of(text, " ")


def _blank_runs_of(text: str, blank: str) -> list[tuple[int, int]]:
    """:func:`_collapsed_runs` for a text whose only blank characters are ``blank`` (or whose
    other ones, single spaces between words, keep their length): the runs of two or more, and
    one at either end. ``str.find`` is several times faster than the regex search of the
    general case, and prose has few such runs."""
    runs: list[tuple[int, int]] = []
    n = len(text)
    pos = 0
    run = _RUNS_OF[blank]
    if text[:1] == blank:
        pos = _run_end(run, text, 0)
        runs.append((0, pos))
    double = blank + blank
    at = text.find(double, pos)
    while at >= 0:  # the first double at or after the end of a run starts the next run
        pos = _run_end(run, text, at)
        runs.append((at, pos))
        at = text.find(double, pos)
    if text[-1:] == blank and (not runs or runs[-1][1] < n):
        runs.append((n - 1, n))  # a single one at the end (a longer run was found above)
    return runs


def _space_run_around(text: str, at: int) -> tuple[int, int]:
    """The maximal run of spaces holding ``text[at]`` (a space)."""
    start = at
    while start > 0 and text[start - 1] == " ":
        start -= 1
    return start, _run_end(_RUNS_OF[" "], text, at)


def _run_end(run: re.Pattern[str], text: str, at: int) -> int:
    found = run.match(text, at)
    return found.end() if found else at


# Prose uses few distinct characters; the cache halves the cost of the negation tokeniser.
@functools.lru_cache(maxsize=4096)
def is_word_char(c: str) -> bool:
    """Whether the single character ``c`` is part of a word: a letter, digit or combining mark.

    ``_`` is not (it joins words in identifiers, not in prose). Phrase boundaries and the
    negation tokeniser both use this one definition so they agree on what a word is.
    """
    return unicodedata.category(c) in _WORD_CATEGORIES


def _bmp_only(text: str) -> bool:
    """Whether ``text`` has no character beyond the Basic Multilingual Plane (those take four
    bytes in UTF-16, every other code point two; several times faster than a regex search)."""
    return text.isascii() or len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text)


@functools.cache
def _bmp_word_class_body() -> str:
    """The word characters of the Basic Multilingual Plane, as the inside of a ``[...]`` class.

    Built on first use from :mod:`unicodedata` (so it follows :func:`is_word_char` exactly, on
    any Unicode version), ~15 ms once. Only BMP characters: ``re`` then stores the class as a
    bitmap with constant-time lookups, where a class reaching past U+FFFF is a list of ranges
    searched one by one, several times slower.
    """
    ranges: list[tuple[int, int]] = []
    start: int | None = None
    for code in range(0x10000):
        word = unicodedata.category(chr(code)) in _WORD_CATEGORIES
        if word and start is None:
            start = code
        elif not word and start is not None:
            ranges.append((start, code - 1))
            start = None
    if start is not None:
        ranges.append((start, 0xFFFF))
    return "".join(f"\\u{a:04x}" if a == b else f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges)


@functools.cache
def _bmp_word_run() -> re.Pattern[str]:
    """A run of word characters of the Basic Multilingual Plane."""
    return re.compile(f"[{_bmp_word_class_body()}]+")


def word_run() -> re.Pattern[str]:
    """A run of :func:`is_word_char` characters of the Basic Multilingual Plane (a character
    beyond it never matches, whether or not it is a word character)."""
    return _bmp_word_run()


@functools.cache
def words_and_spaces() -> re.Pattern[str]:
    """A run, maybe empty, of :func:`is_word_char` characters of the Basic Multilingual Plane
    and plain spaces (a character beyond the BMP never matches, word character or not)."""
    return re.compile(f"[{_bmp_word_class_body()} ]*")


def word_starts(text: str) -> list[int]:
    """The index of the first character of every word of ``text``, in order.

    A word is a maximal run of :func:`is_word_char` characters.
    """
    if _bmp_only(text):
        return [m.start() for m in _bmp_word_run().finditer(text)]
    return [
        i
        for i, c in enumerate(text)
        if is_word_char(c) and (i == 0 or not is_word_char(text[i - 1]))
    ]


_NUKTA = "\u093c"


def is_nfc(text: str) -> bool:
    """``unicodedata.is_normalized("NFC", text)``, several times faster on Hindi text.

    The Devanagari nukta may compose with what precedes it, so its mere presence sends
    :func:`unicodedata.is_normalized` from its quick check to a full normalisation of the whole
    text. A space never composes or reorders with its neighbours, so NFC of a text is NFC of
    its pieces cut next to spaces: only the words holding a nukta need the slow check.
    """
    at = text.find(_NUKTA)
    if at < 0:
        return unicodedata.is_normalized("NFC", text)
    pos = 0
    while at >= 0:
        start = max(pos, text.rfind(" ", pos, at) + 1)
        end = text.find(" ", at)
        if end < 0:
            end = len(text)
        if not (
            unicodedata.is_normalized("NFC", text[pos:start])
            and unicodedata.is_normalized("NFC", text[start:end])
        ):
            return False
        pos = end
        at = text.find(_NUKTA, end)
    return unicodedata.is_normalized("NFC", text[pos:])


def word_count(text: str, cap: int | None = None) -> int:
    """How many words ``text`` holds (``len(word_starts(text))``, without listing them).

    With ``cap``, counting stops there: ``min(count, cap)``.
    """
    if cap == 1 and _bmp_word_run().search(text) is not None:
        return 1  # ("is there a word?" a run of BMP word characters is one, whatever follows)
    if _bmp_only(text):
        if cap is None:
            return _bmp_word_run().subn("", text)[1]
        return sum(1 for _ in itertools.islice(_bmp_word_run().finditer(text), cap))
    n = len(word_starts(text))
    return n if cap is None else min(n, cap)


def replace_lone_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (same length, same indices)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


# One piece of the map from normalised text back to the original, starting at normalised
# index ``at``: either a run copied unchanged from original index ``start`` on (``ends`` is
# None, ``unit`` False), a run whose every character came from the one unit ``[start, end)``
# (``unit`` True: a collapsed whitespace run), or explicit per-character maps (``starts`` and
# ``ends`` given) where NFC or case folding changed lengths.
_Piece = tuple[int, bool, int, int, "tuple[int, ...] | None", "tuple[int, ...] | None"]


@attrs.frozen
class _OffsetMap:
    pieces: tuple[_Piece, ...]
    piece_at: tuple[int, ...]
    last_end: int

    def start_of(self, i: int) -> int:
        at, unit, start, _end, starts, _ends = self.pieces[
            bisect.bisect_right(self.piece_at, i) - 1
        ]
        if starts is not None:
            return starts[i - at]
        return start if unit else start + i - at

    def end_of(self, i: int) -> int:
        at, unit, start, end, _starts, ends = self.pieces[bisect.bisect_right(self.piece_at, i) - 1]
        if ends is not None:
            return ends[i - at]
        return end if unit else start + i - at + 1


@attrs.frozen
class NormalizedText:
    """A normalised string and the map from its characters back to the original string.

    ``origin[i]`` is where, in ``original``, the unit that produced normalised character ``i``
    starts; ``origin_end[i]`` is where it ends. ``origin`` has one more entry than ``text``:
    ``origin[len(text)]`` is the end of the last unit (0 when ``text`` is empty). Both are
    non-decreasing. Use :meth:`original_span` to map a match back.

    Most texts are only matched, never mapped back (evidence is only reported for violated
    rules), so the map is built on first use, from a compact piecewise form (a few pieces per
    text); the per-character tuples are only built when ``origin`` is read.
    """

    original: str
    text: str
    # What step 5 started from, and the explicit maps of steps 1-2 (None: identity).
    _folded: str = attrs.field(eq=False, repr=False, alias="folded")
    _starts: list[int] | None = attrs.field(eq=False, repr=False, alias="starts")
    _ends: list[int] | None = attrs.field(eq=False, repr=False, alias="ends")
    #: Whether ``original`` was already in NFC (so its NFC length is its length).
    original_is_nfc: bool = attrs.field(default=False, eq=False, repr=False, kw_only=True)
    # The non-empty parts this text joins (join_normalized): its line breaks come from theirs.
    _parts: tuple[NormalizedText, ...] | None = attrs.field(
        default=None, eq=False, repr=False, kw_only=True, alias="parts"
    )
    # Whether the folded text is plain lines: split by "\n" alone, no zero-width character,
    # each line printable without double, leading or trailing spaces. Then only runs of "\n"
    # change length in step 5, which makes the offset map quicker to build.
    _plain: bool = attrs.field(default=False, eq=False, repr=False, kw_only=True, alias="plain")
    _map: list[_OffsetMap] = attrs.field(init=False, factory=list, eq=False, repr=False)
    _breaks: list[frozenset[int]] = attrs.field(init=False, factory=list, eq=False, repr=False)

    def line_breaks(self) -> frozenset[int]:
        """Indices of the spaces in ``text`` that stand for whitespace holding a line break.

        Matching reads across line breaks (a phrase split over two lines still matches), but
        a clause does not: the negation heuristic ends a clause at these spaces, so a heading
        such as "Invest without worry" cannot negate "Guaranteed returns" on the next line.
        """
        if not self._breaks:
            folded = self._folded
            found: frozenset[int] = frozenset()
            if self._parts is not None:
                found = _joined_breaks(self._parts)
            elif _LINE_BREAK_RE.search(folded) is not None:
                found = _breaks_between_lines(_without_zero_width(folded))
            self._breaks.append(found)
        return self._breaks[0]

    def _offsets(self) -> _OffsetMap:
        if not self._map:
            length, offsets = _offset_map(self._folded, self._starts, self._ends, self._plain)
            # The text and its map are built apart; fail loudly if they ever disagree.
            assert length == len(self.text), "normalised text and its offset map disagree"
            self._map.append(offsets)
        return self._map[0]

    @property
    def origin(self) -> tuple[int, ...]:
        """Where the unit behind each normalised character starts, plus the end of the last."""
        offsets = self._offsets()
        return (*(offsets.start_of(i) for i in range(len(self.text))), offsets.last_end)

    @property
    def origin_end(self) -> tuple[int, ...]:
        """Where the unit behind each normalised character ends."""
        offsets = self._offsets()
        return tuple(offsets.end_of(i) for i in range(len(self.text)))

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original ``[start, end)`` that normalised ``[start, end)`` came from.

        Out-of-range bounds are clamped. A match that starts or ends inside an expansion (the
        first ``s`` of ``"ß"`` → ``"ss"``) widens to the whole original character, so the
        original slice always covers the match; an empty span maps to an empty span.
        """
        n = len(self.text)
        start = max(0, min(start, n))
        end = max(start, min(end, n))
        offsets = self._offsets()
        if end == start:
            at = offsets.last_end if start == n else offsets.start_of(start)
            return at, at
        return offsets.start_of(start), offsets.end_of(end - 1)

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
            # Ten str.replace calls run ~10x faster than str.translate on non-ASCII text.
            for digit, ascii_digit in _DEVANAGARI_DIGITS:
                folded = folded.replace(digit, ascii_digit)
        folded = replace_lone_surrogates(folded)
    # str.split() splits on exactly the characters str.isspace() accepts; removing zero-width
    # characters first joins what they split ("gua\u200branteed") and leaves the spaces around.
    breaks: frozenset[int] | None = frozenset()  # none: only " " between words
    if _regular_spaces(folded):
        collapsed, plain = folded, True
    else:
        collapsed, breaks, plain = _collapsed(folded)
    normalized = NormalizedText(
        text,
        collapsed,
        folded=folded,
        starts=starts,
        ends=ends,
        original_is_nfc=nfc is text,
        plain=plain,
    )
    if breaks is not None:  # (what line_breaks() would work out, known here for free)
        normalized._breaks.append(breaks)
    return normalized


def _collapsed(folded: str) -> tuple[str, frozenset[int] | None, bool]:
    """Step 5: ``folded`` without zero-width characters, whitespace runs collapsed to one space,
    stripped; its line breaks when they come for free (``None`` otherwise); and whether
    ``folded`` is plain lines (see ``NormalizedText._plain``)."""
    visible = _without_zero_width(folded)
    if visible is not folded and _regular_spaces(visible):
        return visible, frozenset(), False  # (printable: no line break)
    regular = _regular_lines(visible)
    if regular is not None:
        lines, joined = regular
        return joined, _breaks_of_lines(lines), visible is folded
    return " ".join(visible.split()), None, False


def _regular_lines(folded: str) -> tuple[list[str], str] | None:
    """The non-empty lines of ``folded``, and their ``" ".join``, when ``folded`` is lines split
    by ``"\\n"`` alone, each of which step 5 leaves as is; ``None`` otherwise.

    Then ``" ".join`` of them is step 5's result: a few passes in C where splitting the whole
    text into words and joining them again costs several times more. The test: their join has
    no other whitespace than single spaces between words (nor any zero-width character,
    which is not printable).
    """
    if "\n" not in folded:
        return None
    lines = list(filter(None, folded.split("\n")))
    joined = " ".join(lines)
    return (lines, joined) if _regular_spaces(joined) else None


def _starts_with_mark(text: str) -> bool:
    c = text[:1]
    return bool(c) and bool(
        unicodedata.combining(c) or unicodedata.combining(unicodedata.normalize("NFD", c)[:1])
    )


def join_normalized(parts: Sequence[NormalizedText], separator: str = "\n\n") -> NormalizedText:
    """``normalize(separator.join(originals))``, computed from the parts already normalised.

    ``separator`` must be whitespace: whitespace neither composes nor reorders under NFC and
    collapses with the parts' own leading and trailing whitespace, so the normalised whole is
    the non-empty normalised parts joined by one space (the offset map follows, shifted).
    """
    if not separator or not separator.isspace():
        raise ValueError(f"the separator must be whitespace, not {separator!r}")
    original = separator.join(p.original for p in parts)
    if any(_starts_with_mark(p.original) for p in parts[1:]):
        # A part opening with a combining mark joins the separator's last character in NFC's
        # eyes; the offsets would be attributed differently. Rare: normalise the whole instead.
        return normalize(original)
    text = " ".join(p.text for p in parts if p.text)
    folded = separator.join(p._folded for p in parts)
    joined = _join_offsets(original, text, folded, parts, separator)
    object.__setattr__(joined, "original_is_nfc", all(p.original_is_nfc for p in parts))
    # The line breaks are only read for negation: worked out from the parts when asked for.
    object.__setattr__(joined, "_parts", tuple(p for p in parts if p.text))
    # Plain lines joined by line breaks are plain lines.
    plain = not separator.strip("\n") and all(p._plain for p in parts)
    object.__setattr__(joined, "_plain", plain)
    return joined


def _joined_breaks(parts: Sequence[NormalizedText]) -> frozenset[int]:
    """The line breaks of the non-empty ``parts`` joined: each part's own, shifted, and the
    separators between them (what the whole's offset map would say, without building it)."""
    breaks: set[int] = set()
    at = 0
    for part in parts:
        if at:
            breaks.add(at - 1)
        breaks.update(map(at.__add__, part.line_breaks()))
        at += len(part.text) + 1
    return frozenset(breaks)


def _join_offsets(
    original: str, text: str, folded: str, parts: Sequence[NormalizedText], separator: str
) -> NormalizedText:
    if all(p._starts is None for p in parts):
        return NormalizedText(original, text, folded=folded, starts=None, ends=None)
    starts: list[int] = []
    ends: list[int] = []
    shift = 0
    for i, part in enumerate(parts):
        if i:
            starts.extend(range(shift, shift + len(separator)))
            ends.extend(range(shift + 1, shift + len(separator) + 1))
            shift += len(separator)
        if part._starts is None or part._ends is None:
            starts.extend(range(shift, shift + len(part._folded)))
            ends.extend(range(shift + 1, shift + len(part._folded) + 1))
        else:
            starts.extend(s + shift for s in part._starts)
            ends.extend(e + shift for e in part._ends)
        shift += len(part.original)
    return NormalizedText(original, text, folded=folded, starts=starts, ends=ends)


def normalize_phrase(phrase: str) -> str:
    """The normalised form of ``phrase``: what it must equal in normalised text to match."""
    return normalize(phrase).text


def _nfc_with_offsets(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """NFC of ``text`` and the original start/end of each of its characters (None: identity)."""
    if is_nfc(text):
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


def _breaks_between_lines(folded: str) -> frozenset[int]:
    """Where, in ``" ".join(folded.split())``, the spaces between two lines fall.

    The text's words are the lines' words in order; the space before the first word of every
    non-empty line but the first stands for a line break. (Without zero-width characters only:
    those are removed, not split on.) :func:`normalize` works them out faster, from the lines,
    where each line collapses to itself.
    """
    breaks: list[int] = []
    at = -1  # where the space after the text so far would be
    for line in folded.splitlines():
        n = len(" ".join(line.split()))
        if n:
            if at >= 0:
                breaks.append(at)
            at += n + 1
    return frozenset(breaks)


def _breaks_of_lines(lines: list[str]) -> frozenset[int]:
    """The line breaks of ``" ".join(lines)`` for non-empty ``lines`` that each collapse to
    themselves: the k-th break sits after k lines and k - 1 spaces (all in C)."""
    lengths = list(map(len, lines))
    return frozenset(map(operator.add, itertools.accumulate(lengths[:-1]), itertools.count()))


def _regular_spaces(folded: str) -> bool:
    """Whether step 5 has nothing to do (zero-width and whitespace but " " are not printable)."""
    return folded.isprintable() and "  " not in folded and folded[:1] != " " and folded[-1:] != " "


def _offset_map(
    folded: str, starts: list[int] | None, ends: list[int] | None, plain: bool = False
) -> tuple[int, _OffsetMap]:
    """The offset map of step 5 over ``folded``, and the length of the text it maps."""
    pieces: list[_Piece] = []
    identity = starts is None or ends is None
    at = 0
    last_end = 0
    pos = 0
    n = len(folded)
    runs = _blank_runs_of(folded, "\n") if plain else _collapsed_runs(folded)
    for a, b in [*runs, (n, n)]:
        if a > pos:  # folded[pos:a] maps one to one
            if identity:
                pieces.append((at, False, pos, 0, None, None))
                last_end = a
            else:
                assert starts is not None
                assert ends is not None
                pieces.append((at, False, 0, 0, tuple(starts[pos:a]), tuple(ends[pos:a])))
                last_end = ends[a - 1]
            at += a - pos
        pos = b
        # A run holding real whitespace between two kept characters becomes one space that maps
        # back to the whole run.
        # (A run is blank characters only: it holds whitespace unless all zero-width.)
        if at and b < n and folded[a:b].strip(_ZW_CLASS):
            unit_end = b if ends is None else ends[b - 1]
            pieces.append((at, True, a if starts is None else starts[a], unit_end, None, None))
            last_end = unit_end
            at += 1
    if not pieces:
        pieces.append((0, False, 0, 0, None, None))
    return at, _OffsetMap(tuple(pieces), tuple(p[0] for p in pieces), last_end)
