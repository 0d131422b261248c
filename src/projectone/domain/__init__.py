"""The domain: pure, deterministic rules of projectone. No I/O; time and ids are passed in."""

from projectone.domain.advisor import Advisor, AdvisorStatus, AdvisorType, Tier
from projectone.domain.content import (
    ContentPack,
    ContentStatus,
    ContentType,
    ContentVariant,
    canonical_json,
    content_hash,
)
from projectone.domain.delivery import (
    SLA_WINDOW,
    Channel,
    Delivery,
    DeliveryStatus,
    SlaOutcome,
    Variant,
    can_advance,
)
from projectone.domain.errors import (
    ConfigurationError,
    ConflictError,
    InvalidTransitionError,
    NotFoundError,
    ProjectOneError,
    ProviderError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.language import Language
from projectone.domain.sla import SlaSummary, summarize
from projectone.domain.timezone import DEFAULT_SEND_TIME, IST, local_to_utc

__all__ = [
    "DEFAULT_SEND_TIME",
    "IST",
    "SLA_WINDOW",
    "Advisor",
    "AdvisorStatus",
    "AdvisorType",
    "Channel",
    "ConfigurationError",
    "ConflictError",
    "ContentPack",
    "ContentStatus",
    "ContentType",
    "ContentVariant",
    "Delivery",
    "DeliveryStatus",
    "InvalidTransitionError",
    "Language",
    "NotFoundError",
    "ProjectOneError",
    "ProviderError",
    "SlaOutcome",
    "SlaSummary",
    "Tier",
    "UnavailableError",
    "ValidationError",
    "Variant",
    "can_advance",
    "canonical_json",
    "content_hash",
    "local_to_utc",
    "summarize",
]
