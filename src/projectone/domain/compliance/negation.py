"""Is a phrase match negated? The heuristic behind ``AFFIRMS`` (DESIGN.md §3.2).

Phrase lists blind to negation block compliant posts: "returns are not guaranteed", the
mandatory "…in no way guarantee performance…", "गारंटी नहीं देता", "हमी देत नाही" are the
opposite of a promise. :func:`is_negated` decides, for one match in *normalised* text, whether
it sits in a negated clause. It is a deliberately small, explainable heuristic — no parser, no
model — tuned so that an affirmative claim next to an unrelated negation ("guaranteed returns
with no risk") still counts as affirmed: for compliance, missing a violation is worse than
asking a human to look at a compliant post.

**Clause.** The match's clause runs, on each side, up to the nearest boundary: ``. ! ? ; :``,
``।``, ``॥``, ``,``, ``…``, ``•``, ``|``, a line break (normalisation turns it into a space so
phrases still match across lines; the caller passes those positions as ``breaks``, which is
also how the parts of a post — title, body, call to action, disclaimer — stay separate
clauses), any "other symbol" character (emoji such as ✅ and 🚀 start WhatsApp bullets), or a
contrast conjunction that starts a new clause (but, however, although, though, whereas,
लेकिन, परंतु, किंतु, पण, मात्र). ``.``, ``,`` and ``:`` between digits (``12.5``, ``1,00,000``,
``9:30``) are not boundaries. "or" and "and" do not end the clause (the SEBI disclaimer's
"in no way guarantee performance … or provide any assurance of returns" must stay one clause),
but "and" (and, plus, और, एवं, तथा, आणि, व) ends the *reach* of a cue: a cue never negates
across it, so "no lock-in and guaranteed returns" is affirmed. At most 400 characters on each
side are examined.

**English cues negate what follows them** (English puts negation before the verb or noun):

* verbal cues — not, never, cannot, can't, don't, doesn't, didn't, isn't, aren't, won't,
  wasn't, weren't, hasn't, haven't, shouldn't, wouldn't, couldn't (apostrophe ' or ’, or
  none: dont, isnt…) — negate a phrase that starts within 5 words after them
  ("do not offer any kind of guaranteed returns"), so "do not", "does not", "is not", "are not"
  are covered by "not";
* determiner cues — no, none, nothing, nobody, without, neither, nor — negate within 3 words
  ("no hidden charges" negates "hidden charges", but "no lock-in period guaranteed returns"
  does not reach "guaranteed returns"); "non" negates the next word ("non-guaranteed");
* clause-wide cues — "in no way", "by no means", "in no manner", "under no circumstances" —
  negate any phrase after them in the clause;
* warnings — beware, avoid, wary, shun, and "watch out for", "stay away from", "steer clear
  of" — negate a phrase that follows with at most two of "of", "any", "all", "such" between
  ("beware of guaranteed returns", "be wary of any assured returns"), but not one further away
  ("avoid missing guaranteed returns" is affirmed).

Exceptions: "why not", "not only/just/merely/simply", "no doubt/wonder/matter/less" and "no"
before a number ("No 1 fund") are not negations. Cues *after* an English phrase do not negate
it: "Get guaranteed returns of 12% with no risk" affirms "guaranteed returns".

**Hindi and Marathi cues negate what precedes them** (the verb and its negation close the
clause): नहीं (also नही, नहीँ), न, ना, मत; नाही, नाहीत, नका negate a phrase anywhere before them
in the clause ("…कोई गारंटी नहीं देते", "…हमी देत नाहीत"), and so do the warnings सावधान, बचें,
बचिए, बचना, बचो; सावध, टाळा, टाळावे ("…के दावों से सावधान रहें", "…योजना टाळा"). Negators (not
warnings) also negate a phrase right after them (at most 2 words: "न गारंटी"). A clause-final
"ना?"/"न?" is a tag question ("…चाहिए ना?"), not a negation. A relative pronoun (जो, जिसमें,
जिससे, ज्यात, ज्यामध्ये…) ends the reach of a following cue: in "गारंटीड रिटर्न जिसमें कोई जोखिम
नहीं" the नहीं belongs to the relative clause. "Without" — बिना, विना, शिवाय, बगैर — negates a
phrase that follows within 3 words unless a closing postposition (के, की) comes between ("बिना
किसी गारंटी के" negates, "बिना जोखिम के गारंटीड रिटर्न" does not), and a phrase just before it:
"गारंटी के बिना", "हमी विना" (विना/शिवाय/बगैर directly, any of them after के/की/च्या).

All cues apply to every language: posts mix scripts ("guaranteed returns नहीं मिलते"), so
``language`` is only a hint and currently does not change the outcome.

**Known limits.** Windows count words, not syntax: "Funds that do not charge exit load offer
guaranteed returns" reads as negated (a false pass); "without any kind of guarantee" is not
(a false flag). Double negation ("not without risk") counts as negation. "मत" also means
"opinion/vote" and "न" also starts "न केवल" (not only). A cue attached to a word as a suffix
("हमीशिवाय") is not seen, and neither is the phrase inside that word. Sarcasm, questions
("Guaranteed returns? Not here.") and negation carried by a separate sentence are out of reach.
A sentence wrapped over two lines is two clauses, so "returns are not\nguaranteed" is affirmed
(a false flag, never a false pass).
"""

