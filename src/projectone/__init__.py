"""projectone: compliant morning content for Indian financial advisors.

The public surface is re-exported here; everything under a leading underscore, and any module
not named in the docs, is private.
"""

from projectone._version import __version__
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

__all__ = [
    "ConfigurationError",
    "ConflictError",
    "InvalidTransitionError",
    "NotFoundError",
    "ProjectOneError",
    "ProviderError",
    "UnavailableError",
    "ValidationError",
    "__version__",
]
