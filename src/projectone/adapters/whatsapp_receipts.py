"""The WhatsApp Cloud API webhook as a :class:`~projectone.ports.receipts.WebhookReader`."""

from __future__ import annotations

from projectone.adapters.whatsapp_webhook import parse_webhook, verify_signature
from projectone.domain.errors import UnauthenticatedError
from projectone.ports.receipts import ReceiptBatch, ReceivedMessage, StatusReceipt

__all__ = ["CloudWebhookReader"]


class CloudWebhookReader:
    """Reads Meta's webhooks, signed with the app secret (``X-Hub-Signature-256``).

    Without an app secret every webhook is refused: an unconfigured endpoint must not accept
    forged receipts (it fails closed).
    """

    def __init__(self, app_secret: str | None) -> None:
        self._secret = app_secret or ""

    def read(self, raw_body: bytes, signature: str | None) -> ReceiptBatch:
        if not self._secret:
            raise UnauthenticatedError("webhook", "no app secret is configured")
        if not verify_signature(self._secret, raw_body, signature):
            raise UnauthenticatedError("webhook", "the X-Hub-Signature-256 signature is wrong")
        batch = parse_webhook(raw_body)
        receipts = tuple(
            StatusReceipt(
                message_id=s.message_id,
                status=s.status,
                at=s.timestamp,
                callback_data=s.callback_data,
                error_code=None if s.error_code is None else str(s.error_code),
                error_message=s.error_title,
            )
            for s in batch.statuses
        )
        messages = tuple(
            ReceivedMessage(
                message_id=m.message_id,
                from_number=m.from_number,
                type=m.type,
                at=m.timestamp,
                text=m.text,
            )
            for m in batch.messages
        )
        return ReceiptBatch(
            receipts=receipts,
            messages=messages,
            rejected=len(batch.rejected),
            rejections=tuple(f"{r.path}: {r.reason}" for r in batch.rejected),
        )