from __future__ import annotations

import functools
import itertools
import operator
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Set as AbstractSet
from types import MappingProxyType

from projectone.domain.compliance.text import (
    is_word_char,
    normalize_phrase,
    word_run,
    words_and_spaces,
)

__all__ = ["NEGATION_CUES", "is_negated", "is_negated_reference"]

_MAX_CONTEXT = 400
_VERBAL_WINDOW = 5
_DETERMINER_WINDOW = 3
_DEVANAGARI_BEFORE_WINDOW = 2
_WITHOUT_WINDOW = 3
_WARNING_REACH = 2


def _words(words: Iterable[str]) -> frozenset[str]:
    # Cues are compared with tokens of normalised text, so normalise them the same way.
    return frozenset(normalize_phrase(w) for w in words)


_EN_VERBAL = (
    "not", "never", "cannot", "can't", "don't", "doesn't", "didn't", "isn't", "aren't", "won't",
    "wasn't", "weren't", "hasn't", "haven't", "shouldn't", "wouldn't", "couldn't",
)  # fmt: skip
_EN_VERBAL_BARE = ("cant", "dont", "doesnt", "didnt", "isnt", "arent", "wont")
_EN_DETERMINER = ("no", "none", "nothing", "nobody", "without", "neither", "nor")
_EN_CLAUSE_WIDE = ("in no way", "by no means", "in no manner", "under no circumstances")
_HI_NEGATORS = ("नहीं", "नही", "नहीँ", "न", "ना", "मत")
_MR_NEGATORS = ("नाही", "नाहीत", "न", "नका")
_HI_WITHOUT = ("बिना", "बगैर", "बग़ैर")
_MR_WITHOUT = ("विना", "शिवाय")

_EN_WARNINGS = ("beware", "avoid", "wary", "shun")
_EN_WARNING_TRIPLES = ("watch out for", "stay away from", "steer clear of")
_HI_WARNINGS = ("सावधान", "बचें", "बचिए", "बचना", "बचो")
_MR_WARNINGS = ("सावध", "टाळा", "टाळावे", "टाळावा")

#: The negation cues per language, for documentation; every cue applies to every language.
NEGATION_CUES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "en": (
            *_EN_VERBAL,
            *_EN_DETERMINER,
            "non",
            *_EN_CLAUSE_WIDE,
            *_EN_WARNINGS,
            *_EN_WARNING_TRIPLES,
        ),
        "hi": (*_HI_NEGATORS, *_HI_WITHOUT, *_HI_WARNINGS),
        "mr": (*_MR_NEGATORS, *_MR_WITHOUT, *_MR_WARNINGS),
    }
)

