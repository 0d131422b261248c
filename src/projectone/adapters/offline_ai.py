"""The offline AI adapters: deterministic, no network. The default until an AI is configured.

``OfflineGenerator`` writes a post from templates (``offline_templates``): the free-text topic
is mapped to a :class:`~projectone.domain.topics.TopicFamily` by keywords in English, Hindi and
Marathi, and the family's text is filled in for each requested language and the requested tone,
with the advisor's name, registration number and mandatory disclaimer.

Why the requested topic is (mostly) not repeated in the post: the topic is free text typed by a
person, and the generator must never hand back a post that fails the rules ("guaranteed 20%
returns" is a valid topic). The post is therefore built from the family's own vetted text, and
the topic is quoted in one line ("Topic: …") only when all of these hold:

- a keyword recognised it, so the line is about what the post says;
- it is short (at most :data:`MAX_ECHO_LENGTH` characters) and made of letters, spaces and
  ``- ' & ( ) ,`` only: no digits (no percentages, prices, dates, phone or account numbers), no
  links, no WhatsApp formatting;
- none of its words is on a small list of prediction, promise and buy/sell words the rules do
  not all catch ("will", "double", "target", "tips", "buy", "मिलेगा", "दुप्पट"…);
- the complete variant with the line passes the generator's rulebook (the default one unless
  another is given) with no violation at all.

The advisor's name, also free text, is held to the last test too. Each language tries the post
with the topic line and the name, then without the line, then without the name; the first
that passes is returned. The last one holds only vetted text and the registration number, so it
passes whenever the profile's registration number is valid for its type (a malformed one is
flagged by the rules, which is what should happen).
"""

from __future__ import annotations

import json
import unicodedata

from projectone.adapters.offline_templates import (
    FAMILY_TEXT,
    FESTIVAL_TEXT,
    FULL_STOP,
    IDENTITY_LABEL,
    MF_WARNING,
    REGISTRATION_LABEL,
    RIA_WARNING,
    TONE_TEXT,
    TOPIC_LINE,
)
from projectone.adapters.rulebook_files import default_rulebook
from projectone.domain.advisor import Advisor, AdvisorType
from projectone.domain.ai import (
    AdvisorProfile,
    GeneratedDraft,
    GenerationRequest,
    ReviewResult,
    TokenUsage,
    estimate_tokens,
)
from projectone.domain.compliance.evaluate import Subject
from projectone.domain.compliance.rulebook import Rulebook
from projectone.domain.content import ContentVariant
from projectone.domain.language import Language
from projectone.domain.topics import Festival, TopicFamily, classify_topic, festival_in

__all__ = [
    "DEFAULT_FAMILY",
    "MAX_ECHO_LENGTH",
    "OfflineGenerator",
    "OfflineReviewer",
    "quotable_topic",
]

#: The family of a topic no keyword recognises: planning around goals suits any subject.
DEFAULT_FAMILY = TopicFamily.GOAL_PLANNING
#: The longest topic quoted in a post.
MAX_ECHO_LENGTH = 60

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_ECHO_PUNCTUATION = frozenset(" -'’&(),")
_TRAILING = " .,;:!?-"
# Words that make a topic a prediction, a promise or a trading call. The rulebook catches the
# phrases it knows; these keep a rule-clean "Nifty will double" out of the post all the same.
_UNQUOTABLE = frozenset((
    "will", "shall", "guarantee", "guaranteed", "guarantees", "assured", "assure", "sure",
    "surely", "promise", "promised", "promises", "double", "doubles", "doubling", "triple",
    "multibagger", "target", "targets", "predict", "prediction", "predictions", "forecast",
    "forecasts", "tip", "tips", "buy", "sell", "stock", "stocks", "share", "shares", "best",
    "top", "free", "profit", "profits", "jackpot", "rich", "crorepati", "safe", "secure",
    "certain", "fixed",
    "गारंटी", "पक्का", "पक्की", "पक्के", "दोगुना", "दोगुने", "तिगुना", "खरीदें", "खरीदो", "खरीदिए",
    "बेचें", "बेचो", "टिप", "टिप्स", "मिलेगा", "मिलेगी", "मिलेंगे", "होगा", "होगी", "होंगे", "शेयर",
    "मुनाफा", "मुनाफ़ा", "सुरक्षित", "निश्चित", "सुनिश्चित", "तय",
    "हमी", "हमखास", "दुप्पट", "तिप्पट", "खरेदी", "विका", "मिळेल", "मिळतील", "होईल", "होतील",
    "शेअर", "नफा", "खात्री", "खात्रीशीर", "नक्की",
))  # fmt: skip


