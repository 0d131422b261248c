"""The rule language: parser, printer, type checker and the two evaluators."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projectone.domain.compliance import (
    FIELDS,
    BinaryOp,
    BoolLit,
    Call,
    CompiledRules,
    Expr,
    FieldRef,
    ListLit,
    Not,
    NumberLit,
    Op,
    RuleError,
    StringLit,
    Subject,
    check_types,
    evaluate_reference,
    parse,
    to_source,
)
from projectone.domain.compliance.compiled import _needs
from projectone.domain.compliance.evaluate import reference_outcome

# -- parse ∘ print ----------------------------------------------------------------------------

_names = st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,6})?", fullmatch=True).filter(
    lambda n: n.upper() not in {"AND", "OR", "NOT", "IN", "TRUE", "FALSE"}
)
_atoms: st.SearchStrategy[Expr] = st.one_of(
    st.builds(StringLit, st.text(max_size=12)),
    st.builds(NumberLit, st.integers(min_value=0, max_value=10**9)),
    st.builds(
        NumberLit,
        st.floats(min_value=0, max_value=1e6, allow_nan=False).filter(lambda f: f != int(f)),
    ),
    st.builds(BoolLit, st.booleans()),
    st.builds(FieldRef, _names),
)


def _grow(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    ops = st.sampled_from(list(Op))
    return st.one_of(
        st.builds(Not, children),
        st.builds(BinaryOp, ops, children, children),
        st.builds(Call, _names.map(str.upper), st.lists(children, max_size=3).map(tuple)),
        st.builds(ListLit, st.lists(children, max_size=3).map(tuple)),
    )


expressions = st.recursive(_atoms, _grow, max_leaves=12)


@given(expressions)
def test_printing_then_parsing_gives_back_the_same_tree(expr: Expr) -> None:
    assert parse(to_source(expr)) == expr


@given(expressions)
def test_printing_is_a_fixed_point(expr: Expr) -> None:
    source = to_source(expr)
    assert to_source(parse(source)) == source


def test_keywords_and_function_names_are_case_insensitive() -> None:
    assert parse("not contains(text, 'x') and language in ['en']") == parse(
        "NOT CONTAINS(text, 'x') AND language IN ['en']"
    )


def test_a_quote_is_doubled_inside_a_string() -> None:
    assert parse("title == 'it''s'") == BinaryOp(Op.EQ, FieldRef("title"), StringLit("it's"))


def test_comments_run_to_the_end_of_the_line() -> None:
    assert parse("TRUE # always\n AND FALSE") == BinaryOp(Op.AND, BoolLit(True), BoolLit(False))


@pytest.mark.parametrize(
    ("source", "line", "column", "message"),
    [
        ("CONTAINS(text, 'x'", 1, 19, "expected ',' or ')'"),
        ("language ==", 1, 12, "expected a value"),
        ("title == 'open", 1, 10, "unterminated string"),
        ("a == b == c", 1, 8, "expected AND, OR"),
        ("TRUE AND\n  (FALSE OR @)", 2, 13, "unexpected character '@'"),
        ("", 1, 1, "empty rule"),
    ],
)
def test_a_syntax_error_names_line_column_and_shows_a_caret(
    source: str, line: int, column: int, message: str
) -> None:
    with pytest.raises(RuleError) as caught:
        parse(source)
    (problem,) = caught.value.problems
    assert (problem.line, problem.column) == (line, column)
    assert message in problem.message
    _, caret = problem.excerpt.split("\n")
    assert caret == " " * (column - 1) + "^"


# -- types --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("advisor.typ == 'RIA'", "unknown field 'advisor.typ'"),
        ("SHOUTS(text, 'x')", "unknown function SHOUTS"),
        ("CONTAINS(text)", "takes 2 argument(s), got 1"),
        ("CONTAINS('text', 'x')", "must be a field"),
        ("CONTAINS(text, [1, 2])", "must be a quoted phrase"),
        ("CONTAINS(text, '  ')", "empty phrase"),
        ("CONTAINS_ALL(text, 'x')", "non-empty list"),
        ("NEAR(text, 'a', 'b', 2.5)", "whole number"),
        ("LENGTH(text) > 'long'", "compares a number with a string"),
        ("language IN 'en'", "IN needs a list"),
        ("LENGTH(text)", "must be true or false"),
        ("NOT LENGTH(text)", "NOT needs a bool"),
        ("TRUE < FALSE", "does not order"),
    ],
)
def test_a_type_error_is_found_before_anything_runs(source: str, message: str) -> None:
    problems = check_types(parse(source))
    assert problems
    assert any(message in p.message for p in problems), problems


def test_every_declared_field_and_function_type_checks() -> None:
    for field in FIELDS:
        assert check_types(parse(f"CONTAINS({field}, 'x') OR {field} == ''")) == []
    source = (
        "CONTAINS(text, ['a']) AND CONTAINS_ALL(body, ['a', 'b']) AND AFFIRMS(title, 'a') "
        "AND MATCHES(cta, 'a+') AND STARTS_WITH(text, 'a') AND ENDS_WITH(text, 'b') "
        "AND LENGTH(text) <= 4096 AND WORDS(body) > 3 AND COUNT(text, 'a') >= 2 "
        "AND NEAR(text, 'a', 'b', 5) AND language IN ['en', 'hi'] AND LENGTH(text) IN [1, 2]"
    )
    assert check_types(parse(source)) == []


# -- evaluation ------------------------------------------------------------------------------------

_WORDS = [
    "guaranteed",
    "returns",
    "risk",
    "free",
    "सुरक्षित",
    "गारंटी",
    "रिटर्न",
    "हमी",
    "परतावा",
    "market",
    "not",
    "no",
    "नहीं",
    "नाही",
    "बिना",
    "in",
    "way",
    "sip",
    "𝐫𝐢𝐬𝐤",  # astral letters: words outside the Basic Multilingual Plane
    "😀",
]
_GLUE = [" ", " ", " ", ", ", ". ", "! ", "\n", " । ", "\u200b", "  "]


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_WORDS), max_size=25))
    out = []
    for w in words:
        out.append(w.upper() if draw(st.booleans()) and w.isascii() else w)
        out.append(draw(st.sampled_from(_GLUE)))
    return "".join(out)


_phrases = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=3).map(" ".join)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    field = draw(st.sampled_from(["text", "title", "body"]))
    leaf = st.one_of(
        st.builds(lambda p: f"CONTAINS({field}, {_quote(p)})", _phrases),
        st.builds(
            lambda ps: f"CONTAINS({field}, [{', '.join(map(_quote, ps))}])",
            st.lists(_phrases, min_size=1, max_size=3),
        ),
        st.builds(
            lambda ps: f"CONTAINS_ALL({field}, [{', '.join(map(_quote, ps))}])",
            st.lists(_phrases, min_size=1, max_size=3),
        ),
        st.builds(lambda p: f"AFFIRMS({field}, {_quote(p)})", _phrases),
        st.builds(lambda p, n: f"COUNT({field}, {_quote(p)}) >= {n}", _phrases, st.integers(0, 3)),
        st.builds(
            lambda a, b, n: f"NEAR({field}, {_quote(a)}, {_quote(b)}, {n})",
            _phrases,
            _phrases,
            st.integers(0, 6),
        ),
        st.builds(
            lambda w: f"MATCHES({field}, {_quote(w + '[a-z]*')})",
            st.sampled_from(["gua", "ret", "ris"]),
        ),
        st.builds(lambda n: f"LENGTH({field}) > {n}", st.integers(0, 200)),
        st.builds(lambda n: f"WORDS({field}) <= {n}", st.integers(0, 20)),
        st.builds(
            lambda op, n: f"{n} {op} WORDS({field})",
            st.sampled_from(["==", "!=", "<", ">=", ">"]),
            st.sampled_from(["0", "1", "2.5", "7"]),
        ),
        st.builds(lambda p: f"STARTS_WITH({field}, {_quote(p)})", _phrases),
        st.just("language IN ['en', 'mr']"),
    )
    if depth >= 2:
        return str(draw(leaf))
    kind = draw(st.sampled_from(["leaf", "leaf", "not", "and", "or"]))
    if kind == "leaf":
        return str(draw(leaf))
    if kind == "not":
        return f"NOT ({draw(conditions(depth + 1))})"
    op = kind.upper()
    return f"({draw(conditions(depth + 1))}) {op} ({draw(conditions(depth + 1))})"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(conditions(), min_size=1, max_size=6),
    texts(),
    texts(),
    texts(),
    st.sampled_from(["en", "hi", "mr"]),
)
def test_the_compiled_evaluator_agrees_with_the_reference(
    sources: list[str], title: str, body: str, disclaimer: str, language: str
) -> None:
    rules = {f"R{i}": parse(s) for i, s in enumerate(sources)}
    for expr in rules.values():
        assert check_types(expr) == []
    subject = Subject.of(title=title, body=body, disclaimer=disclaimer, language=language)
    outcomes = CompiledRules(rules).evaluate(subject)
    for rule_id, expr in rules.items():
        assert outcomes[rule_id] == reference_outcome(expr, subject), rule_id


@settings(max_examples=200, deadline=None)
@given(st.text(), st.text(), st.sampled_from(["en", "hi", "mr", "", "xx"]))
def test_evaluation_never_raises_on_any_text(title: str, body: str, language: str) -> None:
    rules = {
        "A": parse(
            "AFFIRMS(text, ['guaranteed returns', 'गारंटी']) OR NEAR(text, 'risk', 'free', 2)"
        ),
        "B": parse("MATCHES(text, '[0-9]+\\s*%') AND NOT CONTAINS_ALL(body, ['market', 'risk'])"),
        "C": parse("LENGTH(text) > 10 AND WORDS(title) < 3 OR ENDS_WITH(body, 'x')"),
    }
    outcomes = CompiledRules(rules).evaluate(Subject.of(title=title, body=body, language=language))
    assert set(outcomes) == set(rules)
    assert all(o.error is None for o in outcomes.values())
    for outcome in outcomes.values():
        for span in outcome.evidence:
            source = {
                "text": Subject.of(title=title, body=body).get("text"),
                "title": title,
                "body": body,
            }[span.field]
            assert source[span.start : span.end] == span.excerpt


def test_evidence_points_at_the_original_text() -> None:
    body = "Invest now for GUARANTEED\u200b   Returns!"
    rules = {"P": parse("AFFIRMS(body, 'guaranteed returns')")}
    (span,) = CompiledRules(rules).evaluate(Subject.of(body=body))["P"].evidence
    assert body[span.start : span.end] == span.excerpt == "GUARANTEED\u200b   Returns"


def test_string_comparisons_ignore_case_and_spacing() -> None:
    subject = Subject.of(advisor_type="ria", language="hi")
    assert evaluate_reference(parse("advisor.type == 'RIA'"), subject)
    assert evaluate_reference(parse("language IN ['en', 'HI']"), subject)


def test_devanagari_digits_read_as_ascii_digits() -> None:
    subject = Subject.of(body="१५% रिटर्न की गारंटी")
    assert evaluate_reference(parse("MATCHES(body, '15\\s*%')"), subject)
    assert evaluate_reference(parse("AFFIRMS(body, 'गारंटी')"), subject)


def test_a_text_field_that_is_not_the_join_of_the_parts_is_read_as_given() -> None:
    rules = {"R": parse("CONTAINS(text, 'guaranteed returns') AND WORDS(body) == 1")}
    subject = Subject({"text": "Guaranteed   returns!", "body": "elsewhere"})
    (span,) = CompiledRules(rules).evaluate(subject)["R"].evidence
    assert (span.field, span.start, span.end) == ("text", 0, 20)


def test_a_regex_match_is_located_only_for_a_violated_rule_and_then_exactly() -> None:
    # The RE2 set pass says whether a pattern occurs; where is searched for the evidence of a
    # violated rule only, and must be what the reference evaluator reports.
    rules = {
        "R": parse("MATCHES(text, 'ina[0-9]{9}') AND CONTAINS(text, 'returns')"),
        "S": parse("NOT MATCHES(text, 'ina[0-9]{9}')"),
        "T": parse("NOT (MATCHES(body, 'x[0-9]+') AND CONTAINS(body, 'returns')) OR TRUE"),
    }
    subject = Subject.of(
        title="१२% RETURNS",
        body="Guaranteed returns x12, x34\n\nSEBI Reg. No. INA000012345",
        disclaimer="Reg. INA000099999",
    )
    outcomes = CompiledRules(rules).evaluate(subject)
    assert [span.excerpt for span in outcomes["R"].evidence] == ["INA000012345", "RETURNS"]
    assert not outcomes["S"].violated
    assert [span.excerpt for span in outcomes["T"].evidence] == ["x12", "returns"]
    for rule_id, expr in rules.items():
        assert outcomes[rule_id] == reference_outcome(expr, subject), rule_id


def test_what_a_rule_needs_before_it_can_hold() -> None:
    def needs(source: str) -> tuple[str, set[str]] | None:
        found = _needs(parse(source))
        return None if found is None else (found[0], set(found[1]))

    assert needs("AFFIRMS(text, 'A') OR CONTAINS(text, ['b', 'c'])") == ("text", {"a", "b", "c"})
    assert needs("NEAR(body, 'a', 'b', 3) AND LENGTH(body) > 2") == ("body", {"a"})
    assert needs("CONTAINS_ALL(text, ['a', 'b']) AND CONTAINS(text, ['c', 'd', 'e'])") == (
        "text",
        {"a", "b"},
    )
    assert needs("advisor.type == 'MFD' AND CONTAINS(text, 'a')") == ("text", {"a"})
    # Nothing sure: a negation, another field on one side of an OR, a regex, a count.
    assert needs("advisor.type == 'MFD' AND NOT CONTAINS(text, 'a')") is None
    assert needs("CONTAINS(title, 'a') OR CONTAINS(text, 'b')") is None
    assert needs("CONTAINS(text, 'a') OR MATCHES(text, 'b')") is None
    assert needs("COUNT(text, 'a') > 0") is None


@settings(max_examples=150, deadline=None)
@given(
    st.lists(conditions(), min_size=1, max_size=6),
    texts(),
    texts(),
    texts(),
    st.sampled_from(["en", "hi", "mr"]),
)
def test_rules_skipped_for_want_of_their_phrases_agree_with_the_reference(
    sources: list[str], title: str, body: str, disclaimer: str, language: str
) -> None:
    # The first rule makes every field look for its phrases, so that each rule after it is
    # skipped whenever none of the phrases it needs occurs.
    probe = "CONTAINS(text, 'x') OR CONTAINS(title, 'x') OR CONTAINS(body, 'x')"
    rules = {"PROBE": parse(probe), **{f"R{i}": parse(s) for i, s in enumerate(sources)}}
    subject = Subject.of(title=title, body=body, disclaimer=disclaimer, language=language)
    outcomes = CompiledRules(rules).evaluate(subject)
    for rule_id, expr in rules.items():
        assert outcomes[rule_id] == reference_outcome(expr, subject), rule_id