_VERBAL = _words(_EN_VERBAL + _EN_VERBAL_BARE)
_DETERMINER = _words(_EN_DETERMINER)
_PREFIX = _words(["non"])
_CLAUSE_WIDE: frozenset[tuple[str | None, ...]] = frozenset(
    tuple(normalize_phrase(c).split(" ")) for c in _EN_CLAUSE_WIDE
)
_DEVANAGARI_NEGATORS = _words(_HI_NEGATORS + _MR_NEGATORS)
_TAG_PARTICLES = _words(["ना", "न"])
_WITHOUT = _words(_HI_WITHOUT + _MR_WITHOUT)
_WITHOUT_DIRECTLY_AFTER = _words(["विना", "शिवाय", "बगैर", "बग़ैर"])
_CLOSING_POSTPOSITIONS = _words(["के", "की"])
_LINKING_POSTPOSITIONS = _words(["के", "की", "च्या"])
_WARNING_WORDS = _words(_EN_WARNINGS)
_WARNING_FILLERS = _words(["of", "any", "all", "such"])
_WARNING_TRIPLES: frozenset[tuple[str | None, ...]] = frozenset(
    tuple(normalize_phrase(c).split(" ")) for c in _EN_WARNING_TRIPLES
)
# The words a warning can start with (nearest first is the last word read: see _warns).
_WARNING_STARTS = _WARNING_WORDS | {t[0] for t in _WARNING_TRIPLES if t[0] is not None}
_DEVANAGARI_WARNINGS = _words(_HI_WARNINGS + _MR_WARNINGS)
_EN_CONTRAST = ("but", "however", "although", "though", "whereas")
_DEVANAGARI_CONTRAST = ("लेकिन", "परंतु", "परन्तु", "किंतु", "किन्तु", "पण", "मात्र")
_CONTRAST = _words(_EN_CONTRAST + _DEVANAGARI_CONTRAST)
_AND = _words(["and", "plus", "और", "एवं", "तथा", "आणि", "व"])
_HI_RELATIVE = ("जो", "जिसमें", "जिसके", "जिसकी", "जिसका", "जिससे", "जिसे", "जिन्हें", "जिनमें", "जहाँ", "जहां")
_MR_RELATIVE = ("ज्यात", "ज्यामध्ये", "ज्याच्या", "ज्यांना", "ज्यांच्या")
_RELATIVE = _words(_HI_RELATIVE + _MR_RELATIVE)
_NOT_EXCEPTIONS_AFTER = _words(["only", "just", "merely", "simply"])
_NO_EXCEPTIONS_AFTER = _words(["doubt", "wonder", "matter", "less"])

# Languages whose negation mostly follows the phrase: is_negated reads that side first.
_NEGATES_AFTER = frozenset({"hi", "mr"})
_BOUNDARIES = frozenset(".!?;:,।॥…•|\n\r\u2028\u2029")
_BETWEEN_DIGITS_OK = frozenset(".,:")
_APOSTROPHES = frozenset("'\u2019\u02bc")


def is_negated(
    text: str,
    start: int,
    end: int,
    language: str | None = None,
    breaks: AbstractSet[int] = frozenset(),
) -> bool:
    """Whether the match ``text[start:end]`` sits in a negated clause (see module docstring).

    ``text`` is normalised text (:func:`~projectone.domain.compliance.text.normalize`); out of
    range bounds are clamped. ``language`` is a hint only: cues of every language apply (posts
    mix scripts); it only decides which side of the match is read first. ``breaks`` are the
    indices of the spaces that stand for line breaks
    (:meth:`~projectone.domain.compliance.text.NormalizedText.line_breaks`): they end a clause.
    Never raises.

    :func:`is_negated_reference` reads the clause character by character; this function reads
    whole runs of words at once and must agree with it (a property test holds them to it).
    """
    n = len(text)
    start = max(0, min(start, n))
    end = max(start, min(end, n))
    # The nearest line breaks on either side (they end the clause).
    before, after = -1, n
    for b in breaks:
        if before < b < start:
            before = b
        elif end <= b < after:
            after = b
    # The outcome is "negated before or negated after", two readings without side effects: the
    # order only changes the time. Hindi and Marathi negate after the phrase, English before.
    if language in _NEGATES_AFTER:
        return _negated_from_after(text, _words_forward(text, end, breaks, after)) or (
            _negated_from_before(
                _words_backward(text, start, breaks, before), _first_word(text, start, end, breaks)
            )
        )
    return _negated_from_before(
        _words_backward(text, start, breaks, before), _first_word(text, start, end, breaks)
    ) or _negated_from_after(text, _words_forward(text, end, breaks, after))


