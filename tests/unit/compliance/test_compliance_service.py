"""check_content: rules, AI reviewer, rules again on the fixed text; with the default rulebook."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest

from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain import Advisor, ContentPack, ContentStatus, ContentVariant, Language
from projectone.domain.compliance import Severity, Verdict
from projectone.ports import AiFinding
from projectone.services.compliance import ComplianceService
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import FakeComplianceReviewer, SequentialIds

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)
DAY = dt.date(2026, 11, 23)


def demo(n: int = 40) -> list[tuple[Advisor, ContentPack]]:
    ids = SequentialIds()
    advisors = demo_advisors(n, ids=ids, now=NOW)
    return list(zip(advisors, demo_packs(advisors, DAY, ids=ids, now=NOW), strict=True))


async def test_every_demo_post_passes_the_default_rulebook() -> None:
    service = ComplianceService(default_rulebook())
    for advisor, pack in demo():
        result = await service.check_content(pack, advisor, on=DAY)
        serious = [
            v.rule_id
            for v in result.violations
            if v.severity in (Severity.ERROR, Severity.CRITICAL)
        ]
        assert serious == [], (advisor, pack)
        assert result.verdict is not Verdict.BLOCK


async def test_a_promise_in_any_language_blocks_and_is_fixed() -> None:
    (advisor, pack), *_ = demo(1)
    service = ComplianceService(default_rulebook())
    language = pack.languages[0]
    promise = {
        Language.EN: "Enjoy guaranteed returns every year.",
        Language.HI: "हर साल गारंटीड रिटर्न पाएं।",
        Language.MR: "दरवर्षी खात्रीशीर परतावा मिळवा.",
    }[language]
    variant = pack.variants[language]
    bad = attrs.evolve(
        pack, variants={language: attrs.evolve(variant, body=variant.body + " " + promise)}
    )
    result = await service.check_content(bad, advisor, on=DAY)
    assert result.verdict is Verdict.BLOCK
    (promised,) = [v for v in result.violations if v.rule_id.startswith("PROMISE")]
    assert promised.excerpt
    assert promised.language == language.value
    assert result.rulebook_version == default_rulebook().version


async def test_ai_findings_add_to_the_rules_and_an_outage_falls_back_to_rules() -> None:
    (advisor, pack), *_ = demo(1)
    finding = AiFinding(
        code="FORWARD-LOOKING", severity=Severity.ERROR, message="Implies a market forecast."
    )
    reviewer = FakeComplianceReviewer([finding])
    service = ComplianceService(default_rulebook(), reviewer)
    with_ai = await service.check_content(pack, advisor, on=DAY)
    assert with_ai.ai_review == "fake-reviewer"
    assert "AI-FORWARD-LOOKING" in {v.rule_id for v in with_ai.violations}
    assert with_ai.verdict is not Verdict.PASS

    reviewer.unavailable = True
    without = await service.check_content(pack, advisor, on=DAY)
    assert without.ai_review == "unavailable"
    assert without.risk_score <= with_ai.risk_score


async def test_the_ai_can_never_pass_what_the_rules_block() -> None:
    (advisor, pack), *_ = demo(1)
    language = pack.languages[0]
    bad = attrs.evolve(
        pack,
        variants={
            language: ContentVariant(
                title="Sure-shot", body="Risk-free guaranteed returns, double your money!"
            )
        },
        status=ContentStatus.DRAFT,
    )
    for reviewer in (FakeComplianceReviewer(), None):
        result = await ComplianceService(default_rulebook(), reviewer).check_content(
            bad, advisor, on=DAY
        )
        assert result.verdict is Verdict.BLOCK


@pytest.mark.parametrize(
    "body",
    [
        "Mutual funds do not offer guaranteed returns.",
        "Returns are not guaranteed.",
        "म्यूचुअल फंड गारंटी नहीं देते।",
        "म्युच्युअल फंड परताव्याची हमी देत नाही.",
    ],
)
def test_negated_promises_do_not_trip_promise_rules(body: str) -> None:
    from projectone.domain.compliance import Subject

    report = default_rulebook().check(
        Subject.of(body=body, advisor_type="MFD", language="hi" if not body.isascii() else "en")
    )
    assert not [v for v in report.violations if v.rule_id.startswith("PROMISE")], report
