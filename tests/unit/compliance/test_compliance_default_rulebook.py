"""The default SEBI/AMFI rulebook against its acceptance cases (rulebook_cases.toml)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain.compliance import Subject, auto_fix

CASES = tomllib.loads((Path(__file__).parent / "rulebook_cases.toml").read_text(encoding="utf-8"))[
    "case"
]


def subject(case: dict[str, Any]) -> Subject:
    return Subject.of(
        title=case.get("title", ""),
        body=case.get("body", ""),
        cta=case.get("cta", ""),
        disclaimer=case.get("disclaimer", ""),
        language=case["language"],
        advisor_type=case["advisor_type"],
        advisor_name=case.get("advisor_name", ""),
        advisor_reg_no=case.get("advisor_reg_no", ""),
    )


def test_the_default_rulebook_loads_and_every_rule_cites_its_source() -> None:
    rulebook = default_rulebook()
    assert len(rulebook.rules) >= 30
    assert all(rule.reference for rule in rulebook.rules)
    case_ids = {
        i
        for case in CASES
        for key in ("must_violate", "must_not_violate")
        for i in case.get(key, [])
    }
    assert case_ids <= {rule.id for rule in rulebook.rules}


def test_the_supervisory_body_is_a_parameter() -> None:
    assert default_rulebook().parameters["supervisory_body"] == "BASL"
    assert (
        default_rulebook(parameters={"supervisory_body": "BSE"}).parameters["supervisory_body"]
        == "BSE"
    )


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_acceptance_case(case: dict[str, Any]) -> None:
    report = default_rulebook().check(subject(case))
    violated = {v.rule_id for v in report.violations}
    missing = set(case.get("must_violate", [])) - violated
    wrong = set(case.get("must_not_violate", [])) & violated
    assert not missing, f"not flagged: {sorted(missing)}"
    assert not wrong, f"flagged wrongly: {sorted(wrong)} ({report.violations})"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_auto_fix_resolves_what_it_touches_and_is_idempotent(case: dict[str, Any]) -> None:
    rulebook = default_rulebook()
    once = auto_fix(rulebook, subject(case))
    still = {v.rule_id for v in rulebook.check(once.subject).violations}
    assert not still & set(once.applied), f"fix did not resolve {still & set(once.applied)}"
    assert auto_fix(rulebook, once.subject).applied == ()


def test_the_replace_fix_keeps_negated_mentions_of_the_phrase() -> None:
    body = "Mutual funds do not offer guaranteed returns. This one has guaranteed returns!"
    subject = Subject.of(
        title="Our pick",
        body=body,
        language="en",
        advisor_type="MFD",
        advisor_name="P K",
        advisor_reg_no="ARN-123456",
    )
    fixed = auto_fix(default_rulebook(), subject)
    assert "PROMISE-GUARANTEED-RETURNS" in fixed.applied
    assert fixed.subject.get("body") == (
        "Mutual funds do not offer guaranteed returns. This one has market-linked returns!"
    )