def is_negated_reference(
    text: str,
    start: int,
    end: int,
    language: str | None = None,
    breaks: AbstractSet[int] = frozenset(),
) -> bool:
    """:func:`is_negated` reading the clause one character at a time: slower, plainly
    following the rules of the module docstring; the oracle the fast reading is tested against."""
    del language
    n = len(text)
    start = max(0, min(start, n))
    end = max(start, min(end, n))
    first_word = next(_reference_words_forward(text, start, breaks, end), None)
    return _negated_from_before(
        _reference_words_backward(text, start, breaks), first_word and first_word[0]
    ) or _negated_from_after(text, _reference_words_forward(text, end, breaks))


def _is_boundary(text: str, i: int, breaks: AbstractSet[int]) -> bool:
    """Whether ``text[i]`` (not a word character) ends a clause."""
    if i in breaks:
        return True
    c = text[i]
    if c in _BOUNDARIES:
        between_digits = 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit()
        return not (c in _BETWEEN_DIGITS_OK and between_digits)
    return c != " " and _is_other_symbol(c)


@functools.lru_cache(maxsize=4096)
def _is_other_symbol(c: str) -> bool:
    return unicodedata.category(c) == "So"


def _joins(text: str, i: int) -> bool:
    """Whether ``text[i]`` sits inside a word: an apostrophe (can't), a digit separator (1,000)."""
    c = text[i]
    if c in _APOSTROPHES:
        return is_word_char(text[i - 1]) and is_word_char(text[i + 1])
    return c in _BETWEEN_DIGITS_OK and text[i - 1].isdigit() and text[i + 1].isdigit()


def _token(raw: str) -> str:
    # Typographic apostrophes read as "'" (can’t = can't); most words have none.
    if "\u2019" in raw:
        raw = raw.replace("\u2019", "'")
    if "\u02bc" in raw:
        raw = raw.replace("\u02bc", "'")
    return raw


def _reference_words_backward(text: str, start: int, breaks: AbstractSet[int]) -> Iterator[str]:
    """The words of the clause before ``start``, nearest first (at most ``_MAX_CONTEXT`` chars)."""
    return _read_backward(text, start - 1, max(0, start - _MAX_CONTEXT), breaks)


def _read_backward(text: str, i: int, lo: int, breaks: AbstractSet[int]) -> Iterator[str]:
    """The words of the clause from ``text[i]`` back to ``text[lo]``, one character at a time."""
    word_char = is_word_char
    while i >= lo:
        c = text[i]
        if c == " " and i not in breaks:  # the common case, before any call
            i -= 1
        elif word_char(c):
            j = i
            while j > lo and (word_char(text[j - 1]) or (j - 1 > lo and _joins(text, j - 1))):
                j -= 1
            if j == lo and lo > 0 and word_char(text[lo - 1]):
                return  # a word cut by the context window
            word = _token(text[j : i + 1])
            if word in _CONTRAST:
                return
            yield word
            i = j - 1
        elif _is_boundary(text, i, breaks):
            return
        else:
            i -= 1


def _reference_words_forward(
    text: str, begin: int, breaks: AbstractSet[int], hi: int | None = None
) -> Iterator[tuple[str, int]]:
    """The words of the clause from ``begin`` with their end offsets, in text order."""
    hi = min(len(text), begin + _MAX_CONTEXT) if hi is None else hi
    return _read_forward(text, begin, hi, breaks)


def _read_forward(
    text: str, i: int, hi: int, breaks: AbstractSet[int]
) -> Iterator[tuple[str, int]]:
    """The words of the clause from ``text[i]`` up to ``text[hi]`` (excluded), one character at
    a time, with their end offsets."""
    word_char = is_word_char
    while i < hi:
        c = text[i]
        if c == " " and i not in breaks:
            i += 1
        elif word_char(c):
            j = i + 1
            while j < hi and (word_char(text[j]) or (j + 1 < hi and _joins(text, j))):
                j += 1
            word = _token(text[i:j])
            if word in _CONTRAST:
                return
            yield word, j
            i = j
        elif _is_boundary(text, i, breaks):
            return
        else:
            i += 1


