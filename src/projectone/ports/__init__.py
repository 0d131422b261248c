"""Ports: the interfaces the core needs from the outside world, as ``typing.Protocol``s."""

from projectone.ports.ai import AiFinding, ComplianceReviewer, ReviewResult
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.messaging import OutboundText, SendReceipt, WhatsAppSender
from projectone.ports.repositories import (
    AdvisorRepository,
    ContentRepository,
    DeliveryRepository,
)
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "AdvisorRepository",
    "AiFinding",
    "Clock",
    "ComplianceReviewer",
    "ContentRepository",
    "DeliveryRepository",
    "IdGenerator",
    "OutboundText",
    "ReviewResult",
    "SendReceipt",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "WhatsAppSender",
]
