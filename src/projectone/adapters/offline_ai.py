"""The offline AI adapters: deterministic, no network. The default until an AI is configured."""

from __future__ import annotations

from projectone.domain.advisor import Advisor
from projectone.domain.ai import ReviewResult
from projectone.domain.content import ContentVariant
from projectone.domain.language import Language

__all__ = ["OfflineReviewer"]


class OfflineReviewer:
    """A reviewer with no opinion: it adds no findings, so the rules alone decide."""

    name = "offline"

    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        return ReviewResult(reviewer=self.name)