# The readers is_negated uses. A clause is mostly words and single spaces: such a stretch is
# found with one regex match and split into words with str.split, in C, where the reference
# readers above step one character at a time. Whatever ends the stretch decides what follows:
# a clause boundary or a line break ends the clause, the end of the text or of the window ends
# the reading; anything else (an apostrophe or digit separator that may join two words, a
# hyphen, a character beyond the Basic Multilingual Plane...) hands over to the reference
# reader, which reads on from the word next to it. So both read the same words.


def _words_backward(text: str, start: int, breaks: AbstractSet[int], before: int) -> Iterator[str]:
    """:func:`_reference_words_backward`, faster; ``before`` is the nearest line break before
    ``start`` (-1 if none)."""
    lo = max(0, start - _MAX_CONTEXT)
    if before >= lo:
        if text[before] != " ":  # a "line break" inside a word is not one: rare, no shortcut
            return _read_backward(text, start - 1, lo, breaks)
        stop = before + 1
    else:
        stop = lo
    # The stretch of words and spaces just before ``start``: text[at:start].
    at = start - _stretch(text[stop:start][::-1], 0, start - stop)
    stretch = text[at:start]
    words = stretch.split()
    words.reverse()  # nearest first
    rest: Iterator[str] | None = None
    if at > stop:
        if not _is_boundary(text, at - 1, breaks):
            if at < start and text[at] != " ":
                # The farthest word may run on through text[at - 1]: the reference reads it.
                farthest = words.pop()
                rest = _read_backward(text, at + len(farthest) - 1, lo, breaks)
            else:
                rest = _read_backward(text, at - 1, lo, breaks)
    elif stop == lo > 0 and at < start and text[at] != " " and is_word_char(text[lo - 1]):
        words.pop()  # the farthest word is cut by the window: the reference stops before it
    if "\u02bc" in stretch:  # ʼ is a word character: see _token (’ is not)
        words = [_token(word) for word in words]
    if not _CONTRAST.isdisjoint(words):
        for k, word in enumerate(words):
            if word in _CONTRAST:  # a contrast word ends the clause
                return iter(words[:k])
    return iter(words) if rest is None else itertools.chain(words, rest)


def _words_forward(
    text: str, begin: int, breaks: AbstractSet[int], after: int
) -> Iterator[tuple[str, int]]:
    """:func:`_reference_words_forward`, faster; ``after`` is the nearest line break at or
    after ``begin`` (``len(text)`` if none)."""
    hi = min(len(text), begin + _MAX_CONTEXT)
    if after < hi:
        if text[after] != " ":
            return _read_forward(text, begin, hi, breaks)
        stop = after
    else:
        stop = hi
    # The stretch of words and spaces from ``begin``: text[begin:at].
    at = _stretch(text, begin, stop)
    stretch = text[begin:at]
    words = stretch.split()
    rest: Iterator[tuple[str, int]] | None = None
    if at < stop and not _is_boundary(text, at, breaks):
        if at > begin and text[at - 1] != " ":
            # The last word may run on through text[at]: the reference reads it.
            last = words.pop()
            rest = _read_forward(text, at - len(last), hi, breaks)
        else:
            rest = _read_forward(text, at, hi, breaks)
    if "  " in stretch:
        ends = list(_ends_of(text, begin, words))
    else:  # one space before each word but the first (and maybe before it): add up lengths
        first = begin + 1 if stretch[:1] == " " else begin
        ends = list(
            map(operator.add, itertools.accumulate(map(len, words)), itertools.count(first))
        )
    if "\u02bc" in stretch:
        words = [_token(word) for word in words]
    if not _CONTRAST.isdisjoint(words):
        for k, word in enumerate(words):
            if word in _CONTRAST:  # a contrast word ends the clause
                return zip(words[:k], ends[:k], strict=True)
    read = zip(words, ends, strict=True)
    return read if rest is None else itertools.chain(read, rest)


def _ends_of(text: str, begin: int, words: list[str]) -> Iterator[int]:
    """Where each of ``words``, read in turn from ``text[begin:]``, ends."""
    end = begin
    for word in words:
        end = text.find(word, end) + len(word)  # only spaces come before the next word
        yield end


