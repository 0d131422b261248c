"""Content packs: one post in up to three languages, with its canonical hash."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import json
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from projectone.domain._validate import (
    flag,
    optional_aware,
    optional_hex64,
    optional_nonblank,
    to_enum,
    whole_number,
)
from projectone.domain.errors import ValidationError
from projectone.domain.language import Language

__all__ = [
    "MAX_TOPIC_CHARS",
    "PLANNED_SENDABLE",
    "ContentPack",
    "ContentStatus",
    "ContentType",
    "ContentVariant",
    "VariantSnapshot",
    "canonical_json",
    "content_hash",
    "message_hash",
    "variants_of",
]

# WhatsApp text bodies are limited to 4,096 characters; a rendered variant must fit.
MAX_VARIANT_CHARS = 4096


class ContentStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    DELIVERED = "delivered"
    ARCHIVED = "archived"


class ContentType(enum.StrEnum):
    DAILY_POST = "daily_post"
    MARKET_UPDATE = "market_update"
    EDUCATIONAL = "educational"
    PROMOTIONAL = "promotional"


def _text(field: str, value: object, *, required: bool) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, value, "must be text")
    if required and not value.strip():
        raise ValidationError(field, value, "must not be empty")
    return value


def _title(value: object) -> str:
    return _text("title", value, required=True)


def _body(value: object) -> str:
    return _text("body", value, required=True)


def _cta(value: object) -> str:
    return _text("cta", value, required=False)


def _disclaimer(value: object) -> str:
    return _text("disclaimer", value, required=False)


#: A topic is a label, not a post: it fits the column that holds it.
MAX_TOPIC_CHARS = 200


def _topic(value: object) -> str:
    topic = _text("topic", value, required=True)
    if len(topic) > MAX_TOPIC_CHARS:
        raise ValidationError(
            "topic", f"<{len(topic)} characters>", f"must be at most {MAX_TOPIC_CHARS} characters"
        )
    return topic


def _type(value: object) -> ContentType:
    return to_enum(ContentType, "type", value)


def _status(value: object) -> ContentStatus:
    return to_enum(ContentStatus, "status", value)


@attrs.frozen(kw_only=True)
class ContentVariant:
    """The post in one language."""

    title: str = attrs.field(converter=_title)
    body: str = attrs.field(converter=_body)
    cta: str = attrs.field(default="", converter=_cta)
    disclaimer: str = attrs.field(default="", converter=_disclaimer)

    def __attrs_post_init__(self) -> None:
        if len(self.render()) > MAX_VARIANT_CHARS:
            raise ValidationError(
                "body", len(self.render()), f"the rendered post exceeds {MAX_VARIANT_CHARS} chars"
            )

    def as_dict(self) -> dict[str, str]:
        return {
            "title": self.title,
            "body": self.body,
            "cta": self.cta,
            "disclaimer": self.disclaimer,
        }

    def render(self) -> str:
        """The WhatsApp text of this variant: bold title, body, call to action, disclaimer."""
        parts = [f"*{self.title.strip()}*", self.body.strip()]
        if self.cta.strip():
            parts.append(self.cta.strip())
        if self.disclaimer.strip():
            parts.append(f"_{self.disclaimer.strip()}_")
        return "\n\n".join(parts)


_VARIANT_FIELDS = ("title", "body", "cta", "disclaimer")


def _variant(language: Language, fields: Mapping[Any, Any]) -> ContentVariant:
    """A variant from its fields; an error names the field where it is (``variants.hi.title``)."""
    where = f"variants.{language.value}"
    unknown = sorted(str(k) for k in fields if k not in _VARIANT_FIELDS)
    if unknown:
        raise ValidationError(f"{where}.{unknown[0]}", fields[unknown[0]], "is not a variant field")
    try:
        return ContentVariant(**fields)
    except ValidationError as exc:
        raise ValidationError(f"{where}.{exc.field}", exc.value, exc.reason) from None
    except TypeError:  # a required field is missing
        missing = [name for name in ("title", "body") if name not in fields]
        raise ValidationError(f"{where}.{missing[0]}", None, "is required") from None


def variants_of(value: Mapping[Any, Any]) -> Mapping[Language, ContentVariant]:
    """Language (or its code) → variant (or its fields), validated and sorted by language,
    as a pack holds them; ``ValidationError`` otherwise."""
    if not isinstance(value, Mapping) or not value:
        raise ValidationError("variants", value, "at least one language variant is required")
    out: dict[Language, ContentVariant] = {}
    for lang, variant in value.items():
        language = to_enum(Language, "variants", lang)
        if isinstance(variant, Mapping):
            variant = _variant(language, variant)
        if not isinstance(variant, ContentVariant):
            raise ValidationError(f"variants.{language.value}", variant, "must be a variant")
        out[language] = variant
    # Sorted by language so equal packs compare and iterate alike.
    return dict(sorted(out.items()))


def canonical_json(variants: Mapping[Language, ContentVariant]) -> str:
    """The canonical JSON of a pack's content: sorted keys, NFC text, no insignificant spaces."""
    doc = {
        lang.value: {k: unicodedata.normalize("NFC", v) for k, v in variant.as_dict().items()}
        for lang, variant in variants.items()
    }
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_hash(variants: Mapping[Language, ContentVariant]) -> str:
    """SHA-256 (hex) of :func:`canonical_json`: what was approved is what is sent."""
    return hashlib.sha256(canonical_json(variants).encode("utf-8")).hexdigest()


