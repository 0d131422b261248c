"""Ports: the interfaces the core needs from the outside world, as ``typing.Protocol``s."""

from projectone.ports.ai import (
    AiCache,
    AiFinding,
    AiJobRepository,
    AiUsageRow,
    ComplianceReviewer,
    ContentGenerator,
    ModelCall,
    ModelReviewer,
    ReviewResult,
)
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.messaging import OutboundText, SendReceipt, WhatsAppSender
from projectone.ports.privacy import ConsentRepository, KeyStore, SubjectRepository
from projectone.ports.repositories import (
    AdvisorRepository,
    ContentRepository,
    DeliveryRepository,
    FallbackRepository,
    InboundMessageRepository,
)
from projectone.ports.sms import OutboundSms, SmsReceipt, SmsSender
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AdvisorRepository",
    "AiCache",
    "AiFinding",
    "AiJobRepository",
    "AiUsageRow",
    "Clock",
    "ComplianceReviewer",
    "ConsentRepository",
    "ContentGenerator",
    "ContentRepository",
    "DeliveryRepository",
    "FallbackRepository",
    "IdGenerator",
    "InboundMessageRepository",
    "KeyStore",
    "ModelCall",
    "ModelReviewer",
    "OutboundSms",
    "OutboundText",
    "ReviewResult",
    "SendReceipt",
    "SmsReceipt",
    "SmsSender",
    "SubjectRepository",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "WhatsAppSender",
]
