"""Use cases: each opens a unit of work, calls the domain and commits, or commits nothing."""

from projectone.services.catalog import CatalogService
from projectone.services.dispatch import DispatchWorker, SmsBackup, WorkerConfig, WorkerStats
from projectone.services.morning import MorningService, PlanResult
from projectone.services.privacy import PrivacyService

__all__ = [
    "CatalogService",
    "DispatchWorker",
    "MorningService",
    "PlanResult",
    "PrivacyService",
    "SmsBackup",
    "WorkerConfig",
    "WorkerStats",
]
