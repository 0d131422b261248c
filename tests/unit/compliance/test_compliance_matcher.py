"""One-pass phrase matching (DESIGN.md §3.2): whole words, overlaps, cross-checked by hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from projectone.domain.compliance.matcher import PhraseMatcher, reference_find
from projectone.domain.compliance.text import normalize, normalize_phrase


def spans(matcher: PhraseMatcher, original: str) -> dict[str, list[tuple[int, int]]]:
    return matcher.find(normalize(original))


def test_overlapping_phrases_are_all_reported() -> None:
    matcher = PhraseMatcher(["guaranteed", "Guaranteed Returns", "returns"])
    found = spans(matcher, "Get GUARANTEED returns today")
    assert found == {
        "guaranteed": [(4, 14)],
        "guaranteed returns": [(4, 22)],
        "returns": [(15, 22)],
    }


def test_repeated_and_self_overlapping_occurrences() -> None:
    matcher = PhraseMatcher(["a a"])
    assert matcher.find("a a a") == {"a a": [(0, 3), (2, 5)]}
    assert PhraseMatcher(["best"]).find("best fund, best returns") == {"best": [(0, 4), (11, 15)]}


def test_phrases_match_whole_words_only() -> None:
    matcher = PhraseMatcher(["return", "top", "हम"])
    assert matcher.find(normalize("returns from the topmost fund").text) == {}
    # Devanagari vowel signs are part of the word: "हम" is not in "हमी".
    assert spans(matcher, "हमी देत नाही") == {}
    assert spans(matcher, "हम निवेश करते हैं") == {"हम": [(0, 2)]}
    assert spans(matcher, "top-rated, (top)") == {"top": [(0, 3), (12, 15)]}


def test_an_edge_that_is_not_a_word_character_needs_no_boundary() -> None:
    matcher = PhraseMatcher(["%", "₹", "#1"])
    assert spans(matcher, "12% for ₹500, rank#1") == {
        "%": [(2, 3)],
        "₹": [(8, 9)],
        "#1": [(18, 20)],
    }
    # ...but a word-character edge still does.
    assert spans(PhraseMatcher(["#1"]), "#10") == {}


def test_matching_is_on_normalised_text() -> None:
    matcher = PhraseMatcher(["15% RETURNS", "straße", "guaranteed returns"])
    found = spans(matcher, "१५%  returns, STRASSE, guaran\u200bteed\u00a0returns")
    assert set(found) == {"15% returns", "strasse", "guaranteed returns"}


def test_spans_map_back_to_the_original_text() -> None:
    original = "Guaranteed\u200b  RETURNS!"
    nt = normalize(original)
    ((start, end),) = PhraseMatcher(["guaranteed returns"]).find(nt)["guaranteed returns"]
    assert nt.original_text(start, end) == "Guaranteed\u200b  RETURNS"


def test_empty_and_duplicate_phrases() -> None:
    matcher = PhraseMatcher(["", "  ", "\u200b", "Best", "best", " BEST "])
    assert matcher.phrases == ("best",)
    assert PhraseMatcher([]).find("anything") == {}
    assert PhraseMatcher(["x"]).find("") == {}


def test_plain_strings_with_lone_surrogates_do_not_raise() -> None:
    assert PhraseMatcher(["ab"]).find("\udc80 ab") == {"ab": [(2, 4)]}
    assert reference_find(["ab"], "\udc80 ab") == {"ab": [(2, 4)]}


def test_reference_find_normalises_its_phrases() -> None:
    assert reference_find(["  Guaranteed RETURNS "], "guaranteed returns") == {
        "guaranteed returns": [(0, 18)]
    }


# Small alphabets so random phrases actually occur in random texts, word boundaries included.
LATIN = "abAB ßs-.%"
DEVANAGARI = "गारंटीहमन\u093f\u094d\u093c\u0902 १5-।"
MIXED = LATIN + DEVANAGARI + "\u200b\u0301"


def _case(alphabet: str) -> st.SearchStrategy[tuple[list[str], str]]:
    chars = st.sampled_from(alphabet)
    text = st.text(chars, max_size=60)
    phrase = st.text(chars, min_size=1, max_size=6)
    return st.tuples(st.lists(phrase, max_size=12), text)


@given(st.one_of(_case(LATIN), _case(DEVANAGARI), _case(MIXED)))
def test_the_automaton_agrees_with_the_reference(case: tuple[list[str], str]) -> None:
    phrases, original = case
    nt = normalize(original)
    assert PhraseMatcher(phrases).find(nt) == reference_find(phrases, nt)


@given(st.text(st.sampled_from(MIXED), max_size=60), st.data())
def test_substrings_of_the_text_are_found_where_they_are_whole_words(
    original: str, data: st.DataObject
) -> None:
    nt = normalize(original)
    pieces = [
        nt.text[s:e]
        for s, e in data.draw(
            st.lists(st.tuples(st.integers(0, len(nt.text)), st.integers(0, len(nt.text))))
        )
    ]
    matcher = PhraseMatcher(pieces)
    found = matcher.find(nt)
    assert found == reference_find(pieces, nt.text)
    for phrase, hits in found.items():
        assert phrase in matcher.phrases
        for start, end in hits:
            assert nt.text[start:end] == phrase
            assert normalize(nt.original_text(start, end)).text == phrase


@given(st.lists(st.text(max_size=8), max_size=10), st.text())
def test_find_never_raises_on_any_input(phrases: list[str], original: str) -> None:
    matcher = PhraseMatcher(phrases)
    assert all(normalize_phrase(p) == p and p for p in matcher.phrases)
    assert matcher.find(normalize(original)) == reference_find(phrases, normalize(original))
    matcher.find(original)  # a raw str is taken as normalised; must not raise either