def message_hash(text: str) -> str:
    """SHA-256 (hex) of one message's text exactly as sent (UTF-8, no normalisation): a
    delivery carries the hash of the text it was planned with, and the worker sends only
    text that still hashes to it."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


#: Statuses in which a pack's planned deliveries may go out: approved or scheduled, or already
#: delivered by another delivery of the same pack (its SMS backup, say). Pulled, archived or
#: reopened packs go nowhere.
PLANNED_SENDABLE = frozenset(
    {ContentStatus.APPROVED, ContentStatus.SCHEDULED, ContentStatus.DELIVERED}
)

_VERDICTS = frozenset({"pass", "review", "block"})


def _verdict(value: object) -> str | None:
    # Kept as plain text (not the compliance package's enum) so a pack never depends on the
    # rule engine; a ``Verdict`` member is accepted since it is a str.
    if value is None:
        return None
    if not isinstance(value, str) or str(value) not in _VERDICTS:
        raise ValidationError("compliance_verdict", value, "must be pass, review or block")
    return str(value)


def _findings(value: Iterable[Any]) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("findings", value, "must be a list of rule ids")
    ids = tuple(value)
    for rule_id in ids:
        if not isinstance(rule_id, str) or not rule_id.strip():
            raise ValidationError("findings", rule_id, "a rule id must be non-empty text")
    return ids


def _positive(field: str) -> Any:
    def check(_: Any, __: Any, value: int) -> None:
        if not isinstance(value, int) or value < 1:
            raise ValidationError(field, value, "must be a positive integer")

    return check


@attrs.frozen(kw_only=True)
class ContentPack:
    """A post in one or more languages, owned by an advisor (or by the fallback library when
    ``advisor_id`` is ``None``), meant for ``scheduled_date`` when one is set."""

    id: uuid.UUID
    advisor_id: uuid.UUID | None
    topic: str = attrs.field(converter=_topic)
    type: ContentType = attrs.field(default=ContentType.DAILY_POST, converter=_type)
    variants: Mapping[Language, ContentVariant] = attrs.field(converter=variants_of)
    status: ContentStatus = attrs.field(default=ContentStatus.DRAFT, converter=_status)
    version: int = attrs.field(default=1, validator=_positive("version"))
    parent_id: uuid.UUID | None = None
    scheduled_date: dt.date | None = None
    created_at: dt.datetime
    # The workflow's record (see ``projectone.domain.approval``): who wrote it, what the last
    # compliance check said, who reviewed it, and the content hash that was approved.
    author_id: str | None = attrs.field(default=None, validator=optional_nonblank)
    submitted_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    risk_score: int | None = attrs.field(
        default=None, validator=attrs.validators.optional(whole_number(0, 100))
    )
    compliance_verdict: str | None = attrs.field(default=None, converter=_verdict)
    rulebook_version: str | None = attrs.field(default=None, validator=optional_nonblank)
    findings: tuple[str, ...] = attrs.field(default=(), converter=_findings)
    requires_human: bool = attrs.field(default=False, validator=flag)
    escalated: bool = attrs.field(default=False, validator=flag)
    reviewer_id: str | None = attrs.field(default=None, validator=optional_nonblank)
    reviewed_at: dt.datetime | None = attrs.field(default=None, validator=optional_aware)
    review_note: str | None = attrs.field(default=None, validator=optional_nonblank)
    approved_hash: str | None = attrs.field(default=None, validator=optional_hex64)

    def __attrs_post_init__(self) -> None:
        if self.status is ContentStatus.SCHEDULED and self.scheduled_date is None:
            raise ValidationError("scheduled_date", None, "a scheduled pack needs a date")

    @property
    def languages(self) -> tuple[Language, ...]:
        return tuple(self.variants)

    @functools.cached_property
    def content_hash(self) -> str:
        # Cached: a pack is immutable (every change is a new object through attrs.evolve), and
        # the hash is read many times on the way to a send (integrity, audit, storage).
        return content_hash(self.variants)

    @property
    def sendable(self) -> bool:
        """Approved (or scheduled) content is the only content that may be sent."""
        return self.status in (ContentStatus.APPROVED, ContentStatus.SCHEDULED)

    def variant_for(self, preferences: tuple[Language, ...]) -> tuple[Language, ContentVariant]:
        """The first of the advisor's ``preferences`` this pack is written in.

        Raises ``ValidationError`` when the pack has none of them.
        """
        for language in preferences:
            if language in self.variants:
                return language, self.variants[language]
        raise ValidationError(
            "languages",
            [p.value for p in preferences],
            f"pack {self.id} has no variant in these languages",
        )


@attrs.frozen(kw_only=True)
class VariantSnapshot:
    """One language of a pack as a sender needs it: the variant (``None`` when the pack has
    no such language) with the pack's workflow state, read together. Reading this instead of
    the whole pack keeps the other languages, and the pack's record, off the sending path."""

    pack_id: uuid.UUID
    language: Language
    status: ContentStatus = attrs.field(converter=_status)
    approved_hash: str | None = attrs.field(validator=optional_hex64)
    variant: ContentVariant | None

    @property
    def sendable(self) -> bool:
        """Whether a planned delivery of the pack may still go out (unlike
        ``ContentPack.sendable``, which decides planning, a delivered pack may: another
        delivery of it went first)."""
        return self.status in PLANNED_SENDABLE
