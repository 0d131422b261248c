"""Delivery receipts from the provider's webhooks, applied to the deliveries they concern.

Receipts are applied monotonically (:meth:`~projectone.domain.delivery.Delivery.apply_report`):
a duplicate or an out-of-order receipt changes nothing. A receipt is matched by the message id
the send returned or, when that answer was lost (a timeout after the request went out), by
the delivery id that travelled with the message as callback data. A receipt matching no
delivery is counted, never applied to another one. A webhook whose signature is wrong is
refused before anything is read or written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import attrs

from projectone.domain.delivery import Delivery, DeliveryStatus
from projectone.domain.inbound import InboundMessage
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.receipts import ReceivedMessage, StatusReceipt, WebhookReader
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = ["IngestResult", "ReceiptService"]

_ACCEPTED = (DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)


@attrs.frozen(kw_only=True)
class IngestResult:
    """What one webhook call did (for its log line and the metrics)."""

    applied: int = 0
    unchanged: int = 0
    unknown: int = 0
    rejected: int = 0
    inbound_messages: int = 0
    #: ``inbound_messages``: messages recorded (a redelivered one is not counted again).
    #: Receipts for a second message of a delivery already sent under another id.
    duplicates: int = 0


@attrs.define
class ReceiptService:
    uow_factory: UnitOfWorkFactory
    reader: WebhookReader
    clock: Clock
    ids: IdGenerator

    async def ingest(self, raw_body: bytes, signature: str | None) -> IngestResult:
        """Verify and read one webhook call, then apply its receipts in one unit of work."""
        batch = self.reader.read(raw_body, signature)  # UnauthenticatedError: nothing happens
        receipts = sorted(batch.receipts, key=lambda r: r.at)
        applied = unchanged = unknown = duplicates = 0
        async with self.uow_factory() as uow:
            # Locked: a worker recording the same delivery waits for us, and we for it.
            current = dict(
                await uow.deliveries.by_message_ids((r.message_id for r in receipts), lock=True)
            )
            # The rest by the delivery id they carry, locked together and in id order too:
            # one by one, in the order of the receipts, they could deadlock with a worker
            # recording a batch that holds some of them.
            named = await uow.deliveries.get_many(
                {
                    delivery_id
                    for r in receipts
                    if r.message_id not in current and (delivery_id := _callback_id(r)) is not None
                },
                lock=True,
                missing_ok=True,
            )
            changed: dict[uuid.UUID, Delivery] = {}
            for receipt in receipts:
                delivery = current.get(receipt.message_id) or _by_callback(receipt, named, changed)
                if delivery is None:
                    unknown += 1
                    continue
                delivery = changed.get(delivery.id, delivery)
                if delivery.provider_message_id not in (None, receipt.message_id):
                    # Another send of a delivery already on record under its first message
                    # id: the advisor got it twice. Noted, never applied as its status.
                    noted = delivery.note_message(receipt.message_id)
                    if noted != delivery:
                        duplicates += 1
                        changed[noted.id] = noted
                    else:
                        unchanged += 1
                    continue
                updated = _apply(delivery, receipt)
                if updated == delivery:
                    unchanged += 1
                    continue
                applied += 1
                changed[updated.id] = updated
                current[receipt.message_id] = updated
            await uow.deliveries.update_many(changed.values())
            recorded = await self._record_messages(uow, batch.messages)
            await uow.commit()
        return IngestResult(
            applied=applied,
            unchanged=unchanged,
            unknown=unknown,
            rejected=batch.rejected,
            inbound_messages=recorded,
            duplicates=duplicates,
        )

    async def _record_messages(self, uow: UnitOfWork, messages: Sequence[ReceivedMessage]) -> int:
        """Record what advisors wrote to us, each once, linked to the advisor by number."""
        if not messages:
            return 0
        owners = await uow.advisors.ids_by_whatsapp(m.from_number for m in messages)
        now = self.clock.now()
        return await uow.inbound.add_new(
            InboundMessage(
                id=self.ids.new_id(),
                provider_message_id=m.message_id,
                from_number=m.from_number,
                advisor_id=owners.get(m.from_number),
                type=m.type,
                body=m.text,
                sent_at=m.at,
                received_at=now,
            )
            for m in messages
        )


def _callback_id(receipt: StatusReceipt) -> uuid.UUID | None:
    try:
        return uuid.UUID(receipt.callback_data or "")
    except ValueError:
        return None


def _by_callback(
    receipt: StatusReceipt,
    named: Mapping[uuid.UUID, Delivery],
    changed: Mapping[uuid.UUID, Delivery],
) -> Delivery | None:
    """The delivery named by the receipt's callback data, as changed so far (the caller
    tells a receipt for another send of it from one for the send on record)."""
    delivery_id = _callback_id(receipt)
    if delivery_id is None:
        return None
    return changed.get(delivery_id) or named.get(delivery_id)


def _apply(delivery: Delivery, receipt: StatusReceipt) -> Delivery:
    if (
        delivery.provider_message_id is None
        and delivery.status is DeliveryStatus.SENDING
        and receipt.status in _ACCEPTED
    ):
        # The send's answer was lost: the receipt tells us it went out, and under which id.
        delivery = delivery.mark_sent(receipt.message_id, receipt.at)
    return delivery.apply_report(
        receipt.status,
        receipt.at,
        error_code=receipt.error_code,
        error_message=receipt.error_message,
    )
