"""AI ports: a second opinion on compliance (the content generator arrives with issue 6)."""

from __future__ import annotations

from typing import Protocol

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.compliance.rulebook import Severity
from projectone.domain.content import ContentVariant
from projectone.domain.language import Language

__all__ = ["AiFinding", "ComplianceReviewer", "ReviewResult"]


@attrs.frozen(kw_only=True)
class AiFinding:
    """Something the reviewer objects to; ``start``/``end`` index the variant's rendered text
    (title, body, call to action and disclaimer joined by blank lines) when it can say where."""

    code: str
    severity: Severity
    message: str
    suggestion: str = ""
    start: int | None = None
    end: int | None = None


@attrs.frozen(kw_only=True)
class ReviewResult:
    reviewer: str
    findings: tuple[AiFinding, ...] = ()


class ComplianceReviewer(Protocol):
    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        """Review one language variant. Raises ``UnavailableError`` when the reviewer cannot
        answer; the caller then falls back to the rules alone and says so."""
        ...
