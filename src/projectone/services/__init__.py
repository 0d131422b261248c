"""Use cases: each opens a unit of work, calls the domain and commits, or commits nothing."""

from projectone.services.catalog import CatalogService
from projectone.services.morning import DispatchResult, MorningService, PlanResult, SendOutcome

__all__ = ["CatalogService", "DispatchResult", "MorningService", "PlanResult", "SendOutcome"]
