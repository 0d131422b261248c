from __future__ import annotations

import datetime as dt
import json
import unicodedata
import uuid

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from projectone.domain import (
    ContentPack,
    ContentStatus,
    ContentVariant,
    Language,
    ValidationError,
    canonical_json,
    content_hash,
)
from projectone.domain.content import variants_of
from projectone.testing.strategies import content_packs, content_variants

NOW = dt.datetime(2026, 11, 23, tzinfo=dt.UTC)


def pack(**variants: ContentVariant) -> ContentPack:
    return ContentPack(
        id=uuid.UUID(int=7), advisor_id=None, topic="sip_basics", variants=variants, created_at=NOW
    )


def test_the_hash_is_sha256_of_sorted_compact_json() -> None:
    v = ContentVariant(title="T", body="B")
    doc = canonical_json({Language.EN: v})
    assert doc == '{"en":{"body":"B","cta":"","disclaimer":"","title":"T"}}'
    assert len(content_hash({Language.EN: v})) == 64


def test_the_hash_ignores_unicode_composition_differences() -> None:
    # "é" composed and decomposed are the same text to a reader and must hash alike.
    composed = ContentVariant(title="Caf\u00e9", body="x")
    decomposed = ContentVariant(title="Cafe\u0301", body="x")
    assert content_hash({Language.EN: composed}) == content_hash({Language.EN: decomposed})


@given(
    st.lists(
        st.tuples(st.sampled_from(Language), content_variants()),
        min_size=1,
        max_size=3,
        unique_by=lambda t: t[0],
    )
)
def test_the_hash_does_not_depend_on_the_order_languages_were_given(
    items: list[tuple[Language, ContentVariant]],
) -> None:
    forward = pack(**{lang.value: v for lang, v in items})
    backward = pack(**{lang.value: v for lang, v in reversed(items)})
    assert forward.content_hash == backward.content_hash


@given(content_packs(), st.sampled_from(["title", "body", "cta", "disclaimer"]))
def test_any_edit_changes_the_hash(p: ContentPack, field: str) -> None:
    lang = p.languages[0]
    variant = p.variants[lang]
    edited = attrs.evolve(variant, **{field: getattr(variant, field) + " more"})
    assert attrs.evolve(p, variants={**p.variants, lang: edited}).content_hash != p.content_hash


@given(content_packs())
def test_canonical_json_round_trips_to_the_same_normalised_content(p: ContentPack) -> None:
    doc = json.loads(canonical_json(p.variants))
    assert set(doc) == {lang.value for lang in p.languages}
    for lang, variant in p.variants.items():
        assert doc[lang.value]["body"] == unicodedata.normalize("NFC", variant.body)


def test_a_pack_needs_a_variant_and_each_variant_a_title_and_body() -> None:
    with pytest.raises(ValidationError) as caught:
        pack()
    assert caught.value.field == "variants"
    with pytest.raises(ValidationError) as caught:
        ContentVariant(title=" ", body="b")
    assert caught.value.field == "title"
    with pytest.raises(ValidationError) as caught:
        pack(fr=ContentVariant(title="t", body="b"))
    assert caught.value.field == "variants"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": " ", "body": "b"}, "variants.hi.title"),
        ({"title": "t"}, "variants.hi.body"),
        ({"title": "t", "body": "b", "colour": "red"}, "variants.hi.colour"),
        ({"title": "t", "body": 42}, "variants.hi.body"),
    ],
)
def test_a_variant_given_as_fields_names_the_field_where_it_is(
    fields: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        variants_of({"hi": fields})
    assert caught.value.field == field


def test_a_post_longer_than_whatsapp_allows_is_refused() -> None:
    with pytest.raises(ValidationError, match="4096"):
        ContentVariant(title="t", body="x" * 4096)


def test_the_variant_sent_is_the_first_preferred_language_the_pack_has() -> None:
    p = pack(en=ContentVariant(title="t", body="b"), mr=ContentVariant(title="शीर्षक", body="ब"))
    assert p.variant_for((Language.HI, Language.MR, Language.EN))[0] is Language.MR
    with pytest.raises(ValidationError):
        p.variant_for((Language.HI,))


def test_only_approved_or_scheduled_packs_are_sendable() -> None:
    base = attrs.evolve(pack(en=ContentVariant(title="t", body="b")), scheduled_date=NOW.date())
    sendable = {s for s in ContentStatus if attrs.evolve(base, status=s).sendable}
    assert sendable == {ContentStatus.APPROVED, ContentStatus.SCHEDULED}


def test_rendering_puts_title_body_cta_and_disclaimer_in_order() -> None:
    v = ContentVariant(title="Title", body="Body", cta="Reply YES", disclaimer="Risk.")
    assert v.render() == "*Title*\n\nBody\n\nReply YES\n\n_Risk._"


def test_a_scheduled_pack_needs_a_date() -> None:
    base = pack(en=ContentVariant(title="t", body="b"))
    with pytest.raises(ValidationError) as caught:
        attrs.evolve(base, status=ContentStatus.SCHEDULED)
    assert caught.value.field == "scheduled_date"
