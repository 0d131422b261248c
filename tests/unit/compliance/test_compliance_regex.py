"""MATCHES patterns run on RE2: linear time, load-time errors, str offsets (DESIGN.md §3.2)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projectone.domain.compliance.regex import (
    GuardedRegex,
    RegexError,
    RegexScan,
    RegexSet,
    compile_guarded,
)
from projectone.domain.compliance.text import normalize
from projectone.domain.errors import ProjectOneError, ValidationError


def test_spans_are_str_indices_in_devanagari_text() -> None:
    text = normalize("रिटर्न की गारंटी १५% तक, ARN-123456").text
    regex = compile_guarded(r"गारंटी|\d+%|arn-\d{6}")
    hits = regex.finditer(text)
    assert [text[s:e] for s, e in hits] == ["गारंटी", "15%", "arn-123456"]
    assert hits[0] == (text.index("गारंटी"), text.index("गारंटी") + len("गारंटी"))


def test_matching_is_case_insensitive_on_the_casefolded_text() -> None:
    text = normalize("Reg. no. INA000012345; PAN ABCDE1234F").text
    assert compile_guarded(r"INA\d{9}").search(text) is not None
    at = text.index("abcde1234f")
    assert compile_guarded(r"[A-Z]{5}[0-9]{4}[A-Z]").finditer(text) == [(at, at + 10)]


def test_unicode_classes_work_on_devanagari() -> None:
    text = normalize("हमी देत नाही").text
    assert compile_guarded(r"\p{Devanagari}+").finditer(text) == [(0, 3), (4, 7), (8, 12)]


def test_a_pattern_that_backtracks_exponentially_elsewhere_runs_in_linear_time() -> None:
    # Python's re would take centuries here; RE2 answers at once (no timing asserted).
    assert compile_guarded(r"(a+)+$").search("a" * 50_000 + "!") is None
    assert compile_guarded(r"(x|x)*y").finditer("x" * 50_000) == []


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        (r"(guaranteed)\s+\1", "backreferences"),
        (r"guaranteed(?= returns)", "look-ahead"),
        (r"guaranteed(?! returns)", "look-ahead"),
        (r"(?<!not )guaranteed", "look-behind"),
        (r"returns\Z", r"\z"),
        (r"[unclosed", "missing ]"),
        (r"a{2000}", "repetition"),
        (r"a++", "repetition"),
        ("(", "missing )"),
    ],
)
def test_unsupported_or_invalid_patterns_are_rejected(pattern: str, hint: str) -> None:
    with pytest.raises(RegexError) as caught:
        compile_guarded(pattern)
    error = caught.value
    assert isinstance(error, ValidationError)
    assert isinstance(error, ProjectOneError)
    assert error.pattern == pattern
    assert error.field == "MATCHES pattern"
    assert hint in error.message
    assert isinstance(error.message, str)


def test_a_pattern_with_a_lone_surrogate_is_rejected() -> None:
    with pytest.raises(RegexError, match="not valid Unicode"):
        compile_guarded("\udc80")


def test_empty_matches_are_reported_like_re() -> None:
    assert compile_guarded("").finditer("ab") == [(0, 0), (1, 1), (2, 2)]
    assert compile_guarded("x*").finditer("ab") == [(0, 0), (1, 1), (2, 2)]


def test_guarded_regexes_compare_by_pattern() -> None:
    assert compile_guarded("a+") == compile_guarded("a+")
    assert compile_guarded("a+") != compile_guarded("b+")
    assert len({compile_guarded("a+"), compile_guarded("a+")}) == 1
    assert compile_guarded("a+").pattern == "a+"
    assert "a+" in repr(compile_guarded("a+"))


def test_text_with_lone_surrogates_does_not_raise() -> None:
    assert compile_guarded("b").finditer("a\udc80b") == [(2, 3)]
    assert compile_guarded("b").search("\udc80b") == (1, 2)


@given(st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=30))
def test_compiling_any_string_either_works_or_raises_regex_error(pattern: str) -> None:
    try:
        regex = compile_guarded(pattern)
    except RegexError as error:
        assert error.pattern == pattern
        return
    assert isinstance(regex, GuardedRegex)


@given(st.text(st.one_of(st.characters(), st.characters(categories=["Cs"]))))
def test_finditer_never_raises_and_returns_valid_spans(text: str) -> None:
    for pattern in (r"\w+", r"\p{L}+", ".", "", r"\d+%?", "गा"):
        spans = compile_guarded(pattern).finditer(text)
        assert all(0 <= s <= e <= len(text) for s, e in spans)
        assert spans == sorted(spans)


ALPHABET = st.sampled_from("abAB गारंटीहमी१२3 -%.\u093c")
# The same pattern in RE2 syntax and in Python re syntax.
EQUIVALENT_PATTERNS = [
    (r"[0-9]+%?", r"[0-9]+%?"),
    (r"\p{Devanagari}+", "[\u0900-\u097f]+"),
    ("गा|मी", "गा|मी"),
    (r"[a-z]+ [0-9]", r"[a-z]+ [0-9]"),
]


@given(st.text(ALPHABET, max_size=40))
def test_spans_agree_with_python_re(original: str) -> None:
    text = normalize(original).text
    for re2_pattern, python_pattern in EQUIVALENT_PATTERNS:
        expected = [m.span() for m in re.finditer(python_pattern, text, re.IGNORECASE)]
        assert compile_guarded(re2_pattern).finditer(text) == expected, re2_pattern


_SET_PATTERNS = ["ina\\d{9}", "\\d+(\\.\\d+)?\\s*%", "गारंटी", "x*", "https?://\\S+", "(a|b)*abb"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab%9.1 गारंटीINA0x\u200b😀"))) | st.text())
def test_a_regex_set_finds_what_each_pattern_finds_on_its_own(text: str) -> None:
    regexes = [compile_guarded(p) for p in _SET_PATTERNS]
    scan = RegexSet(regexes).scan(text)
    for i, regex in enumerate(regexes):
        hits = regex.finditer(text)
        assert scan.first(i) == (hits[0] if hits else None), regex.pattern


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab%9.1 गारंटीINA0x\u200b😀"))) | st.text())
def test_the_set_pass_tells_which_patterns_occur(text: str) -> None:
    regexes = [compile_guarded(p) for p in _SET_PATTERNS]
    scan = RegexSet(regexes).scan(text)
    for i, regex in enumerate(regexes):
        assert scan.occurs(i) is (regex.search(text) is not None), regex.pattern


def test_a_scan_without_set_hits_searches_every_pattern() -> None:
    # What a scan falls back to when RE2's set reports a failed pass (its witness is missing).
    regexes = (compile_guarded("ret[a-z]*"), compile_guarded("\\d+%"))
    text = "गारंटी returns of 12%"
    scan = RegexScan(regexes, text, text.encode(), None)
    assert scan.first(0) == (7, 14)
    assert scan.first(1) == (18, 21)
    assert scan.occurs(0) is None  # (it cannot tell without searching)
