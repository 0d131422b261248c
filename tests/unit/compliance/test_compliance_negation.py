"""The negation heuristic behind AFFIRMS (DESIGN.md §3.2); the examples are its acceptance cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projectone.domain.compliance import negation
from projectone.domain.compliance.matcher import PhraseMatcher
from projectone.domain.compliance.negation import NEGATION_CUES, is_negated, is_negated_reference
from projectone.domain.compliance.text import normalize, normalize_phrase

SEBI_DISCLAIMER_EN = (
    "Registration granted by SEBI, membership of BASL and certification from NISM in no way "
    "guarantee performance of the intermediary or provide any assurance of returns to investors."
)
SEBI_DISCLAIMER_HI = (
    "सेबी द्वारा दिया गया पंजीकरण, बीएएसएल की सदस्यता और एनआईएसएम से प्रमाणन किसी भी तरह से "
    "मध्यस्थ के प्रदर्शन की कोई गारंटी नहीं देते और निवेशकों को रिटर्न का कोई आश्वासन नहीं देते।"
)
SEBI_DISCLAIMER_MR = (
    "सेबीने दिलेली नोंदणी, बीएएसएलचे सदस्यत्व आणि एनआयएसएमचे प्रमाणपत्र मध्यस्थाच्या "
    "कामगिरीची हमी देत नाहीत किंवा गुंतवणूकदारांना परताव्याचे कोणतेही आश्वासन देत नाहीत."
)


def negations(original: str, phrase: str, language: str | None = None) -> list[bool]:
    """is_negated for every whole-word occurrence of ``phrase`` in ``original``."""
    nt = normalize(original)
    hits = PhraseMatcher([phrase]).find(nt).get(normalize_phrase(phrase), [])
    assert hits, f"{phrase!r} does not occur in {original!r}"
    breaks = nt.line_breaks()
    return [is_negated(nt.text, start, end, language, breaks) for start, end in hits]


NEGATED = [
    ("Mutual funds do not offer guaranteed returns", "guaranteed returns", "en"),
    ("Returns are not guaranteed.", "guaranteed", "en"),
    (SEBI_DISCLAIMER_EN, "guarantee", "en"),
    (SEBI_DISCLAIMER_EN, "assurance of returns", "en"),
    (SEBI_DISCLAIMER_HI, "गारंटी", "hi"),
    (SEBI_DISCLAIMER_HI, "आश्वासन", "hi"),
    (SEBI_DISCLAIMER_MR, "हमी", "mr"),
    (SEBI_DISCLAIMER_MR, "आश्वासन", "mr"),
    ("गारंटी नहीं देता", "गारंटी", "hi"),
    ("हमी देत नाही", "हमी", "mr"),
    ("This plan is not risk-free.", "risk-free", "en"),
    ("Returns are NOT guaranteed", "guaranteed", None),
    ("We can’t guarantee returns", "guarantee", "en"),
    ("We cannot promise assured returns", "assured returns", "en"),
    ("Mutual funds do not offer any kind of guaranteed returns", "guaranteed returns", "en"),
    ("There are no guaranteed returns in equity", "guaranteed returns", "en"),
    ("Returns are neither guaranteed nor assured.", "guaranteed", "en"),
    ("Returns are neither guaranteed nor assured.", "assured", "en"),
    ("Equity is by no means risk-free", "risk-free", "en"),
    ("These are non-guaranteed returns", "guaranteed returns", "en"),
    ("Investing without guarantee of capital", "guarantee", "en"),
    ("रिटर्न की कोई गारंटी नहीं है", "गारंटी", "hi"),
    ("न गारंटी, न आश्वासन", "गारंटी", "hi"),
    ("गारंटी के बिना निवेश", "गारंटी", "hi"),
    ("बिना किसी गारंटी के", "गारंटी", "hi"),
    ("गारंटी पर भरोसा मत करो", "गारंटी", "hi"),
    ("परताव्याची हमी नाही", "हमी", "mr"),
    ("हमी विना गुंतवणूक", "हमी", "mr"),
    ("हमखास परताव्याच्या आश्वासनावर विश्वास ठेवू नका", "हमखास", "mr"),
    # Mixed scripts: a Hindi negation after an English phrase.
    ("Guaranteed returns नहीं मिलते", "guaranteed returns", "hi"),
    # Warnings against a promise are not the promise.
    ("Beware of guaranteed returns", "guaranteed returns", "en"),
    ("Avoid guaranteed return schemes", "guaranteed return", "en"),
    ("Be wary of any guaranteed returns", "guaranteed returns", "en"),
    ("Watch out for guaranteed returns", "guaranteed returns", "en"),
    ("Stay away from any assured returns offer", "assured returns", "en"),
    ("गारंटीड रिटर्न के दावों से सावधान रहें", "गारंटीड रिटर्न", "hi"),
    ("गारंटीड रिटर्न वाली योजनाओं से बचें", "गारंटीड रिटर्न", "hi"),
    ("हमखास परतावा देणाऱ्या योजना टाळा", "हमखास परतावा", "mr"),
]


@pytest.mark.parametrize(("original", "phrase", "language"), NEGATED)
def test_negated(original: str, phrase: str, language: str | None) -> None:
    assert negations(original, phrase, language) == [True]


AFFIRMED = [
    ("Guaranteed returns!", "guaranteed returns", "en"),
    ("Get guaranteed returns of 12% with no risk", "guaranteed returns", "en"),
    ("No hidden charges. Guaranteed returns!", "guaranteed returns", "en"),
    ("Guaranteed returns, no risk!", "guaranteed returns", "en"),
    ("No lock-in and guaranteed returns", "guaranteed returns", "en"),
    ("Not risky at all but guaranteed returns", "guaranteed returns", "en"),
    ("Why not get guaranteed returns?", "guaranteed returns", "en"),
    ("Not only guaranteed returns but also tax savings", "guaranteed returns", "en"),
    ("No doubt these are guaranteed returns", "guaranteed returns", "en"),
    ("No 1 fund for guaranteed returns", "guaranteed returns", "en"),
    ("We are No. 1 in guaranteed returns", "guaranteed returns", "en"),
    ("No exit load ✅ Guaranteed returns", "guaranteed returns", "en"),
    ("Returns are not capped, they are guaranteed", "guaranteed", "en"),
    ("गारंटीड रिटर्न पाएं", "गारंटीड रिटर्न", "hi"),
    ("गारंटीड रिटर्न, कोई जोखिम नहीं", "गारंटीड रिटर्न", "hi"),
    ("गारंटीड रिटर्न और कोई जोखिम नहीं", "गारंटीड रिटर्न", "hi"),
    ("गारंटीड रिटर्न जिसमें कोई जोखिम नहीं", "गारंटीड रिटर्न", "hi"),
    ("बिना जोखिम के गारंटीड रिटर्न", "गारंटीड रिटर्न", "hi"),
    ("गारंटीड रिटर्न बिना जोखिम", "गारंटीड रिटर्न", "hi"),
    ("गारंटीड रिटर्न चाहिए ना?", "गारंटीड रिटर्न", "hi"),
    ("जोखीम नाही, पण परताव्याची हमी", "हमी", "mr"),
    ("परताव्याची हमी आणि जोखीम नाही", "हमी", "mr"),
    ("१२% परताव्याची हमी!", "हमी", "mr"),
    # A warning word that does not sit right before the phrase warns about something else.
    ("Avoid missing guaranteed returns", "guaranteed returns", "en"),
    ("Avoid taxes with guaranteed returns", "guaranteed returns", "en"),
    # A line break ends a clause: a heading cannot negate the next line.
    ("Invest without worry\nGuaranteed returns for all", "guaranteed returns", "en"),
    ("We never miss a morning\n\nGuaranteed returns", "guaranteed returns", "en"),
    ("निवेश करें बिना चिंता\nगारंटीड रिटर्न", "गारंटीड रिटर्न", "hi"),
]


@pytest.mark.parametrize(("original", "phrase", "language"), AFFIRMED)
def test_affirmed(original: str, phrase: str, language: str | None) -> None:
    assert negations(original, phrase, language) == [False]


def test_each_occurrence_is_judged_in_its_own_clause() -> None:
    original = "Returns are not guaranteed; guaranteed returns are a myth? No: guaranteed returns!"
    assert negations(original, "guaranteed") == [True, False, False]


def test_digit_separators_do_not_end_a_clause() -> None:
    assert negations("We do not offer 1,00,000.50 guaranteed", "guaranteed") == [True]
    assert negations("No 1,00,000 guaranteed", "guaranteed") == [False]


def test_the_language_is_only_a_hint() -> None:
    for language in ("en", "hi", "mr", None, "xx"):
        assert negations("Guaranteed returns नहीं", "guaranteed returns", language) == [True]
        assert negations("not guaranteed", "guaranteed", language) == [True]


def test_cue_inside_the_phrase_does_not_negate_it() -> None:
    assert negations("Invest with no risk", "no risk") == [False]


def test_negation_cues_are_documented_per_language() -> None:
    assert set(NEGATION_CUES) == {"en", "hi", "mr"}
    assert {"not", "no", "never", "without", "in no way"} <= set(NEGATION_CUES["en"])
    assert {"नहीं", "न", "बिना"} <= set(NEGATION_CUES["hi"])
    assert {"नाही", "नाहीत", "न"} <= set(NEGATION_CUES["mr"])


def test_out_of_range_bounds_are_clamped() -> None:
    assert is_negated("not guaranteed", 4, 99) is True
    assert is_negated("not guaranteed", -3, 3) is False
    assert is_negated("", 0, 0) is False
    assert is_negated("guaranteed not", 3, 1) is False


CUE_ALPHABET = st.sampled_from(
    ["not", "no", "in", "way", "why", "only", "and", "but", "guaranteed", "returns", "नहीं", "ना",
     "न", "बिना", "के", "और", "जो", "नाही", "विना", "लेकिन", "x", "1"]
)  # fmt: skip
SEPARATORS = st.sampled_from([" ", " ", " ", ", ", ". ", "? ", "-", "’", "✅", "।"])


@given(st.lists(st.tuples(CUE_ALPHABET, SEPARATORS), max_size=20), st.integers(), st.integers())
def test_never_raises_on_cue_heavy_text(words: list[tuple[str, str]], start: int, end: int) -> None:
    text = normalize("".join(w + s for w, s in words)).text
    assert isinstance(is_negated(text, start, end), bool)
    if text:
        assert isinstance(is_negated(text, start % len(text), end % (len(text) + 1)), bool)


@given(st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]))), st.data())
def test_never_raises_on_any_text(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(-2, len(text) + 2))
    end = data.draw(st.integers(-2, len(text) + 2))
    assert isinstance(is_negated(text, start, end, data.draw(st.none() | st.text())), bool)


def test_a_phrase_split_over_two_lines_still_matches_and_keeps_its_negation() -> None:
    assert negations("Returns are not\nguaranteed? Yes, not guaranteed", "guaranteed") == [
        False,
        True,
    ]


# -- the fast reading agrees with the character-by-character one --------------------------------
#
# is_negated reads a clause in runs of words (regex + str.split) and hands over to the reference
# reader where a run ends on anything unusual. Texts below are built to reach every such place:
# cue, contrast and "and" words, apostrophes and digit separators that join words, boundaries,
# "other symbols" and letters beyond the BMP, hyphens, runs of spaces, and clauses longer than
# the 400-character window.

_PIECES = st.sampled_from(
    ["not", "no", "in", "way", "by", "means", "why", "only", "and", "but", "guaranteed",
     "returns", "beware", "of", "any", "watch", "out", "for", "non", "can't", "can’t", "canʼt",
     "dont", "नहीं", "ना", "न", "बिना", "के", "की", "और", "जो", "नाही", "विना", "शिवाय", "लेकिन",
     "सावधान", "गारंटी", "हमी", "x", "1", "12", "1,000", "12.5", "9:30", "𝐫𝐢𝐬𝐤", "a𝐫b", ""]
)  # fmt: skip
_GAPS = st.sampled_from(
    [" ", " ", " ", " ", "  ", ", ", ". ", "? ", "-", "’", "'", "✅", "🚀", "।", " (", "%", ",",
     ".", ":", "\u00a0", "\n"]
)  # fmt: skip


@st.composite
def _negation_cases(
    draw: st.DrawFn, max_pieces: int = 40
) -> tuple[str, int, int, str | None, frozenset[int]]:
    pieces = draw(st.lists(st.tuples(_PIECES, _GAPS), max_size=max_pieces))
    text = "".join(piece + gap for piece, gap in pieces)
    if draw(st.booleans()):
        text = normalize(text).text  # what the engine passes: normalised text
    n = len(text)
    start = draw(st.integers(-2, n + 2))
    end = draw(st.integers(-2, n + 2))
    # Line breaks: mostly spaces, sometimes anywhere (a "break" inside a word is not one).
    spaces = [i for i, c in enumerate(text) if c == " "]
    anywhere = st.integers(0, max(0, n - 1))
    breaks = draw(
        st.frozensets(st.sampled_from(spaces) if spaces else anywhere, max_size=4)
        | st.frozensets(anywhere, max_size=3)
    )
    language = draw(st.sampled_from([None, "en", "hi", "mr", "xx"]))
    return text, start, end, language, breaks


@settings(max_examples=1500, deadline=None)
@given(_negation_cases())
def test_is_negated_agrees_with_the_reference_reading(
    case: tuple[str, int, int, str | None, frozenset[int]],
) -> None:
    text, start, end, language, breaks = case
    assert is_negated(text, start, end, language, breaks) == is_negated_reference(
        text, start, end, language, breaks
    )


@settings(max_examples=150, deadline=None)
@given(_negation_cases(max_pieces=160))
def test_is_negated_agrees_with_the_reference_reading_on_long_clauses(
    case: tuple[str, int, int, str | None, frozenset[int]],
) -> None:
    text, start, end, language, breaks = case
    assert is_negated(text, start, end, language, breaks) == is_negated_reference(
        text, start, end, language, breaks
    )


@settings(max_examples=800, deadline=None)
@given(_negation_cases())
def test_the_fast_readers_read_the_same_words_as_the_reference_readers(
    case: tuple[str, int, int, str | None, frozenset[int]],
) -> None:
    text, start, end, _, breaks = case
    n = len(text)
    start, end = max(0, min(start, n)), max(0, min(end, n))
    before = max((b for b in breaks if b < start), default=-1)
    after = min((b for b in breaks if b >= end), default=n)
    assert list(negation._words_backward(text, start, breaks, before)) == list(
        negation._reference_words_backward(text, start, breaks)
    )
    assert list(negation._words_forward(text, end, breaks, after)) == list(
        negation._reference_words_forward(text, end, breaks)
    )
    if start <= end:
        first = next(negation._reference_words_forward(text, start, breaks, end), None)
        assert negation._first_word(text, start, end, breaks) == (first and first[0])


@settings(max_examples=300, deadline=None)
@given(_negation_cases())
def test_the_language_hint_never_changes_the_outcome(
    case: tuple[str, int, int, str | None, frozenset[int]],
) -> None:
    text, start, end, _, breaks = case
    outcomes = {is_negated(text, start, end, lang, breaks) for lang in (None, "en", "hi", "mr")}
    assert len(outcomes) == 1


def _every_span_agrees(text: str, breaks: frozenset[int] = frozenset()) -> None:
    for start in range(len(text) + 1):
        for end in range(start, min(len(text), start + 12) + 1):
            for language in ("en", "hi"):
                expected = is_negated_reference(text, start, end, language, breaks)
                assert is_negated(text, start, end, language, breaks) == expected, (start, end)


def test_every_span_of_mixed_text_agrees_with_the_reference() -> None:
    _every_span_agrees(
        "We can't offer 1,000% returns, not guaranteed. गारंटी नहीं है, but 12.5% ✅ ok"
    )
    _every_span_agrees(
        "in no way guarantee performance of the intermediary or provide any assurance"
    )
    _every_span_agrees("बिना किसी गारंटी के  निवेश करें -हमी नाही 𝐫𝐢𝐬𝐤 a𝐫b नाहीत।")


def test_clauses_at_the_edge_of_the_400_character_window_agree_with_the_reference() -> None:
    for pad in (395, 397, 398, 399, 400, 401, 402, 405):
        for filler in ("x", "can't", "1,000", "𝐫"):
            words = (filler + " ") * (pad // (len(filler) + 1))
            head = ("not " + words)[:pad]
            text = head + "guaranteed returns नहीं " + words
            starts = (len(head) - 1, len(head), len(head) + 1)
            breaks_options: tuple[frozenset[int], ...] = (
                frozenset(),
                frozenset({len(head) - 1}),
                frozenset({3}),
            )
            for start in starts:
                for end in (start + 10, start + 18, start + 19, len(text) - 1):
                    for breaks in breaks_options:
                        for language in ("en", "hi"):
                            assert is_negated(
                                text, start, end, language, breaks
                            ) == is_negated_reference(text, start, end, language, breaks), (
                                pad,
                                filler,
                                start,
                                end,
                            )
