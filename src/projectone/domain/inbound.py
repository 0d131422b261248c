"""Messages advisors send to our WhatsApp number, as the webhook delivers them.

They are recorded, never acted on here: replies such as "STOP" or questions to the support
desk are for the advisor console to show. A message is matched to the advisor whose WhatsApp
number sent it (``advisor_id`` stays ``None`` for a number we do not know). Meta redelivers
webhooks, so the provider's message id makes recording one idempotent.
"""

from __future__ import annotations

import datetime as dt
import uuid

import attrs

from projectone.domain._validate import nonblank, optional_aware

__all__ = ["InboundMessage"]


@attrs.frozen(kw_only=True)
class InboundMessage:
    """``from_number`` is E.164 with its ``+``; ``body`` is the text of a ``text`` message and
    ``None`` for any other type; ``sent_at`` is the provider's timestamp, ``received_at`` ours."""

    id: uuid.UUID
    provider_message_id: str = attrs.field(validator=nonblank)
    from_number: str = attrs.field(validator=nonblank)
    advisor_id: uuid.UUID | None = None
    type: str = attrs.field(validator=nonblank)
    body: str | None = None
    phone_number_id: str | None = None
    sent_at: dt.datetime = attrs.field(validator=optional_aware)
    received_at: dt.datetime = attrs.field(validator=optional_aware)