def _stretch(text: str, begin: int, end: int) -> int:
    """Where the run of word characters (of the BMP) and spaces from ``begin`` ends."""
    run = words_and_spaces().match(text, begin, end)
    return run.end() if run is not None else begin  # (the pattern matches the empty string)


def _first_word(text: str, start: int, end: int, breaks: AbstractSet[int]) -> str | None:
    """The match's own first word, cut at ``end``, as the reference reads it."""
    if start < end and is_word_char(text[start]):  # the usual case: a word starts the match
        run = word_run().match(text, start, end)
        j = run.end() if run is not None else start + 1
        while j < end and (is_word_char(text[j]) or (j + 1 < end and _joins(text, j))):
            j += 1
        word = _token(text[start:j])
        return None if word in _CONTRAST else word
    first = next(_read_forward(text, start, end, breaks), None)
    return first and first[0]


def _negated_from_before(words: Iterator[str], first_word: str | None) -> bool:
    """Whether a cue in the clause before the match negates it (English-style cues).

    ``words`` are the words of the clause before the match, nearest first; ``first_word`` is
    the match's own first word.
    """
    current = next(words, None)
    following: str | None = first_word
    following2: str | None = None
    distance = 0
    crossed_postposition = False
    seen: list[str] = []  # the words read so far, nearest first
    while current is not None:
        preceding = next(words, None)
        distance += 1
        seen.append(current)
        if current in _AND:
            return False
        if distance <= _WARNING_REACH + 3 and current in _WARNING_STARTS and _warns(seen):
            return True
        if current in _VERBAL and distance <= _VERBAL_WINDOW:
            if not _verbal_exception(current, preceding, following):
                return True
        elif current in _DETERMINER and distance <= _DETERMINER_WINDOW:
            if not _determiner_exception(current, following):
                return True
        elif current in _PREFIX and distance == 1:
            return True
        if distance >= 3 and (current, following, following2) in _CLAUSE_WIDE:
            return True
        if current in _DEVANAGARI_NEGATORS and distance <= _DEVANAGARI_BEFORE_WINDOW:
            return True
        if current in _WITHOUT and distance <= _WITHOUT_WINDOW and not crossed_postposition:
            return True
        if current in _CLOSING_POSTPOSITIONS:
            crossed_postposition = True
        following2, following, current = following, current, preceding
    return False


def _warns(seen: list[str]) -> bool:
    """Whether a warning ("beware of", "avoid", "watch out for") reaches the phrase: the
    warning, then at most two filler words (of, any, all, such), then the phrase."""
    d = len(seen)
    if seen[-1] in _WARNING_WORDS:
        return d - 1 <= _WARNING_REACH and all(w in _WARNING_FILLERS for w in seen[:-1])
    if d >= 3 and (seen[-1], seen[-2], seen[-3]) in _WARNING_TRIPLES:
        return d - 3 <= _WARNING_REACH and all(w in _WARNING_FILLERS for w in seen[:-3])
    return False


def _verbal_exception(word: str, preceding: str | None, following: str | None) -> bool:
    if word != "not":
        return False
    return preceding == "why" or following in _NOT_EXCEPTIONS_AFTER


def _determiner_exception(word: str, following: str | None) -> bool:
    if word != "no" or following is None:
        return False
    return following in _NO_EXCEPTIONS_AFTER or following[:1].isdigit()


def _negated_from_after(text: str, words: Iterable[tuple[str, int]]) -> bool:
    """Whether a cue in the clause after the match negates it (Hindi/Marathi-style cues).

    ``words`` are the words of the clause after the match, with their end offsets in ``text``.
    """
    first: str | None = None
    for k, (word, word_end) in enumerate(words):
        if k == 0:
            first = word
        if word in _AND or word in _RELATIVE:
            return False
        if word in _DEVANAGARI_WARNINGS:
            return True
        if word in _DEVANAGARI_NEGATORS and not (
            word in _TAG_PARTICLES and text[word_end : word_end + 2].lstrip(" ")[:1] == "?"
        ):
            return True
        if word in _WITHOUT_DIRECTLY_AFTER and k == 0:
            return True
        if word in _WITHOUT and k == 1 and first in _LINKING_POSTPOSITIONS:
            return True
    return False