def _clean(text: str) -> str:
    """NFC, without zero-width or control characters, whitespace collapsed."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH)
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(text.split())


def _has_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


def quotable_topic(topic: str) -> str | None:
    """``topic`` as it may be quoted in a post, or ``None`` if it may not be (see the module
    docstring); the rulebook check of the whole variant comes on top of this."""
    text = _clean(topic).rstrip(_TRAILING)
    if not text or len(text) > MAX_ECHO_LENGTH or classify_topic(text) is None:
        return None
    if any(unicodedata.category(ch)[0] not in "LM" and ch not in _ECHO_PUNCTUATION for ch in text):
        return None
    words = "".join(" " if ch in _ECHO_PUNCTUATION else ch for ch in text.casefold()).split()
    if any(word in _UNQUOTABLE for word in words):
        return None
    return text


class OfflineReviewer:
    """A reviewer with no opinion: it adds no findings, so the rules alone decide."""

    name = "offline"

    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        return ReviewResult(reviewer=self.name)


class OfflineGenerator:
    """A content generator from templates: free, instant, deterministic (the same request
    always gives the same draft).

    Every draft passes the default rulebook for an advisor whose registration number is valid
    (the templates are tested against it). ``rulebook`` (the default one unless given) is what
    the topic line and the advisor's name are checked against, and where the RIA disclaimer
    takes the supervisory body from; vetted text a custom rulebook still rejects is returned
    as it is, for the compliance check to report."""

    name = "offline"
    model = "offline-templates"
    #: Bump when the templates change, so cached drafts of the old text are not reused.
    prompt_version = "offline-templates-v1"
    #: Generous for three languages of a short post (a Devanagari character costs ~1 token).
    max_output_tokens = 3000

    def __init__(self, rulebook: Rulebook | None = None) -> None:
        self._rulebook = rulebook if rulebook is not None else default_rulebook()

    @property
    def rulebook(self) -> Rulebook:
        """The rulebook every draft is made to pass."""
        return self._rulebook

    @staticmethod
    def family_for(topic: str) -> TopicFamily:
        """The family a topic is written as (:data:`DEFAULT_FAMILY` when none is recognised)."""
        return classify_topic(topic) or DEFAULT_FAMILY

    def prompt_for(self, request: GenerationRequest) -> str:
        """A deterministic description of what would be written (for the cost estimate; the
        offline model costs nothing)."""
        doc = {
            "generator": self.prompt_version,
            "family": self.family_for(request.topic).value,
            "request": request.inputs(),
        }
        return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    async def generate(self, request: GenerationRequest) -> GeneratedDraft:
        return self.draft(request)

    def draft(self, request: GenerationRequest) -> GeneratedDraft:
        """:meth:`generate` without the event loop."""
        family = self.family_for(request.topic)
        festival = festival_in(request.topic) if family is TopicFamily.FESTIVAL_GREETING else None
        quoted = quotable_topic(request.topic)
        variants = {
            language: self._variant(request, family, festival, quoted, language)
            for language in request.languages
        }
        usage = TokenUsage(
            input_tokens=estimate_tokens(self.prompt_for(request)),
            output_tokens=sum(estimate_tokens(v.render()) for v in variants.values()),
        )
        return GeneratedDraft(
            topic=request.topic,
            variants=variants,
            model=self.model,
            prompt_version=self.prompt_version,
            usage=usage,
        )

    # -- composing ------------------------------------------------------------------------------

    def _variant(
        self,
        request: GenerationRequest,
        family: TopicFamily,
        festival: Festival | None,
        quoted: str | None,
        language: Language,
    ) -> ContentVariant:
        profile = request.profile
        name = _clean(profile.name)
        if language is Language.EN and quoted is not None and _has_devanagari(quoted):
            quoted = None  # a Devanagari topic reads oddly in an English post
        attempts = [(quoted, name), (None, name), (None, "")]
        if quoted is None:
            attempts = attempts[1:]
        for topic, signer in attempts[:-1]:
            variant = self._compose(request, family, festival, language, topic, signer)
            if self._passes(variant, language, profile):
                return variant
        # Vetted text only: passes unless the profile itself is wrong (the rules will say so).
        topic, signer = attempts[-1]
        return self._compose(request, family, festival, language, topic, signer)

    def _compose(
        self,
        request: GenerationRequest,
        family: TopicFamily,
        festival: Festival | None,
        language: Language,
        topic: str | None,
        name: str,
    ) -> ContentVariant:
        text = FAMILY_TEXT[family][language]
        tone = TONE_TEXT[request.tone][language]
        occasion = FESTIVAL_TEXT[festival][language]
        fill = {"wish": occasion.wish, "occasion": occasion.occasion}
        head = [tone.opening]
        if topic is not None:
            head.append(TOPIC_LINE[language].format(topic=topic))
        paragraphs = ["\n".join(head), text.body.format(**fill)]
        if tone.tip_intro:
            paragraphs.append(f"{tone.tip_intro} {text.tip}")
        if name:
            paragraphs.append(tone.sign_off.format(name=name))
        return ContentVariant(
            title=text.title.format(**fill),
            body="\n\n".join(paragraphs),
            cta=text.cta,
            disclaimer=self._disclaimer(request.profile, language, name),
        )

    def _disclaimer(self, profile: AdvisorProfile, language: Language, name: str) -> str:
        if profile.type is AdvisorType.RIA:
            body = str(self._rulebook.parameters.get("supervisory_body", "BASL"))
            warning = RIA_WARNING[language].format(body=body)
        else:
            warning = MF_WARNING[language]
        label = IDENTITY_LABEL[profile.type][language]
        parts = [f"{label}: {name}" if name else label]
        registration = _clean(profile.registration_no)
        if registration:
            parts.append(REGISTRATION_LABEL[profile.type][language] + registration)
        return f"{warning} {', '.join(parts)}{FULL_STOP[language]}"

    def _passes(self, variant: ContentVariant, language: Language, profile: AdvisorProfile) -> bool:
        subject = Subject.of(
            title=variant.title,
            body=variant.body,
            cta=variant.cta,
            disclaimer=variant.disclaimer,
            language=language.value,
            advisor_type=profile.type.value,
            advisor_reg_no=profile.registration_no,
            advisor_name=profile.name,
        )
        return not self._rulebook.check(subject).violations
