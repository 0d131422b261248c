"""Hypothesis strategies for projectone's domain objects (needs ``projectone[test]``).

Embedders can property-test their own code against valid advisors, packs and deliveries::

    from hypothesis import given
    from projectone.testing.strategies import advisors

    @given(advisors())
    def test_my_code_handles_any_advisor(advisor): ...
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from projectone.domain.advisor import Advisor, AdvisorStatus, AdvisorType, Tier
from projectone.domain.content import ContentPack, ContentStatus, ContentType, ContentVariant
from projectone.domain.delivery import Delivery
from projectone.domain.language import Language
from projectone.testing.builders import reviewed

__all__ = [
    "advisors",
    "aware_datetimes",
    "content_packs",
    "content_variants",
    "deliveries",
    "languages",
    "registration_numbers",
]

_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", categories=("L", "N", "P", "Zs", "M")),
        st.sampled_from("अआइईउएओकखगघचछजझटठडढतथदधनपफबभमयरलवशसह्ािीुूेैोौंः।०१२३४५६७८९"),
    ),
    min_size=1,
    max_size=120,
).filter(lambda s: s.strip() != "")


def aware_datetimes() -> st.SearchStrategy[dt.datetime]:
    """UTC instants between 2020 and 2040, to the microsecond."""
    return st.datetimes(
        min_value=dt.datetime(2020, 1, 1),
        max_value=dt.datetime(2040, 1, 1),
        timezones=st.just(dt.UTC),
    )


def languages() -> st.SearchStrategy[tuple[Language, ...]]:
    return st.lists(st.sampled_from(Language), min_size=1, max_size=3, unique=True).map(tuple)


def registration_numbers(kind: AdvisorType) -> st.SearchStrategy[str]:
    if kind is AdvisorType.RIA:
        return st.from_regex(r"INA[0-9]{9}", fullmatch=True)
    return st.from_regex(r"ARN-[0-9]{1,7}", fullmatch=True)


@st.composite
def advisors(draw: st.DrawFn) -> Advisor:
    kind = draw(st.sampled_from(AdvisorType))
    return Advisor(
        id=draw(st.uuids()),
        name=draw(_TEXT),
        type=kind,
        registration_no=draw(registration_numbers(kind)),
        email=draw(st.from_regex(r"[a-z0-9._]{1,20}@[a-z0-9]{1,12}\.(in|com|org)", fullmatch=True)),
        whatsapp_number=draw(st.from_regex(r"\+91[6-9][0-9]{9}", fullmatch=True)),
        languages=draw(languages()),
        send_time=draw(st.times(min_value=dt.time(5, 0), max_value=dt.time(10, 0))),
        tier=draw(st.sampled_from(Tier)),
        status=draw(st.sampled_from(AdvisorStatus)),
        whatsapp_opt_in_at=draw(st.none() | aware_datetimes()),
        created_at=draw(aware_datetimes()),
    )


def content_variants() -> st.SearchStrategy[ContentVariant]:
    return st.builds(
        ContentVariant,
        title=_TEXT,
        body=_TEXT,
        cta=st.just("") | _TEXT,
        disclaimer=st.just("") | _TEXT,
    )


@st.composite
def content_packs(draw: st.DrawFn, status: ContentStatus | None = None) -> ContentPack:
    langs = draw(languages())
    status = status if status is not None else draw(st.sampled_from(ContentStatus))
    dates = st.dates(dt.date(2024, 1, 1), dt.date(2035, 12, 31))
    # A scheduled pack always has its date (the schema insists too).
    scheduled_date = draw(dates if status is ContentStatus.SCHEDULED else st.none() | dates)
    pack = ContentPack(
        id=draw(st.uuids()),
        advisor_id=draw(st.none() | st.uuids()),
        topic=draw(st.sampled_from(["sip_basics", "tax_saving", "market_update", "diwali"])),
        type=draw(st.sampled_from(ContentType)),
        variants={lang: draw(content_variants()) for lang in langs},
        status=status,
        version=draw(st.integers(min_value=1, max_value=50)),
        scheduled_date=scheduled_date,
        created_at=draw(aware_datetimes()),
    )
    # A pack in a reviewed state carries its review, as the workflow would have left it.
    return reviewed(pack, reviewer_id=draw(st.sampled_from(["admin:asha", "co:ravi"])))


@st.composite
def deliveries(draw: st.DrawFn) -> Delivery:
    """Freshly planned (queued) deliveries."""
    date = draw(st.dates(dt.date(2024, 1, 1), dt.date(2035, 12, 31)))
    return Delivery.plan(
        id=draw(st.uuids()),
        advisor_id=draw(st.uuids()),
        pack_id=draw(st.uuids()),
        date=date,
        send_time=draw(st.times(min_value=dt.time(5, 0), max_value=dt.time(10, 0))),
        language=draw(st.sampled_from(Language)),
        to=draw(st.from_regex(r"\+91[6-9][0-9]{9}", fullmatch=True)),
        content_hash="0" * 64,
        now=dt.datetime.combine(date, dt.time(0, 0), tzinfo=dt.UTC),
    )
