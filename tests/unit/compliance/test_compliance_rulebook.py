"""Rulebooks: loading (whole or not at all), scoring, verdicts and auto-fix."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projectone.domain.compliance import (
    RuleError,
    Severity,
    Subject,
    Verdict,
    auto_fix,
    parse_rulebook,
    risk_score,
)

RULEBOOK = """\
[rulebook]
version = "test-1"
name = "test rules"

[parameters]
body_name = "BASL"

[scoring]
review_threshold = 25
block_threshold = 70

[[rules]]
id = "PROMISE"
name = "Promised returns"
category = "sebi_mandatory"
severity = "critical"
order = 10
when = '''AFFIRMS(text, ['guaranteed returns', 'assured returns'])'''
message = "Returns must never be promised."
suggestion = "Speak of potential returns."
reference = "SEBI advertisement code"
[rules.auto_fix]
action = "replace"
phrases = ["guaranteed returns", "assured returns"]
with = { en = "potential returns" }

[[rules]]
id = "MF-WARNING"
name = "MF warning missing"
category = "sebi_mandatory"
severity = "critical"
order = 20
applies_to = { advisor_types = ["MFD"] }
when = '''NOT CONTAINS(text, 'subject to market risks')'''
message = "Add the standard warning."
[rules.auto_fix]
action = "append"
field = "disclaimer"
text = { en = "MF_WARNING" }

[[rules]]
id = "BODY"
name = "Registration disclaimer"
category = "sebi_mandatory"
severity = "error"
order = 30
applies_to = { advisor_types = ["RIA"] }
when = '''NOT CONTAINS(text, 'membership of ${body_name}')'''
message = "Mention membership of ${body_name}."

[[rules]]
id = "HYPE"
name = "Superlatives"
category = "sebi_recommended"
severity = "warning"
order = 40
requires_human = true
effective_from = 2023-05-01
when = "AFFIRMS(text, ['best', 'no. 1'])"
message = "No superlatives."
""".replace(
    "MF_WARNING",
    "Mutual Fund investments are subject to market risks, "
    "read all scheme related documents carefully.",
)


def test_a_rulebook_loads_in_order_with_its_settings() -> None:
    rb = parse_rulebook(RULEBOOK)
    assert rb.version == "test-1"
    assert [r.id for r in rb.rules] == ["PROMISE", "MF-WARNING", "BODY", "HYPE"]
    assert (rb.review_threshold, rb.block_threshold) == (25, 70)
    assert rb.rule("BODY").message == "Mention membership of BASL."


def test_a_promise_blocks_and_the_evidence_shows_where() -> None:
    rb = parse_rulebook(RULEBOOK)
    report = rb.check(
        Subject.of(
            body="Earn Guaranteed Returns today. Subject to market risks.", advisor_type="MFD"
        )
    )
    assert report.verdict is Verdict.BLOCK
    (violation,) = report.violations
    assert violation.rule_id == "PROMISE"
    assert violation.excerpt == "Guaranteed Returns"
    assert (violation.start, violation.end) == (5, 23)
    assert report.rulebook_version == "test-1"


def test_negated_promises_and_compliant_posts_pass() -> None:
    rb = parse_rulebook(RULEBOOK)
    for body in (
        "Mutual funds do not offer guaranteed returns; they are subject to market risks.",
        "SIPs are subject to market risks and returns are not guaranteed.",
    ):
        report = rb.check(Subject.of(body=body, advisor_type="MFD"))
        assert report.verdict is Verdict.PASS, report.violations
        assert report.risk_score == 0


def test_rules_apply_only_to_their_advisor_types_languages_and_dates() -> None:
    rb = parse_rulebook(RULEBOOK)
    ria = rb.check(Subject.of(body="Plain text.", advisor_type="RIA"))
    assert [v.rule_id for v in ria.violations] == ["BODY"]
    hype = Subject.of(body="The best plan. membership of BASL", advisor_type="RIA")
    assert [v.rule_id for v in rb.check(hype, on=dt.date(2023, 4, 30)).violations] == []
    report = rb.check(hype, on=dt.date(2023, 5, 1))
    assert [v.rule_id for v in report.violations] == ["HYPE"]
    assert report.verdict is Verdict.REVIEW  # a rule that requires a human


def test_reports_do_not_depend_on_what_the_rulebook_checked_before() -> None:
    # A rulebook remembers which rules apply to an (advisor type, language, date) and shares the
    # (immutable) violations that carry no evidence; reports must not depend on what came before.
    def posts() -> list[Subject]:
        return [
            Subject.of(body=body, advisor_type=advisor_type, language=language)
            for body in ("Guaranteed returns, the best!", "subject to market risks", "")
            for advisor_type in ("MFD", "RIA", "")
            for language in ("en", "hi")
        ]

    dates = [None, dt.date(2023, 4, 30), dt.date(2023, 5, 1)]
    seasoned = parse_rulebook(RULEBOOK)
    for _ in range(2):  # the second time round, from what the rulebook remembers
        for subject in posts():
            for on in dates:
                fresh = parse_rulebook(RULEBOOK)
                assert seasoned.check(subject, on=on) == fresh.check(subject, on=on)
                applicable = [rule for rule in seasoned.rules if rule.applies(subject, on)]
                assert [v.rule_id for v in seasoned.check(subject, on=on).violations] == [
                    v.rule_id for v in fresh.check(subject, on=on).violations
                ]
                assert {v.rule_id for v in fresh.check(subject, on=on).violations} <= {
                    rule.id for rule in applicable
                }


def test_parameters_can_be_overridden_when_loading() -> None:
    rb = parse_rulebook(RULEBOOK, parameters={"body_name": "BSE"})
    ok = rb.check(Subject.of(body="membership of BSE", advisor_type="RIA"))
    assert ok.violations == ()


LIST_PARAMETER_RULEBOOK = """\
[rulebook]
version = "1"
[parameters]
promises = ["sure shot", "it's certain"]
[[rules]]
id = "P"
name = "promise"
category = "sebi_mandatory"
severity = "error"
when = "AFFIRMS(text, ${promises}) AND COUNT(text, ${promises}) >= 1"
message = "m"
reference = "r"
"""


def test_a_list_parameter_is_substituted_as_a_list_of_phrases() -> None:
    rb = parse_rulebook(LIST_PARAMETER_RULEBOOK)
    assert [v.rule_id for v in rb.check(Subject.of(body="It's certain!")).violations] == ["P"]
    assert rb.check(Subject.of(body="This is a sure shot pick")).violations != ()
    assert rb.check(Subject.of(body="Not a sure shot")).violations == ()


def test_a_list_parameter_holds_text_only() -> None:
    source = LIST_PARAMETER_RULEBOOK.replace('["sure shot", "it\'s certain"]', '["a", 1]')
    with pytest.raises(RuleError, match="list parameter holds text items only"):
        parse_rulebook(source)


def test_every_problem_of_a_bad_rulebook_is_listed_with_its_position() -> None:
    bad = """\
