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

import attrs

from projectone.domain.delivery import Delivery, DeliveryStatus
from projectone.domain.errors import NotFoundError
from projectone.ports.receipts import StatusReceipt, WebhookReader
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


@attrs.define
class ReceiptService:
    uow_factory: UnitOfWorkFactory
    reader: WebhookReader

    async def ingest(self, raw_body: bytes, signature: str | None) -> IngestResult:
        """Verify and read one webhook call, then apply its receipts in one unit of work."""
        batch = self.reader.read(raw_body, signature)  # UnauthenticatedError: nothing happens
        receipts = sorted(batch.receipts, key=lambda r: r.at)
        applied = unchanged = unknown = 0
        async with self.uow_factory() as uow:
            current = dict(await uow.deliveries.by_message_ids(r.message_id for r in receipts))
            changed: dict[uuid.UUID, Delivery] = {}
            for receipt in receipts:
                delivery = current.get(receipt.message_id) or await self._by_callback(
                    uow, receipt, changed
                )
                if delivery is None:
                    unknown += 1
                    continue
                delivery = changed.get(delivery.id, delivery)
                updated = _apply(delivery, receipt)
                if updated == delivery:
                    unchanged += 1
                    continue
                applied += 1
                changed[updated.id] = updated
                current[receipt.message_id] = updated
            await uow.deliveries.update_many(changed.values())
            await uow.commit()
        return IngestResult(
            applied=applied,
            unchanged=unchanged,
            unknown=unknown,
            rejected=batch.rejected,
            inbound_messages=batch.inbound_messages,
        )

    @staticmethod
    async def _by_callback(
        uow: UnitOfWork, receipt: StatusReceipt, changed: dict[uuid.UUID, Delivery]
    ) -> Delivery | None:
        """The delivery named by the receipt's callback data, if it has not been given another
        message id (a receipt for a different send of it must not touch it)."""
        try:
            delivery_id = uuid.UUID(receipt.callback_data or "")
        except ValueError:
            return None
        delivery = changed.get(delivery_id)
        if delivery is None:
            try:
                delivery = await uow.deliveries.get(delivery_id)
            except NotFoundError:
                return None
        if delivery.provider_message_id not in (None, receipt.message_id):
            return None
        return delivery


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
