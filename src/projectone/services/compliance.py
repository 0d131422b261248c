"""Checking content: rules, then the AI reviewer, then rules again on the auto-fixed text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.ai import AdvisorProfile
from projectone.domain.compliance.evaluate import Span, Subject
from projectone.domain.compliance.fix import auto_fix
from projectone.domain.compliance.rulebook import (
    Category,
    CheckReport,
    Rulebook,
    Verdict,
    Violation,
)
from projectone.domain.content import ContentPack, ContentVariant
from projectone.domain.errors import ProjectOneError, ValidationError
from projectone.domain.language import Language
from projectone.ports.ai import AiFinding, ComplianceReviewer

__all__ = ["ComplianceResult", "ComplianceService", "subject_for"]

_ORDER = {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}
AI_RULE_PREFIX = "AI-"


def subject_for(
    variant: ContentVariant,
    language: Language | str,
    advisor: Advisor | AdvisorProfile | None,
    pack: ContentPack | None = None,
) -> Subject:
    """The rule-language view of one variant of a pack, written by ``advisor`` (or by the
    advisor a generation request describes)."""
    return Subject.of(
        title=variant.title,
        body=variant.body,
        cta=variant.cta,
        disclaimer=variant.disclaimer,
        language=str(language),
        advisor_type=advisor.type.value if advisor else "",
        advisor_reg_no=advisor.registration_no if advisor else "",
        advisor_name=advisor.name if advisor else "",
        content_type=pack.type.value if pack else "",
        content_topic=pack.topic if pack else "",
    )


def _variant(subject: Subject) -> ContentVariant:
    parts = subject.parts
    return ContentVariant(
        title=parts["title"], body=parts["body"], cta=parts["cta"], disclaimer=parts["disclaimer"]
    )


@attrs.frozen(kw_only=True)
class ComplianceResult:
    """One explainable answer for a whole pack.

    ``verdict``/``risk_score``/``violations`` judge the content as written (rules plus the AI
    reviewer); ``fixed`` is the content after every available auto-fix, and
    ``fixed_verdict``/``fixed_risk_score``/``remaining_violations`` judge that.
    """

    verdict: Verdict
    risk_score: int
    violations: tuple[Violation, ...]
    fixed: Mapping[Language, Subject]
    fixed_verdict: Verdict
    fixed_risk_score: int
    remaining_violations: tuple[Violation, ...]
    applied_fixes: tuple[str, ...]
    rulebook_version: str
    ai_review: str  # the reviewer's name, or "unavailable"

    @property
    def requires_human(self) -> bool:
        return any(v.requires_human for v in self.violations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "risk_score": self.risk_score,
            "rulebook_version": self.rulebook_version,
            "ai_review": self.ai_review,
            "violations": [violation_dict(v) for v in self.violations],
            "fixed_verdict": self.fixed_verdict.value,
            "fixed_risk_score": self.fixed_risk_score,
            "applied_fixes": list(self.applied_fixes),
            "fixed": {lang.value: subject.parts for lang, subject in self.fixed.items()},
        }


def violation_dict(v: Violation) -> dict[str, Any]:
    return {
        "rule_id": v.rule_id,
        "name": v.name,
        "severity": v.severity.value,
        "category": v.category.value,
        "language": v.language,
        "message": v.message,
        "suggestion": v.suggestion,
        "reference": v.reference,
        "field": v.field,
        "start": v.start,
        "end": v.end,
        "excerpt": v.excerpt,
    }


def _ai_violation(finding: AiFinding, subject: Subject, reviewer: str) -> Violation:
    text = subject.get("text")
    evidence: tuple[Span, ...] = ()
    if (
        finding.start is not None
        and finding.end is not None
        and (0 <= finding.start < finding.end <= len(text))
    ):
        evidence = (Span("text", finding.start, finding.end, text[finding.start : finding.end]),)
    return Violation(
        rule_id=f"{AI_RULE_PREFIX}{finding.code}",
        name=f"{reviewer} review",
        severity=finding.severity,
        category=Category.SEBI_RECOMMENDED,
        message=finding.message,
        suggestion=finding.suggestion,
        reference="AI review",
        language=subject.language,
        evidence=evidence,
    )


@attrs.define
class ComplianceService:
    rulebook: Rulebook
    reviewer: ComplianceReviewer | None = None

    async def check_content(
        self, pack: ContentPack, advisor: Advisor | None, *, on: dt.date | None = None
    ) -> ComplianceResult:
        """Rules → AI reviewer (if any) → rules again on the auto-fixed text, per language.

        The reviewer can only add findings, never remove a rule's: if it is unavailable the
        result says so and the rules decide alone, so nothing the rules block ever passes.
        """
        subjects = {
            language: subject_for(variant, language, advisor, pack)
            for language, variant in pack.variants.items()
        }
        return await self.check_subjects(subjects, advisor, on=on)

    async def check_subjects(
        self,
        subjects: Mapping[Language, Subject],
        advisor: Advisor | None = None,
        *,
        on: dt.date | None = None,
    ) -> ComplianceResult:
        """:meth:`check_content` for prepared subjects (the reviewer runs only with an
        ``advisor``)."""
        reports: list[CheckReport] = []
        fixed_reports: list[CheckReport] = []
        fixed: dict[Language, Subject] = {}
        applied: list[str] = []
        ai_status = "none"
        for language, subject in subjects.items():
            report = self.rulebook.check(subject, on=on)
            extra: list[Violation] = []
            if self.reviewer is not None and advisor is not None and ai_status != "unavailable":
                try:
                    review = await self.reviewer.review(_variant(subject), language, advisor)
                except ProjectOneError:
                    ai_status = "unavailable"
                else:
                    ai_status = review.reviewer
                    extra = [_ai_violation(f, subject, review.reviewer) for f in review.findings]
            reports.append(self.rulebook.judge([*report.violations, *extra], language.value))
            result = auto_fix(self.rulebook, subject, on=on)
            applied.extend(f"{language.value}:{rule_id}" for rule_id in result.applied)
            fixed[language] = result.subject
            # AI findings carry over: a fix made by the rules does not answer the reviewer.
            fixed_report = self.rulebook.check(result.subject, on=on)
            fixed_reports.append(
                self.rulebook.judge([*fixed_report.violations, *extra], language.value)
            )
        if not reports:
            raise ValidationError("variants", {}, "nothing to check")
        worst = max(reports, key=lambda r: (_ORDER[r.verdict], r.risk_score))
        worst_fixed = max(fixed_reports, key=lambda r: (_ORDER[r.verdict], r.risk_score))
        return ComplianceResult(
            verdict=worst.verdict,
            risk_score=max(r.risk_score for r in reports),
            violations=tuple(v for r in reports for v in r.violations),
            fixed=fixed,
            fixed_verdict=worst_fixed.verdict,
            fixed_risk_score=max(r.risk_score for r in fixed_reports),
            remaining_violations=tuple(v for r in fixed_reports for v in r.violations),
            applied_fixes=tuple(applied),
            rulebook_version=self.rulebook.version,
            ai_review=ai_status,
        )
