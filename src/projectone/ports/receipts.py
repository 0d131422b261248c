"""What comes back from the messaging provider: delivery receipts, read from its webhooks."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

import attrs

from projectone.domain.delivery import DeliveryStatus

__all__ = ["ReceiptBatch", "ReceivedMessage", "StatusReceipt", "WebhookReader"]


@attrs.frozen(kw_only=True)
class StatusReceipt:
    """The provider's news about one message: ``message_id`` is its id (a WhatsApp ``wamid``),
    ``callback_data`` what we sent along (the delivery id), ``at`` when it happened (UTC)."""

    message_id: str
    status: DeliveryStatus
    at: dt.datetime
    callback_data: str | None = None
    error_code: str | None = None
    error_message: str | None = None


@attrs.frozen(kw_only=True)
class ReceivedMessage:
    """A message someone sent to our number: ``from_number`` in E.164 with its ``+``, ``text``
    for a text message (``None`` for other types), ``at`` the provider's time (UTC)."""

    message_id: str
    from_number: str
    type: str
    at: dt.datetime
    text: str | None = None


@attrs.frozen(kw_only=True)
class ReceiptBatch:
    """One webhook call: its receipts in order, the messages it carried, and how much of it
    could not be read."""

    receipts: tuple[StatusReceipt, ...] = ()
    messages: tuple[ReceivedMessage, ...] = ()
    rejected: int = 0
    rejections: tuple[str, ...] = ()

    @property
    def inbound_messages(self) -> int:
        return len(self.messages)


class WebhookReader(Protocol):
    def read(self, raw_body: bytes, signature: str | None) -> ReceiptBatch:
        """Check the body's signature, then read it.

        Raises ``UnauthenticatedError`` when the signature is missing or wrong (nothing may be
        read from such a body) and ``ValidationError`` when the body is not a webhook at all.
        Malformed parts of a genuine webhook are counted in ``rejected``, not raised.
        """
        ...
