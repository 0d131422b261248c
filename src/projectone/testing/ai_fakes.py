"""In-memory AI models for unit tests: a scriptable content generator and model reviewer.

Both satisfy the model ports (``ContentGenerator``, ``ModelReviewer``): they have a model
name, a prompt version and an output allowance, so the studio's quota, budget and cache run
against them exactly as against the real adapter. ``fail_with`` queues errors for the next
calls; ``calls`` counts what reached the "model".
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from projectone.domain.advisor import Advisor
from projectone.domain.ai import (
    AiFinding,
    GeneratedDraft,
    GenerationRequest,
    ReviewResult,
    TokenUsage,
    estimate_tokens,
)
from projectone.domain.content import ContentVariant
from projectone.domain.errors import ProjectOneError
from projectone.domain.language import Language

__all__ = ["FakeContentGenerator", "FakeModelReviewer"]

_WARNING = {
    Language.EN: "Mutual Fund investments are subject to market risks, read all scheme "
    "related documents carefully.",
    Language.HI: "म्यूचुअल फंड निवेश बाजार जोखिमों के अधीन हैं, योजना संबंधी सभी दस्तावेजों को ध्यान से पढ़ें।",
    Language.MR: "म्युच्युअल फंड गुंतवणूक बाजारातील जोखमींच्या अधीन आहे, योजनेशी संबंधित सर्व "
    "कागदपत्रे काळजीपूर्वक वाचा.",
}


_GENERATION_USAGE = TokenUsage(300, 200)
_REVIEW_USAGE = TokenUsage(150, 50)


class _Script:
    def __init__(self) -> None:
        self.failures: deque[ProjectOneError] = deque()
        self.calls = 0

    def next_call(self) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.popleft()


class FakeContentGenerator:
    """Drafts "<topic>" posts with the MFD warning; ``fail_with(error, …)`` makes the next
    calls raise those errors in order."""

    name = "fake"

    def __init__(
        self,
        *,
        model: str = "fake-model",
        prompt_version: str = "fake-v1",
        max_output_tokens: int = 400,
        usage: TokenUsage = _GENERATION_USAGE,
    ) -> None:
        self.model = model
        self.prompt_version = prompt_version
        self.max_output_tokens = max_output_tokens
        self.usage = usage
        self.requests: list[GenerationRequest] = []
        self._script = _Script()

    @property
    def calls(self) -> int:
        return self._script.calls

    def fail_with(self, *errors: ProjectOneError) -> None:
        self._script.failures.extend(errors)

    def prompt_for(self, request: GenerationRequest) -> str:
        return f"Write a post about {request.topic} in {', '.join(request.languages)}."

    async def generate(self, request: GenerationRequest) -> GeneratedDraft:
        self._script.next_call()
        self.requests.append(request)
        variants = {
            language: ContentVariant(
                title=request.topic,
                body=f"A few words on {request.topic} from {request.profile.name}.",
                disclaimer=f"{request.profile.registration_no}. {_WARNING[language]}",
            )
            for language in request.languages
        }
        return GeneratedDraft(
            topic=request.topic,
            variants=variants,
            model=self.model,
            prompt_version=self.prompt_version,
            usage=self.usage,
        )


class FakeModelReviewer:
    """Answers with the findings it was given, as a model would (with usage and a prompt
    version); ``fail_with`` as for the generator."""

    name = "fake-model-reviewer"

    def __init__(
        self,
        findings: Iterable[AiFinding] = (),
        *,
        model: str = "fake-model",
        prompt_version: str = "fake-review-v1",
        max_output_tokens: int = 200,
        usage: TokenUsage = _REVIEW_USAGE,
    ) -> None:
        self.findings = tuple(findings)
        self.model = model
        self.prompt_version = prompt_version
        self.max_output_tokens = max_output_tokens
        self.usage = usage
        self.reviewed: list[tuple[Language, ContentVariant]] = []
        self._script = _Script()

    @property
    def calls(self) -> int:
        return self._script.calls

    def fail_with(self, *errors: ProjectOneError) -> None:
        self._script.failures.extend(errors)

    def review_prompt(self, variant: ContentVariant, language: Language, advisor: Advisor) -> str:
        return f"Review this {language.value} post: {variant.render()}"

    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        self._script.next_call()
        self.reviewed.append((language, variant))
        return ReviewResult(
            reviewer=self.name,
            findings=self.findings,
            risk_score=min(100, 20 * len(self.findings)),
            model=self.model,
            prompt_version=self.prompt_version,
            usage=TokenUsage(
                estimate_tokens(self.review_prompt(variant, language, advisor)),
                self.usage.output_tokens,
            ),
        )