[rulebook]
version = "bad"

[[rules]]
id = "ONE"
name = "one"
category = "sebi_mandatory"
severity = "critical"
when = '''CONTAINS(text, 'a') AND
  advisor.kind == 'RIA' '''
message = "m"

[[rules]]
id = "ONE"
name = "duplicate"
category = "nonsense"
severity = "error"
when = "MATCHES(text, '(a') OR FOO(text)"
message = "m"

[[rules]]
id = "THREE"
name = "syntax"
category = "platform_policy"
severity = "info"
when = "LENGTH(text) >"
message = "m"
"""
    with pytest.raises(RuleError) as caught:
        parse_rulebook(bad)
    problems = caught.value.problems
    text = "\n".join(p.format("rules.toml") for p in problems)
    assert "rules.toml:10:3: [ONE] unknown field 'advisor.kind'" in text
    assert "duplicate rule id ONE" in text
    assert "category must be one of" in text
    assert "invalid regular expression" in text
    assert "unknown function FOO" in text
    assert "rules.toml:26:23: [THREE] expected a value" in text


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("this is not toml", "not valid TOML"),
        ('[rulebook]\nname = "x"\n[[rules]]\nid="A"\n', "needs a version"),
        ('[rulebook]\nversion = "1"\n', "at least one [[rules]]"),
        (
            '[rulebook]\nversion = "1"\n[scoring]\nreview_threshold = 80\nblock_threshold = 20\n'
            '[[rules]]\nid="A"\nname="a"\ncategory="platform_policy"\nseverity="info"\n'
            'when="TRUE"\nmessage="m"\n',
            "review_threshold <= block_threshold",
        ),
        (
            '[rulebook]\nversion = "1"\n[[rules]]\nid="A"\nname="a"\ncategory="platform_policy"\n'
            'severity="info"\nwhen="TRUE"\nmessage="${nope}"\n',
            "unknown parameter ${nope}",
        ),
        (
            '[rulebook]\nversion = "1"\n[[rules]]\nid="a b"\nname="a"\ncategory="platform_policy"'
            '\nseverity="info"\nwhen="TRUE"\nmessage="m"\nextra=1\n',
            "unknown key 'extra'",
        ),
    ],
)
def test_malformed_rulebooks_are_rejected_whole(source: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rulebook(source)
    assert any(message in p.message for p in caught.value.problems), caught.value.problems


@given(st.lists(st.sampled_from(Severity)), st.sampled_from(Severity))
def test_one_more_violation_never_lowers_the_risk(
    severities: list[Severity], extra: Severity
) -> None:
    before = risk_score(severities)
    after = risk_score([*severities, extra])
    assert 0 <= before <= after <= 100


_pieces = st.sampled_from(
    [
        "Earn guaranteed returns",
        "assured returns for all",
        "returns are not guaranteed",
        "subject to market risks",
        "The best SIP",
        "Plan early.",
        "गारंटीड रिटर्न",
        " ",
        "\n",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_pieces, max_size=8).map(" ".join), st.sampled_from(["MFD", "RIA"]))
def test_auto_fix_is_effective_and_idempotent(body: str, advisor_type: str) -> None:
    rb = parse_rulebook(RULEBOOK)
    subject = Subject.of(title="Morning note", body=body, advisor_type=advisor_type)
    once = auto_fix(rb, subject)
    remaining = {v.rule_id for v in rb.check(once.subject).violations}
    assert not remaining & set(once.applied)  # each applied fix resolved its rule
    twice = auto_fix(rb, once.subject)
    assert twice.applied == ()
    assert twice.subject == once.subject
