"""The error hierarchy: every error projectone raises on purpose is a ``ProjectOneError``.

Each error names what it is about (a field, an entity and id, a state and an action) in
attributes, so callers (the CLI, the HTTP API) can report it without parsing messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only a type: failure.py imports this module at run time
    from projectone.domain.failure import Classification

__all__ = [
    "AiOutputError",
    "BudgetExceededError",
    "ConfigurationError",
    "ConflictError",
    "InvalidTransitionError",
    "KeyStoreError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProjectOneError",
    "ProviderError",
    "QuotaExceededError",
    "SubjectErasedError",
    "UnauthenticatedError",
    "UnavailableError",
    "ValidationError",
    "WrongMasterKeyError",
]


class ProjectOneError(Exception):
    """Root of every error projectone raises deliberately."""

    code: str = "projectone_error"


class ValidationError(ProjectOneError, ValueError):
    """A value does not satisfy a domain rule; ``field`` names the offending field."""

    code = "validation_error"

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}: {reason} (got {value!r})")


class NotFoundError(ProjectOneError, LookupError):
    """No ``entity`` with ``key`` exists."""

    code = "not_found"

    def __init__(self, entity: str, key: object) -> None:
        self.entity = entity
        self.key = key
        super().__init__(f"{entity} {key} not found")


class ConflictError(ProjectOneError):
    """Writing ``entity`` would break a uniqueness rule on ``key``."""

    code = "conflict"

    def __init__(self, entity: str, key: object, reason: str = "already exists") -> None:
        self.entity = entity
        self.key = key
        self.reason = reason
        super().__init__(f"{entity} {key}: {reason}")


class InvalidTransitionError(ProjectOneError):
    """``action`` is not allowed for an ``entity`` in ``state``."""

    code = "invalid_transition"

    def __init__(self, entity: str, state: str, action: str, reason: str = "") -> None:
        self.entity = entity
        self.state = state
        self.action = action
        self.reason = reason
        detail = f": {reason}" if reason else ""
        super().__init__(f"cannot {action} a {entity} in state {state!r}{detail}")


class PermissionDeniedError(ProjectOneError):
    """The actor may not ``action``: wrong role, not the author, or the author reviewing their own
    work. Distinct from ``InvalidTransitionError`` so the HTTP API can answer 403, not 409."""

    code = "permission_denied"

    def __init__(self, action: str, reason: str) -> None:
        self.action = action
        self.reason = reason
        super().__init__(f"not allowed to {action}: {reason}")


class ProviderError(ProjectOneError):
    """A message provider refused or failed a request.

    ``code`` on the instance is the provider's own error code (for WhatsApp, Meta's numeric
    ``error.code``); ``http_status`` is ``None`` when no HTTP answer arrived at all.

    ``classification`` says what the failure means for a delivery (class, retryable, SMS
    fallback; see ``projectone.domain.failure``). Adapters that know their provider's codes
    (the WhatsApp Cloud sender) always fill it in, so callers need not re-derive it from
    ``provider_code``; it is ``None`` from a provider that does not classify, and a caller
    then calls ``classify(provider_code, http_status=...)`` itself.
    """

    def __init__(
        self,
        provider: str,
        provider_code: int | str | None,
        message: str,
        *,
        http_status: int | None = None,
        details: str | None = None,
        trace_id: str | None = None,
        classification: Classification | None = None,
    ) -> None:
        self.provider = provider
        self.provider_code = provider_code
        self.message = message
        self.http_status = http_status
        self.details = details
        self.trace_id = trace_id
        self.classification = classification
        super().__init__(f"{provider} error {provider_code}: {message}")

    code = "provider_error"


class UnauthenticatedError(ProjectOneError):
    """A request's proof of origin (a webhook signature, a token) is missing or wrong.

    Raised before anything is read or written: callers answer 401 and change nothing.
    """

    code = "unauthenticated"

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")


class UnavailableError(ProjectOneError):
    """A backing service (database, provider) cannot be reached; ``target`` names it safely."""

    code = "unavailable"

    def __init__(self, target: str, reason: str, *, outcome_unknown: bool = True) -> None:
        self.target = target
        self.reason = reason
        #: Whether the request may have reached the service (a timeout, a dropped answer):
        #: ``False`` only when it certainly did not (the connection was never made), so that
        #: a caller may send again without risking a duplicate.
        self.outcome_unknown = outcome_unknown
        super().__init__(f"{target} is unavailable: {reason}")


class ConfigurationError(ProjectOneError):
    """A setting is missing, unknown or malformed; ``key`` names it as the user wrote it."""

    code = "configuration_error"

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"{key}: {reason}")


class QuotaExceededError(ProjectOneError):
    """An advisor used up today's AI allowance for a stage (``generation`` or
    ``compliance_check``); raised before the model is called, so nothing is spent."""

    code = "quota_exceeded"

    def __init__(self, advisor_id: object, stage: str, used: int, limit: int) -> None:
        self.advisor_id = advisor_id
        self.stage = stage
        self.used = used
        self.limit = limit
        super().__init__(f"advisor {advisor_id} has used {used} of {limit} {stage} requests today")


class BudgetExceededError(ProjectOneError):
    """A model call would take the month's AI spend past the budget (INR); raised before the
    call, with what is spent, what the call could cost at most, and the budget."""

    code = "budget_exceeded"

    def __init__(self, spent: object, estimate: object, budget: object) -> None:
        self.spent = spent
        self.estimate = estimate
        self.budget = budget
        super().__init__(
            f"AI budget: INR {spent} spent this month, this call could cost up to INR "
            f"{estimate}, the budget is INR {budget}"
        )


class AiOutputError(ProjectOneError):
    """The model answered, but not with something usable: it refused, or its output does not
    match the schema asked for. ``reason`` says which; nothing from it is used."""

    code = "ai_output_invalid"

    def __init__(self, model: str, reason: str, *, refused: bool = False) -> None:
        self.model = model
        self.reason = reason
        self.refused = refused
        super().__init__(f"{model}: {reason}")


class SubjectErasedError(NotFoundError):
    """The advisor was erased (DPDP right to erasure): their personal data is gone for good.
    A ``NotFoundError``, so every reader treats the person as absent; ``erased_at`` says when."""

    code = "subject_erased"

    def __init__(self, advisor_id: object, erased_at: object) -> None:
        super().__init__("advisor", advisor_id)
        self.erased_at = erased_at
        self.args = (f"advisor {advisor_id} was erased at {erased_at}",)


class KeyStoreError(ProjectOneError):
    """Personal data cannot be encrypted or decrypted: a data key is missing or damaged, or
    the master key is unusable. ``subject`` names whose data key, when it is about one."""

    code = "key_store_error"

    def __init__(self, reason: str, subject: object | None = None) -> None:
        self.reason = reason
        self.subject = subject
        where = f" (data key of {subject})" if subject is not None else ""
        super().__init__(f"{reason}{where}")


class WrongMasterKeyError(KeyStoreError):
    """The configured master key is not the one the data keys were wrapped with: refusing to
    go on, rather than writing data under a second key or reading nothing."""

    code = "wrong_master_key"

    def __init__(self, expected: str, configured: str) -> None:
        super().__init__(
            f"the data keys were wrapped by master key {expected}, but the configured master "
            f"key is {configured}; set PROJECTONE_PRIVACY_MASTER_KEY or _FILE to the right key"
        )
        self.expected = expected
        self.configured = configured
