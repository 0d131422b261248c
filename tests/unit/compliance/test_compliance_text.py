"""Normalisation for matching (DESIGN.md §3.2) and its map back to the original text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from projectone.domain.compliance import text as text_module
from projectone.domain.compliance.text import (
    ZERO_WIDTH,
    NormalizedText,
    is_nfc,
    is_word_char,
    join_normalized,
    normalize,
    normalize_phrase,
    word_count,
    word_starts,
)

# Any character at all, lone surrogates included (st.characters() leaves them out by default).
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))
ANY_TEXT = st.text(ANY_CHAR)
# Text that exercises every step: case, ß (expands when folded), combining marks that NFC
# composes, Devanagari with matras, virama and digits, whitespace and zero-width characters.
RICH_ALPHABET = (
    "aAbBeEsS\u00df\u0301\u0308"  # a A b B e E s S ß, combining acute and diaeresis
    "गारंटीहमनह\u093f\u094d\u093c\u0902"  # Devanagari letters, matras, virama, nukta, anusvara
    "०१५9 \t\n.,!%-"
    "\u200b\u200d\ufeff\u00a0"
)
RICH_TEXT = st.text(st.sampled_from(RICH_ALPHABET), max_size=40)


def test_case_whitespace_and_zero_width_are_normalised() -> None:
    assert normalize("  Guaranteed\u200b \t RETURNS\n").text == "guaranteed returns"
    assert normalize("gua\u200branteed").text == "guaranteed"
    assert normalize("a\u00a0b").text == "a b"  # no-break space is whitespace


def test_casefold_expansions_keep_the_map() -> None:
    nt = normalize("Straße")
    assert nt.text == "strasse"
    assert nt.original_text(4, 6) == "ß"
    assert nt.original_text(4, 5) == "ß"  # half of an expansion widens to the whole character


def test_devanagari_digits_read_as_ascii() -> None:
    nt = normalize("रिटर्न १५% तक")
    assert nt.text == "रिटर्न 15% तक"
    start = nt.text.index("15%")
    assert nt.original_text(start, start + 3) == "१५%"


def test_nfc_composes_and_maps_back_to_the_decomposed_original() -> None:
    original = "Cafe\u0301 best"
    nt = normalize(original)
    assert nt.text == "café best"
    assert nt.original_text(0, 4) == "Cafe\u0301"
    assert nt.original_span(5, 9) == (6, 10)


def test_offsets_point_into_the_original_text() -> None:
    original = "  Get   GUARANTEED\u200b returns!"
    nt = normalize(original)
    start = nt.text.index("guaranteed returns")
    o_start, o_end = nt.original_span(start, start + len("guaranteed returns"))
    assert original[o_start:o_end] == "GUARANTEED\u200b returns"


def test_empty_and_blank_text() -> None:
    for blank in ("", "   ", "\u200b\u200c", "\n\t"):
        nt = normalize(blank)
        assert nt.text == ""
        assert nt.origin == (0,)
        assert nt.original_span(0, 0) == (0, 0)


def test_lone_surrogates_become_replacement_characters() -> None:
    nt = normalize("a\udc80b")
    assert nt.text == "a\ufffdb"
    assert nt.original_text(1, 2) == "\udc80"


def test_original_span_clamps_out_of_range_bounds() -> None:
    nt = normalize("abc")
    assert nt.original_span(-5, 99) == (0, 3)
    assert nt.original_span(2, 1) == (2, 2)


def test_normalize_phrase_is_the_text_of_normalize() -> None:
    assert normalize_phrase("  Subject To\u200b MARKET risks ") == "subject to market risks"
    assert normalize_phrase("\u200b ") == ""


@pytest.mark.parametrize(
    ("char", "expected"),
    [
        ("a", True),
        ("Z", True),
        ("7", True),
        ("५", True),
        ("ग", True),
        ("\u093e", True),  # ा vowel sign aa (Mc)
        ("\u093f", True),  # ि vowel sign i (Mc)
        ("\u0947", True),  # े vowel sign e (Mn)
        ("\u094d", True),  # ् virama (Mn)
        ("\u093c", True),  # ़ nukta (Mn)
        ("\u0902", True),  # ं anusvara (Mn)
        ("\u0301", True),  # combining acute (Mn)
        ("_", False),
        ("-", False),
        (" ", False),
        ("%", False),
        ("।", False),
        ("\u200d", False),
    ],
)
def test_word_characters(char: str, expected: bool) -> None:
    assert is_word_char(char) is expected


def _check_invariants(original: str, nt: NormalizedText) -> None:
    text = nt.text
    assert nt.original == original
    assert len(nt.origin) == len(text) + 1
    assert len(nt.origin_end) == len(text)
    assert all(a <= b for a, b in zip(nt.origin, nt.origin[1:], strict=False))
    assert all(a <= b for a, b in zip(nt.origin_end, nt.origin_end[1:], strict=False))
    for i in range(len(text)):
        assert 0 <= nt.origin[i] < nt.origin_end[i] <= len(original)
    assert nt.origin[-1] == (nt.origin_end[-1] if text else 0)
    assert text == text.strip(" ")
    assert "  " not in text
    assert not any(c.isspace() and c != " " for c in text)
    assert not ZERO_WIDTH & set(text)
    assert not any("\u0966" <= c <= "\u096f" for c in text)
    assert not any("\ud800" <= c <= "\udfff" for c in text)


@given(ANY_TEXT)
def test_normalize_never_raises_and_keeps_its_invariants(original: str) -> None:
    _check_invariants(original, normalize(original))


@given(RICH_TEXT)
def test_invariants_on_text_that_exercises_every_step(original: str) -> None:
    _check_invariants(original, normalize(original))


@given(ANY_TEXT)
def test_normalize_is_idempotent(original: str) -> None:
    once = normalize(original).text
    assert normalize(once).text == once


@given(RICH_TEXT)
def test_canonically_equivalent_texts_normalise_alike(original: str) -> None:
    nfd = unicodedata.normalize("NFD", original)
    assert normalize(nfd).text == normalize(original).text


@given(st.text(st.sampled_from("abcxyzßगारंटीहमी ."), max_size=30))
def test_case_does_not_matter(original: str) -> None:
    assert normalize(original.upper()).text == normalize(original).text


@given(RICH_TEXT, st.data())
def test_word_aligned_slices_map_back_to_text_that_normalises_to_them(
    original: str, data: st.DataObject
) -> None:
    nt = normalize(original)
    text = nt.text
    assume(text)
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    piece = text[start:end]
    # What a phrase match looks like: no edge spaces, whole words at both ends.
    assume(piece == piece.strip(" "))
    assume(start == 0 or not (is_word_char(text[start - 1]) and is_word_char(text[start])))
    assume(end == len(text) or not (is_word_char(text[end - 1]) and is_word_char(text[end])))
    assert normalize(nt.original_text(start, end)).text == piece


@given(ANY_TEXT, st.data())
def test_any_slice_maps_back_to_text_that_covers_it(original: str, data: st.DataObject) -> None:
    nt = normalize(original)
    start = data.draw(st.integers(0, len(nt.text)))
    end = data.draw(st.integers(start, len(nt.text)))
    o_start, o_end = nt.original_span(start, end)
    assert 0 <= o_start <= o_end <= len(original)
    if end > start:
        assert o_start == nt.origin[start]
        assert o_end == nt.origin_end[end - 1]


def _obvious_normalisation(original: str) -> str:
    """The same steps done the obvious, offset-free way."""
    text = unicodedata.normalize("NFC", original).casefold()
    text = text.translate({0x0966 + d: str(d) for d in range(10)})
    text = "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text)
    text = "".join(c for c in text if c not in ZERO_WIDTH)
    return " ".join(text.split())


@given(ANY_TEXT)
def test_normalize_agrees_with_the_obvious_implementation(original: str) -> None:
    assert normalize(original).text == _obvious_normalisation(original)


@given(RICH_TEXT)
def test_rich_text_agrees_with_the_obvious_implementation(original: str) -> None:
    assert normalize(original).text == _obvious_normalisation(original)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_word_starts_agree_with_a_character_by_character_scan(text: str) -> None:
    expected = [
        i
        for i, c in enumerate(text)
        if is_word_char(c) and (i == 0 or not is_word_char(text[i - 1]))
    ]
    assert word_starts(text) == expected
    assert word_count(text) == len(expected)
    for cap in (0, 1, 2, 5):
        assert word_count(text, cap) == min(len(expected), cap)


def test_word_starts_count_devanagari_words_with_their_vowel_signs() -> None:
    assert word_starts("गारंटी नहीं, 12% 𝐫𝐢𝐬𝐤") == [0, 7, 13, 17]


_NFC_ALPHABET = [*"कखगजड़ढ़फ़ ़ािीुंँ्", "\u0958", "\u0301", "e", " ", "\u0323", "\u0307", "s"]


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(_NFC_ALPHABET)) | st.text())
def test_is_nfc_agrees_with_unicodedata(text: str) -> None:
    assert is_nfc(text) == unicodedata.is_normalized("NFC", text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.text(ANY_CHAR), st.text(alphabet=st.sampled_from(_NFC_ALPHABET))), max_size=4
    )
)
def test_joining_normalised_parts_equals_normalising_the_joined_text(parts: list[str]) -> None:
    joined = join_normalized([normalize(p) for p in parts])
    whole = normalize("\n\n".join(parts))
    assert joined == whole
    assert joined.origin == whole.origin
    assert joined.origin_end == whole.origin_end
    assert joined.line_breaks() == whole.line_breaks()


def test_line_breaks_are_spaces_in_the_text_and_listed_apart() -> None:
    nt = normalize("Invest without worry\r\nGuaranteed returns \u2029 now\u200b\n")
    assert nt.text == "invest without worry guaranteed returns now"
    assert nt.line_breaks() == {20, 39}
    assert normalize("one line").line_breaks() == frozenset()


def test_parts_can_only_be_joined_by_whitespace() -> None:
    with pytest.raises(ValueError, match="whitespace"):
        join_normalized([normalize("a"), normalize("b")], " | ")


def test_normalised_text_remembers_whether_the_original_was_nfc() -> None:
    assert normalize("Café गारंटी").original_is_nfc
    assert not normalize("Cafe\u0301").original_is_nfc
    assert not join_normalized([normalize("a"), normalize("Cafe\u0301")]).original_is_nfc
    assert join_normalized([normalize("a"), normalize("b")]).original_is_nfc


# -- the fast paths of step 5 agree with the general ones ------------------------------------------

# Every kind of blank: spaces, line breaks of every sort, tabs, no-break and other spaces, the
# zero-width characters; and a few non-blank characters, printable or not.
_BLANKS = [" ", " ", "\n", "\n", "\r", "\t", "\x0b", "\x85", "\u00a0", "\u2028", "\u3000"]
_LINES_TEXT = st.lists(
    st.sampled_from([*_BLANKS, *ZERO_WIDTH, "a", "bc", "गा", "\u0301", "\u200e", "ß"]), max_size=30
).map("".join)


def _line_breaks_by_lines(normalized: NormalizedText) -> frozenset[int]:
    """Line breaks the general way (the space before the first word of each later line), on
    the folded text with its zero-width characters removed."""
    visible = "".join(c for c in normalized._folded if c not in ZERO_WIDTH)
    return text_module._breaks_between_lines(visible)


@settings(max_examples=500, deadline=None)
@given(_LINES_TEXT | RICH_TEXT)
def test_length_changing_runs_agree_with_the_general_search(original: str) -> None:
    folded = normalize(original)._folded
    assert text_module._collapsed_runs(folded) == text_module._blank_runs(folded)
    assert text_module._collapsed_runs(original) == text_module._blank_runs(original)


@settings(max_examples=500, deadline=None)
@given(_LINES_TEXT | RICH_TEXT | ANY_TEXT)
def test_line_breaks_agree_with_reading_line_by_line(original: str) -> None:
    normalized = normalize(original)
    assert normalized.text == _obvious_normalisation(original)
    assert normalized.line_breaks() == _line_breaks_by_lines(normalized)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINES_TEXT | RICH_TEXT, min_size=1, max_size=4), st.sampled_from(["\n\n", " \n"]))
def test_the_offset_map_of_plain_lines_agrees_with_the_general_one(
    parts: list[str], separator: str
) -> None:
    normalized = [normalize(p) for p in parts]
    for nt in [*normalized, join_normalized(normalized, separator)]:
        general = text_module._offset_map(nt._folded, nt._starts, nt._ends)
        assert text_module._offset_map(nt._folded, nt._starts, nt._ends, nt._plain) == general


def test_plain_lines_are_recognised() -> None:
    assert normalize("Market close\n\nNifty rose 1%.\nबाज़ार")._plain
    assert normalize("one line")._plain
    assert not normalize("two  spaces\nhere")._plain
    assert not normalize("line \nwith a trailing space")._plain
    assert not normalize("zero\u200bwidth\nhere")._plain
    assert not normalize("a\r\nb")._plain
    plain = [normalize("a\nb"), normalize("c")]
    assert join_normalized(plain)._plain
    assert not join_normalized(plain, " ")._plain
    assert not join_normalized([*plain, normalize("d \n")])._plain


@given(ANY_TEXT)
def test_bmp_only_finds_every_character_beyond_the_bmp(text: str) -> None:
    assert text_module._bmp_only(text) == (not any(ord(c) > 0xFFFF for c in text))
