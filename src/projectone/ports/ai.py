"""AI ports: the content generator, the compliance reviewer, and where AI jobs and cached
answers are kept.

Results are the domain's attrs objects (``projectone.domain.ai``): the core never sees an SDK
type. Adapters raise ``UnavailableError`` when the model cannot be reached (after their own
bounded retries), ``AiOutputError`` when it answers with something unusable or refuses, and
``ValidationError`` for a request they refuse to send.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

import attrs

from projectone.domain.advisor import Advisor
from projectone.domain.ai import (
    AiFinding,
    AiJob,
    AiStage,
    CachedAnswer,
    GeneratedDraft,
    GenerationRequest,
    ReviewResult,
)
from projectone.domain.content import ContentVariant
from projectone.domain.language import Language

__all__ = [
    "AiCache",
    "AiFinding",
    "AiJobRepository",
    "AiUsageRow",
    "ComplianceReviewer",
    "ContentGenerator",
    "ModelCall",
    "ModelReviewer",
    "ReviewResult",
]


class ModelCall(Protocol):
    """What every model-backed adapter tells the service before a call, so quota, budget and
    cache are decided on the model and prompt that would really be used."""

    @property
    def name(self) -> str:
        """The adapter's name (``offline``, ``openai``)."""
        ...

    @property
    def model(self) -> str:
        """The model it calls (``offline-templates`` for the offline adapter)."""
        ...

    @property
    def prompt_version(self) -> str:
        """The version of the prompt it sends (package data, recorded with every result)."""
        ...

    @property
    def max_output_tokens(self) -> int:
        """The output allowance it asks for: the budget check assumes all of it is used."""
        ...


class ContentGenerator(ModelCall, Protocol):
    async def generate(self, request: GenerationRequest) -> GeneratedDraft:
        """Draft a post for ``request`` in each of its languages."""
        ...

    def prompt_for(self, request: GenerationRequest) -> str:
        """The prompt text ``generate`` would send (for the cost estimate)."""
        ...


class ComplianceReviewer(Protocol):
    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        """Review one language variant. Raises ``UnavailableError`` when the reviewer cannot
        answer; the caller then falls back to the rules alone and says so."""
        ...


class ModelReviewer(ModelCall, ComplianceReviewer, Protocol):
    """A reviewer backed by a paid model: the service guards it with quota, budget and cache
    (``projectone.services.ai_studio.GuardedReviewer``) before it is handed to compliance."""

    def review_prompt(self, variant: ContentVariant, language: Language, advisor: Advisor) -> str:
        """The prompt text ``review`` would send (for the cost estimate)."""
        ...


@attrs.frozen(kw_only=True)
class AiUsageRow:
    """Spend of one advisor on one model over a period (``advisor_id`` ``None``: no advisor)."""

    advisor_id: uuid.UUID | None
    model: str
    calls: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost_inr: Decimal


class AiJobRepository(Protocol):
    async def add(self, job: AiJob) -> None:
        """Record one AI request (a model call or a cache hit)."""
        ...

    async def count_for(
        self, advisor_id: uuid.UUID, stage: AiStage, since: dt.datetime, until: dt.datetime
    ) -> int:
        """Model calls of ``stage`` for the advisor in ``[since, until)``, whatever their
        outcome: what counts against the daily quota. Cache hits are not counted (they cost
        nothing), nor are requests refused before a call (those are never recorded)."""
        ...

    async def spend(self, since: dt.datetime, until: dt.datetime) -> Decimal:
        """INR spent on model calls in ``[since, until)`` (cache hits cost nothing)."""
        ...

    async def usage(self, since: dt.datetime, until: dt.datetime) -> Sequence[AiUsageRow]:
        """Spend per advisor and model in ``[since, until)``, highest cost first."""
        ...

    async def for_advisor(self, advisor_id: uuid.UUID, limit: int = 100) -> Sequence[AiJob]:
        """The advisor's most recent jobs, newest first."""
        ...


class AiCache(Protocol):
    async def get(self, key: str, now: dt.datetime) -> CachedAnswer | None:
        """The answer stored under ``key`` if it has not expired at ``now``."""
        ...

    async def put(self, answer: CachedAnswer) -> None:
        """Store ``answer``, replacing any under the same key."""
        ...

    async def purge(self, now: dt.datetime) -> int:
        """Delete answers expired at ``now``; how many were deleted."""
        ...
