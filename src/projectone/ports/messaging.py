"""Outbound messaging: what the core asks a WhatsApp provider to do."""

from __future__ import annotations

from typing import Protocol

import attrs

__all__ = ["OutboundText", "SendReceipt", "WhatsAppSender"]


@attrs.frozen(kw_only=True)
class OutboundText:
    """A text message. ``callback_data`` travels with the message and comes back in receipts
    (WhatsApp's ``biz_opaque_callback_data``): projectone puts the delivery id there."""

    to: str
    body: str
    callback_data: str | None = None
    preview_url: bool = False


@attrs.frozen(kw_only=True)
class SendReceipt:
    """The provider accepted the message: ``message_id`` is its id (a WhatsApp ``wamid``)."""

    message_id: str
    recipient_id: str | None = None


class WhatsAppSender(Protocol):
    async def send_text(self, message: OutboundText) -> SendReceipt:
        """Hand ``message`` to the provider.

        Raises ``ProviderError`` (with the provider's code) when it is refused, and
        ``UnavailableError`` when the provider cannot be reached.
        """
        ...
