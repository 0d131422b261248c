"""What a WhatsApp Cloud API error means for a morning delivery (DESIGN.md §3.4).

Meta asks callers to decide on the numeric ``error.code``, never on the message text, so
:func:`classify` looks at the code first and falls back to the HTTP status only for a code it
does not know. The answer says three things the delivery engine acts on: the failure class
(for reports and alerts), whether trying WhatsApp again may help within the morning, and
whether the SMS backup should carry the message when WhatsApp cannot.

Every known code sits in :data:`KNOWN_CODES` (and the two code families in
:data:`CODE_RANGES`), so the operations docs are generated from the same table the engine
uses and cannot drift from it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from projectone.domain._validate import flag, nonblank, require_whole_number, to_enum

__all__ = [
    "CODE_RANGES",
    "KNOWN_CODES",
    "Classification",
    "FailureClass",
    "classify",
]


class FailureClass(enum.StrEnum):
    RATE_LIMIT = "rate_limit"
    INVALID_NUMBER = "invalid_number"
    CONTENT_VIOLATION = "content_violation"
    TEMPLATE_ERROR = "template_error"
    REENGAGEMENT_REQUIRED = "reengagement_required"
    SYSTEM_ERROR = "system_error"
    AUTH_ERROR = "auth_error"
    # A code Meta has not told us about (or a new one): reported as such, never guessed.
    UNKNOWN = "unknown"


def _failure_class(value: object) -> FailureClass:
    return to_enum(FailureClass, "failure_class", value)


def _optional_code(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        require_whole_number(attribute.name, value, 0)


@attrs.frozen(kw_only=True)
class Classification:
    """What one provider error means and what to do about it.

    ``retryable`` says whether sending the same message over WhatsApp again, later the same
    morning, can succeed; ``sms_fallback`` whether the SMS backup may carry it when WhatsApp
    cannot (false where the recipient said no, so another channel would override their choice).
    """

    failure_class: FailureClass = attrs.field(converter=_failure_class)
    retryable: bool = attrs.field(validator=flag)
    sms_fallback: bool = attrs.field(validator=flag)
    code: int | None = attrs.field(validator=_optional_code)
    title: str = attrs.field(validator=nonblank)
    operator_action: str = attrs.field(validator=nonblank)


_F = FailureClass


def _entry(
    code: int,
    failure_class: FailureClass,
    *,
    retryable: bool,
    sms: bool,
    title: str,
    action: str,
) -> tuple[int, Classification]:
    return code, Classification(
        failure_class=failure_class,
        retryable=retryable,
        sms_fallback=sms,
        code=code,
        title=title,
        operator_action=action,
    )


def _table(*entries: tuple[int, Classification]) -> Mapping[int, Classification]:
    table: dict[int, Classification] = {}
    for code, entry in entries:
        # A repeated code would silently replace the first meaning written down.
        if code in table:
            raise ValueError(f"error code {code} appears twice in KNOWN_CODES")
        table[code] = entry
    return MappingProxyType(table)


_TOKEN = "Renew the system-user access token and update the WhatsApp credentials."
_FIX_REQUEST = "Fix the message the adapter builds; this is a projectone bug, not the advisor's."
_STOP_NUMBER = "Stop sending from this number and resolve the restriction in WhatsApp Manager."

# Titles follow Meta's error-code reference; classes and actions are projectone's decisions.
KNOWN_CODES: Mapping[int, Classification] = _table(
    # Throughput and rate limits: back off and try again inside the morning.
    _entry(
        130429,
        _F.RATE_LIMIT,
        retryable=True,
        sms=True,
        title="Rate limit hit (throughput of the sending number)",
        action="None if rare; if frequent, lower the sender rate or add sending numbers.",
    ),
    _entry(
        131056,
        _F.RATE_LIMIT,
        retryable=True,
        sms=True,
        title="Pair rate limit hit (too many messages to one recipient)",
        action="Check nothing sends the same advisor several messages in a burst.",
    ),
    _entry(
        4,
        _F.RATE_LIMIT,
        retryable=True,
        sms=True,
        title="Application API call limit reached",
        action="None if rare; if frequent, check for a loop calling the Graph API.",
    ),
    _entry(
        80007,
        _F.RATE_LIMIT,
        retryable=True,
        sms=True,
        title="Business account rate limit reached",
        action="None if rare; if frequent, spread sending over more time or numbers.",
    ),
    _entry(
        131048,
        _F.RATE_LIMIT,
        retryable=False,
        sms=True,
        title="Spam rate limit hit (too many messages blocked or reported as spam)",
        action="Review the number's quality rating and recent content before resuming.",
    ),
    # Meta's side failing: worth another try after a pause.
    _entry(
        131000,
        _F.SYSTEM_ERROR,
        retryable=True,
        sms=True,
        title="Something went wrong",
        action="None if rare; if it persists, open a Meta Direct Support ticket.",
    ),
    _entry(
        131016,
        _F.SYSTEM_ERROR,
        retryable=True,
        sms=True,
        title="Service unavailable",
        action="Check the WhatsApp Business Platform status page.",
    ),
    _entry(
        2,
        _F.SYSTEM_ERROR,
        retryable=True,
        sms=True,
        title="Temporary API service error",
        action="Check the WhatsApp Business Platform status page.",
    ),
    _entry(
        131057,
        _F.SYSTEM_ERROR,
        retryable=True,
        sms=True,
        title="Business account in maintenance mode",
        action="None: Meta lifts maintenance, such as a throughput upgrade, within minutes.",
    ),
    # The recipient cannot be reached on WhatsApp at all.
    _entry(
        131026,
        _F.INVALID_NUMBER,
        retryable=False,
        sms=True,
        title="Message undeliverable (not on WhatsApp, old app or terms not accepted)",
        action="Ask the advisor to check the number is on WhatsApp and the app is current.",
    ),
    _entry(
        130472,
        _F.INVALID_NUMBER,
        retryable=False,
        sms=True,
        title="Recipient's number is part of a Meta experiment",
        action="None: the SMS backup carries this advisor's messages meanwhile.",
    ),
    _entry(
        131047,
        _F.REENGAGEMENT_REQUIRED,
        retryable=False,
        sms=True,
        title="Re-engagement message (more than 24 hours since the user last replied)",
        action="Send this advisor an approved template instead of a free-form message.",
    ),
    # Meta declined this message for this user.
    _entry(
        131049,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Not delivered to maintain healthy ecosystem engagement",
        action="None today; if it repeats for an advisor, reduce marketing templates.",
    ),
    _entry(
        131050,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=False,
        title="Recipient stopped marketing messages from this business",
        action="Record the opt-out; do not send this advisor marketing content again.",
    ),
    _entry(
        131051,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Unsupported message type",
        action=_FIX_REQUEST,
    ),
    _entry(
        131052,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Media download error",
        action="Check the pack's media is reachable and of a supported type and size.",
    ),
    _entry(
        131053,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Media upload error",
        action="Check the pack's media is of a supported type and size.",
    ),
    _entry(
        131008,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Required parameter is missing",
        action=_FIX_REQUEST,
    ),
    _entry(
        131009,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Parameter value is not valid",
        action=_FIX_REQUEST,
    ),
    _entry(
        100,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Invalid parameter",
        action=_FIX_REQUEST,
    ),
    # Templates: the approved template and what we sent disagree, or Meta stopped it.
    _entry(
        132000,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Template parameter count does not match",
        action="Align the parameters sent with the approved template's placeholders.",
    ),
    _entry(
        132001,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Template does not exist (name or language)",
        action="Check the template name and language code against WhatsApp Manager.",
    ),
    _entry(
        132005,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Translated text too long",
        action="Shorten the parameters of this language's template.",
    ),
    _entry(
        132007,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Template format character policy violated",
        action="Remove the offending formatting or characters from the parameters.",
    ),
    _entry(
        132012,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Template parameter format mismatch",
        action="Send each parameter in the type the template declares (text, image…).",
    ),
    _entry(
        132015,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Template is paused for low quality",
        action="Improve or replace the template; a paused template resumes in hours.",
    ),
    _entry(
        132016,
        _F.TEMPLATE_ERROR,
        retryable=False,
        sms=True,
        title="Template is disabled",
        action="Submit a new template for approval; a disabled one never comes back.",
    ),
    # Our credentials or account: nothing goes out until an operator acts.
    _entry(
        190,
        _F.AUTH_ERROR,
        retryable=False,
        sms=True,
        title="Access token has expired",
        action=_TOKEN,
    ),
    _entry(
        10,
        _F.AUTH_ERROR,
        retryable=False,
        sms=True,
        title="Permission denied",
        action="Grant the app whatsapp_business_messaging on this account and number.",
    ),
    _entry(
        368,
        _F.CONTENT_VIOLATION,
        retryable=False,
        sms=True,
        title="Temporarily blocked for policy violations",
        action=_STOP_NUMBER,
    ),
    _entry(
        131031,
        _F.AUTH_ERROR,
        retryable=False,
        sms=True,
        title="Business account has been locked",
        action=_STOP_NUMBER,
    ),
    _entry(
        131042,
        _F.AUTH_ERROR,
        retryable=False,
        sms=True,
        title="Business eligibility payment issue",
        action="Fix the payment method of the WhatsApp Business account.",
    ),
    _entry(
        133010,
        _F.AUTH_ERROR,
        retryable=False,
        sms=True,
        title="Phone number not registered on the Cloud API",
        action="Register the sending number with the Cloud API (POST /{id}/register).",
    ),
)

# Families Meta documents as ranges: a code inside one that the table does not name gets the
# family's meaning (``code`` set to the code seen). Checked only after KNOWN_CODES.
CODE_RANGES: tuple[tuple[range, Classification], ...] = (
    (
        range(132000, 132017),
        Classification(
            failure_class=_F.TEMPLATE_ERROR,
            retryable=False,
            sms_fallback=True,
            code=None,
            title="Template error",
            operator_action="Check the template in WhatsApp Manager against what was sent.",
        ),
    ),
    (
        range(200, 300),
        Classification(
            failure_class=_F.AUTH_ERROR,
            retryable=False,
            sms_fallback=True,
            code=None,
            title="API permission error",
            operator_action="Grant the app the permission named in the error details.",
        ),
    ),
)

_NO_ANSWER = Classification(
    failure_class=_F.SYSTEM_ERROR,
    retryable=True,
    sms_fallback=True,
    code=None,
    title="No answer from the provider (network failure or timeout)",
    operator_action="None if rare; if it persists, check connectivity to graph.facebook.com.",
)


def _by_status(code: int | None, http_status: int | None) -> Classification:
    """The meaning of a code the table does not know, judged by the HTTP status alone."""
    if http_status is not None and http_status >= 500:
        return Classification(
            failure_class=_F.SYSTEM_ERROR,
            retryable=True,
            sms_fallback=True,
            code=code,
            title=f"Provider server error (HTTP {http_status})",
            operator_action="None if rare; if it persists, check the platform status page.",
        )
    if http_status == 429:
        # Too Many Requests means the same as Meta's rate-limit codes whatever the body says.
        return Classification(
            failure_class=_F.RATE_LIMIT,
            retryable=True,
            sms_fallback=True,
            code=code,
            title="Too many requests (HTTP 429)",
            operator_action="None if rare; if frequent, lower the sender rate.",
        )
    shown = f"code {code}" if code is not None else "no code"
    status = f", HTTP {http_status}" if http_status is not None else ""
    # An unrecognised refusal: sending it again would be refused again, but the advisor's
    # morning message can still go by SMS; nothing in it says the recipient declined.
    return Classification(
        failure_class=_F.UNKNOWN,
        retryable=False,
        sms_fallback=True,
        code=code,
        title=f"Unrecognised provider error ({shown}{status})",
        operator_action="Look the code up in Meta's error reference and add it to KNOWN_CODES.",
    )


def classify(code: int | None, *, http_status: int | None = None) -> Classification:
    """The meaning of a WhatsApp error ``code`` (Meta's ``error.code``).

    A known code decides alone, whatever the HTTP status. An unknown one is judged by
    ``http_status``: 5xx is Meta's trouble (retry), 429 a rate limit, anything else a refusal
    we cannot interpret (no retry). No code and no status means no answer arrived at all: a
    network failure, retryable, though the caller must still apply its at-most-once policy if
    the request may have reached Meta.
    """
    if code is not None:
        require_whole_number("code", code, 0)
    if http_status is not None:
        require_whole_number("http_status", http_status, 100, 599)
    if code is not None:
        known = KNOWN_CODES.get(code)
        if known is not None:
            return known
        for codes, family in CODE_RANGES:
            if code in codes:
                return attrs.evolve(family, code=code)
    elif http_status is None:
        return _NO_ANSWER
    return _by_status(code, http_status)
