"""Delivery receipts from signed WhatsApp webhooks: verified first, applied monotonically."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
import pytest

from projectone.adapters.whatsapp_receipts import CloudWebhookReader
from projectone.domain import Delivery, DeliveryStatus, Language
from projectone.domain.advisor import Advisor
from projectone.domain.errors import UnauthenticatedError, ValidationError
from projectone.services.receipts import ReceiptService
from projectone.testing.builders import reviewed
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import FixedClock, InMemoryUnitOfWorkFactory, SequentialIds
from projectone.testing.whatsapp_simulator import (
    build_message_webhook,
    build_status_webhook,
    sign_body,
)

SECRET = "app-secret-for-tests"
DAY = dt.date(2026, 11, 23)
T0 = dt.datetime(2026, 11, 23, 0, 30, 5, tzinfo=dt.UTC)


@attrs.define
class World:
    uow: InMemoryUnitOfWorkFactory
    service: ReceiptService
    deliveries: list[Delivery]
    advisors: list[Advisor]

    def stored(self, delivery: Delivery) -> Delivery:
        return self.uow.store.deliveries[delivery.id]


async def make_world(n: int = 3, *, sent: bool = True) -> World:
    uow = InMemoryUnitOfWorkFactory()
    ids = SequentialIds()
    advisors = demo_advisors(n, ids=ids, now=T0)
    packs = demo_packs(advisors, DAY, ids=ids, now=T0)
    deliveries = []
    for i, (advisor, pack) in enumerate(zip(advisors, packs, strict=True)):
        delivery = Delivery.plan(
            id=ids.new_id(),
            advisor_id=advisor.id,
            pack_id=pack.id,
            date=DAY,
            send_time=dt.time(6, 0),
            language=Language.EN,
            to=advisor.whatsapp_number,
            content_hash=pack.content_hash,
            now=T0 - dt.timedelta(hours=1),
        ).start_sending(T0)
        if sent:
            delivery = delivery.mark_sent(f"wamid.{i}", T0)
        deliveries.append(delivery)
    async with uow() as tx:
        await tx.advisors.add_many(advisors)
        await tx.content.add_many(reviewed(p) for p in packs)
        await tx.deliveries.add_many(deliveries)
        await tx.commit()
    service = ReceiptService(uow, CloudWebhookReader(SECRET), FixedClock(T0), SequentialIds())
    return World(uow, service, deliveries, advisors)


def event(message_id: str, status: str, seconds: int, **extra: Any) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "recipient_id": "919800000001",
        "status": status,
        "timestamp": T0 + dt.timedelta(seconds=seconds),
        **extra,
    }


def signed(events: list[dict[str, Any]]) -> tuple[bytes, str]:
    body = build_status_webhook(events)
    return body, sign_body(SECRET, body)


async def test_receipts_advance_deliveries_and_repeats_change_nothing() -> None:
    world = await make_world()
    body, signature = signed(
        [
            event("wamid.0", "read", 30),
            event("wamid.0", "delivered", 10),  # arrives late: read already implies it
            event("wamid.1", "delivered", 12),
            event("wamid.1", "delivered", 12),  # a duplicate
            event("wamid.2", "failed", 3, error_code=131026, error_title="Message undeliverable"),
        ]
    )
    result = await world.service.ingest(body, signature)
    again = await world.service.ingest(body, signature)

    first, second, third = (world.stored(d) for d in world.deliveries)
    assert (first.status, second.status, third.status) == (
        DeliveryStatus.READ,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.FAILED,
    )
    assert third.error_code == "131026"
    assert first.delivered_at == T0 + dt.timedelta(seconds=10)
    assert (result.applied, result.unchanged, result.unknown) == (4, 1, 0)
    assert (again.applied, again.unchanged) == (0, 5)


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "sha1=abc", "garbage"],
)
async def test_a_webhook_with_a_bad_signature_is_refused_and_writes_nothing(
    signature: str | None,
) -> None:
    world = await make_world()
    before = dict(world.uow.store.deliveries)
    body, _ = signed([event("wamid.0", "delivered", 10)])
    with pytest.raises(UnauthenticatedError):
        await world.service.ingest(body, signature)
    assert world.uow.store.deliveries == before


async def test_without_an_app_secret_every_webhook_is_refused() -> None:
    world = await make_world()
    body = build_status_webhook([event("wamid.0", "delivered", 10)])
    service = ReceiptService(world.uow, CloudWebhookReader(None), FixedClock(T0), SequentialIds())
    with pytest.raises(UnauthenticatedError, match="no app secret"):
        await service.ingest(body, sign_body("", body))


async def test_receipts_for_unknown_messages_are_counted_and_touch_nothing() -> None:
    world = await make_world()
    before = dict(world.uow.store.deliveries)
    body, signature = signed(
        [
            event("wamid.unknown", "delivered", 10),
            event("wamid.other", "read", 11, callback_data=str(uuid.uuid4())),
            event("wamid.x", "read", 12, callback_data="not-a-uuid"),
        ]
    )
    result = await world.service.ingest(body, signature)
    assert (result.applied, result.unknown) == (0, 3)
    assert world.uow.store.deliveries == before


async def test_a_second_message_of_a_sent_delivery_is_noted_as_a_duplicate_not_applied() -> None:
    world = await make_world()
    first = world.deliveries[0]
    # Names a real delivery, but that delivery was sent under another message id.
    body, signature = signed([event("wamid.y", "read", 13, callback_data=str(first.id))])
    result = await world.service.ingest(body, signature)
    again = await world.service.ingest(body, signature)
    stored = world.uow.store.deliveries[first.id]
    assert (result.applied, result.duplicates, again.duplicates) == (0, 1, 0)
    assert stored.status is first.status
    assert stored.duplicate_message_ids == ("wamid.y",)


async def test_a_send_whose_answer_was_lost_is_found_by_its_callback_data() -> None:
    world = await make_world(1, sent=False)  # claimed and sent, but the answer never came back
    (delivery,) = world.deliveries
    body, signature = signed(
        [
            event("wamid.late", "delivered", 20, callback_data=str(delivery.id)),
            event("wamid.late", "sent", 15, callback_data=str(delivery.id)),
        ]
    )
    result = await world.service.ingest(body, signature)
    stored = world.stored(delivery)
    assert stored.provider_message_id == "wamid.late"
    assert stored.status is DeliveryStatus.DELIVERED
    assert stored.sent_at == T0 + dt.timedelta(seconds=15)
    assert result.applied == 2


async def test_malformed_parts_are_rejected_while_the_rest_is_applied() -> None:
    world = await make_world()
    body, _ = signed([event("wamid.0", "delivered", 10), event("wamid.1", "delivered", 11)])
    broken = body.replace(b'"status":"delivered"', b'"status":"teleported"', 1)
    result = await world.service.ingest(broken, sign_body(SECRET, broken))
    assert (result.applied, result.rejected) == (1, 1)
    assert world.stored(world.deliveries[1]).status is DeliveryStatus.DELIVERED


async def test_a_body_that_is_not_json_is_a_validation_error_after_the_signature() -> None:
    world = await make_world()
    body = b"{not json"
    with pytest.raises(ValidationError):
        await world.service.ingest(body, sign_body(SECRET, body))


async def test_inbound_messages_are_recorded_once_and_linked_to_their_advisor() -> None:
    world = await make_world(2)
    known = world.advisors[1].whatsapp_number
    first = build_message_webhook(known.lstrip("+"), "STOP", message_id="wamid.in-1")
    stranger = build_message_webhook("919999999999", "hello", message_id="wamid.in-2")
    results = [
        await world.service.ingest(body, sign_body(SECRET, body))
        for body in (first, first, stranger)  # Meta redelivers webhooks
    ]
    assert [r.inbound_messages for r in results] == [1, 0, 1]
    stored = world.uow.store.inbound
    assert stored["wamid.in-1"].advisor_id == world.advisors[1].id
    assert stored["wamid.in-1"].body == "STOP"
    assert stored["wamid.in-2"].advisor_id is None
    async with world.uow() as uow:
        (mine,) = await uow.inbound.for_advisor(world.advisors[1].id)
    assert mine.provider_message_id == "wamid.in-1"
