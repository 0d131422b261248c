"""Outbound SMS: what the core asks an Indian SMS gateway to do, and what comes back.

The SMS channel is the backup for a morning WhatsApp message that cannot go out (DESIGN.md
§3.4). Commercial SMS in India is scrubbed against TRAI's DLT registry, so a message is
delivered only when its **principal entity id**, **header**, **DLT template id**, **category**
and **text** all match what the sender registered (``reference/india-sms-dlt.md``). A mismatch
is not an error the gateway always reports at once: the operator may drop the message after
the gateway accepted (and billed) it. So everything that can be checked locally is checked
here, when the message is built, and a bad message never costs a round trip or an SMS credit:

* ``sender_header``: the 6-character header, without the operator prefix (``VM-``) or the
  category suffix (``-S``), which the network adds on the handset. Promotional headers are 6
  digits, service and transactional ones 6 capital letters (TRAI's header format; the
  reference gives the length and the suffixes, not the alphabet).
* ``dlt_template_id`` and ``principal_entity_id``: the numbers the DLT portal issued. Portals
  issue 19-digit ids; the accepted length (10 to 25 digits) only catches obvious slips such
  as a pasted template name or a truncated id.
* ``category``: transactional, service implicit, service explicit, promotional. It must be
  the category the template was registered under; the gateway adapter checks that against
  :class:`DltTemplate` when it is given the registered templates.
* ``body``: the exact text, i.e. the registered template with every ``{#var#}`` filled.
  Its length is counted the way handsets and SMSCs count it (:func:`measure_sms`) and a body
  longer than ``max_segments`` concatenated parts is refused (see below).

Length and encoding (3GPP TS 23.038 / 23.040):

* A body made only of characters of the GSM 03.38 default alphabet is sent in **GSM-7**: one
  SMS holds 160 septets; a longer body is split into parts of 153 septets (7 octets of each
  part carry the concatenation header). ``^ { } \\ [ ~ ] | €`` and form feed are in the
  extension table and take two septets (an escape and the character), and a part never ends
  between the two.
* Any other character (every Devanagari letter for Hindi and Marathi, but also ``₹``, curly
  quotes and emoji) switches the **whole** message to **UCS-2**: 70 UTF-16 code units in one
  SMS, 67 per part when concatenated. A character outside the Basic Multilingual Plane (most
  emoji) takes two units, and a part never splits such a pair. The GSM national-language
  shift tables (which have Hindi and Marathi variants) are not used: Indian gateways send
  Indic text as UCS-2.

Worked examples: ``"Good morning"`` is 12 septets, 1 part. 161 ``"A"`` are 2 parts (153 + 8).
80 ``"€"`` are 160 septets, 1 part; ``"A" * 152 + "€" + "A" * 152`` is 306 septets but 3
parts, because the ``€`` cannot straddle the first boundary. ``"नमस्ते"`` is 6 code units
(न म स ् त े: the virama and vowel sign count), so 70 such units fit in one SMS and 71 need
two. ``"₹500 SIP"`` is 8 units of UCS-2: one rupee sign turns a 160-character SMS into a
70-character one. ``"🙏"`` is 2 units.

Every part is billed as one SMS, so ``max_segments`` (default :data:`DEFAULT_MAX_SEGMENTS`,
at most :data:`MAX_SEGMENTS_CEILING`) bounds the cost of one backup message: 4 parts are 612
GSM-7 characters or 268 Hindi code units. The setting that feeds it is the operator's choice;
the ceiling exists so a configuration typo cannot authorise 400-part messages.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from typing import Any, Final, Protocol

import attrs

from projectone.domain._validate import nonblank, to_enum
from projectone.domain.delivery import DeliveryStatus
from projectone.domain.errors import ValidationError

__all__ = [
    "DEFAULT_MAX_SEGMENTS",
    "DLT_VARIABLE",
    "GSM7_MULTIPART_SEPTETS",
    "GSM7_SINGLE_SEPTETS",
    "MAX_SEGMENTS_CEILING",
    "MAX_VARIABLE_LENGTH",
    "UCS2_MULTIPART_UNITS",
    "UCS2_SINGLE_UNITS",
    "DltTemplate",
    "OutboundSms",
    "SmsCategory",
    "SmsEncoding",
    "SmsLength",
    "SmsReceipt",
    "SmsReport",
    "SmsSender",
    "measure_sms",
]

GSM7_SINGLE_SEPTETS: Final = 160
GSM7_MULTIPART_SEPTETS: Final = 153
UCS2_SINGLE_UNITS: Final = 70
UCS2_MULTIPART_UNITS: Final = 67
#: How many concatenated parts a backup message may take unless configured otherwise.
DEFAULT_MAX_SEGMENTS: Final = 4
#: The most parts ``max_segments`` may allow (each part is billed as one SMS).
MAX_SEGMENTS_CEILING: Final = 10
#: The placeholder a DLT template uses for each variable part.
DLT_VARIABLE: Final = "{#var#}"
#: The longest value a ``{#var#}`` may take (the DLT operators' rule; not in the reference).
MAX_VARIABLE_LENGTH: Final = 30

# GSM 03.38 default alphabet, in code order (0x1B, the escape to the extension table, left out).
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus its own.
_GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

# E.164: "+", a country code not starting with 0, at most 15 digits in all.
_E164: Final = re.compile(r"\+[1-9][0-9]{6,14}")
# An Indian mobile number: +91 then ten digits, the first 6 to 9 (landlines cannot take SMS).
_INDIAN_MOBILE: Final = re.compile(r"\+91[6-9][0-9]{9}")
_DLT_ID: Final = re.compile(r"[0-9]{10,25}")
_ALPHA_HEADER: Final = re.compile(r"[A-Z]{6}")
_NUMERIC_HEADER: Final = re.compile(r"[0-9]{6}")
# What every gateway we looked at accepts as a client reference (MSG91's CRQID alphabet).
_CALLBACK_DATA: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class SmsCategory(enum.StrEnum):
    """The DLT content category a template is registered under (``reference/india-sms-dlt.md``).

    ``header_suffix`` is what the network appends to the header on the handset.
    """

    TRANSACTIONAL = "transactional"
    SERVICE_IMPLICIT = "service_implicit"
    SERVICE_EXPLICIT = "service_explicit"
    PROMOTIONAL = "promotional"

    @property
    def header_suffix(self) -> str:
        return _SUFFIXES[self]

    @property
    def numeric_header(self) -> bool:
        """Promotional headers are numeric; the others are alphabetic."""
        return self is SmsCategory.PROMOTIONAL


_SUFFIXES: Final = {
    SmsCategory.TRANSACTIONAL: "T",
    SmsCategory.SERVICE_IMPLICIT: "S",
    SmsCategory.SERVICE_EXPLICIT: "S",
    SmsCategory.PROMOTIONAL: "P",
}


class SmsEncoding(enum.StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@attrs.frozen(kw_only=True)
class SmsLength:
    """How a body goes on the air: its encoding, its size in that encoding's units (septets
    for GSM-7, UTF-16 code units for UCS-2) and the number of SMS parts it needs."""

    encoding: SmsEncoding
    units: int
    segments: int


def measure_sms(body: str) -> SmsLength:
    """Count ``body`` as an SMS (see the module documentation for the rules and examples)."""
    if all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in body):
        sizes = [2 if ch in _GSM7_EXTENSION else 1 for ch in body]
        return _split(SmsEncoding.GSM7, sizes, GSM7_SINGLE_SEPTETS, GSM7_MULTIPART_SEPTETS)
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    return _split(SmsEncoding.UCS2, sizes, UCS2_SINGLE_UNITS, UCS2_MULTIPART_UNITS)


def _split(encoding: SmsEncoding, sizes: list[int], single: int, part: int) -> SmsLength:
    """Fill parts greedily; a character (escape pair, surrogate pair) never straddles two."""
    total = sum(sizes)
    if total <= single:
        return SmsLength(encoding=encoding, units=total, segments=1 if total else 0)
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return SmsLength(encoding=encoding, units=total, segments=segments)


def _to_category(value: object) -> SmsCategory:
    return to_enum(SmsCategory, "category", value)


def _dlt_id(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or _DLT_ID.fullmatch(value) is None:
        raise ValidationError(
            attribute.name, value, "must be the DLT id as 10 to 25 digits (portals issue 19)"
        )


def _check_recipient(value: object) -> None:
    if not isinstance(value, str) or _E164.fullmatch(value) is None:
        raise ValidationError("to", value, "must be a phone number in E.164 form (+ and digits)")
    if value.startswith("+91") and _INDIAN_MOBILE.fullmatch(value) is None:
        raise ValidationError(
            "to", value, "must be an Indian mobile number: +91 and 10 digits starting with 6-9"
        )


def _check_header(header: object, category: SmsCategory) -> None:
    if not isinstance(header, str):
        raise ValidationError("sender_header", header, "must be text")
    if "-" in header or len(header) != 6:
        raise ValidationError(
            "sender_header",
            header,
            "must be the 6-character DLT header, without the operator prefix or category suffix",
        )
    if category.numeric_header:
        if _NUMERIC_HEADER.fullmatch(header) is None:
            raise ValidationError("sender_header", header, "a promotional header is 6 digits")
    elif _ALPHA_HEADER.fullmatch(header) is None:
        raise ValidationError(
            "sender_header",
            header,
            f"a {category.value} header is 6 capital letters A-Z",
        )


def _check_body(body: object, max_segments: int) -> None:
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("body", body, "must be non-empty text")
    length = measure_sms(body)
    if length.segments > max_segments:
        raise ValidationError(
            "body",
            f"<{len(body)} characters>",
            f"needs {length.segments} SMS parts in {length.encoding.value.upper()} "
            f"({length.units} units); at most {max_segments} are allowed",
        )


def _max_segments(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_SEGMENTS_CEILING
    ):
        raise ValidationError(
            attribute.name, value, f"must be a whole number from 1 to {MAX_SEGMENTS_CEILING}"
        )


def _callback_data(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and (
        not isinstance(value, str) or _CALLBACK_DATA.fullmatch(value) is None
    ):
        raise ValidationError(
            attribute.name, value, "must be 1 to 64 of A-Z a-z 0-9 _ . - (or None)"
        )


@attrs.frozen(kw_only=True)
class OutboundSms:
    """One DLT-scrubbed SMS to one number; every field is checked when it is built.

    ``to`` is E.164 (``+919876543210``); a ``+91`` number must be a mobile number.
    ``callback_data`` (our delivery id) travels with the message and comes back in delivery
    reports, so a report identifies the delivery even when the send's answer was lost.
    ``max_segments`` is the cost cap described in the module documentation.
    """

    to: str
    body: str
    dlt_template_id: str = attrs.field(validator=_dlt_id)
    sender_header: str
    principal_entity_id: str = attrs.field(validator=_dlt_id)
    category: SmsCategory = attrs.field(converter=_to_category)
    callback_data: str | None = attrs.field(default=None, validator=_callback_data)
    max_segments: int = attrs.field(default=DEFAULT_MAX_SEGMENTS, validator=_max_segments)

    def __attrs_post_init__(self) -> None:
        # Cross-field checks: the header's alphabet depends on the category, the body's
        # allowance on max_segments (attrs validators see one field at a time).
        _check_recipient(self.to)
        _check_header(self.sender_header, self.category)
        _check_body(self.body, self.max_segments)

    @property
    def length(self) -> SmsLength:
        return measure_sms(self.body)


@attrs.frozen(kw_only=True)
class DltTemplate:
    """A content template as registered on the DLT portal: fixed text with ``{#var#}`` slots.

    The operators deliver only text equal to the template with each slot filled by at most
    :data:`MAX_VARIABLE_LENGTH` characters, so ``matches`` is exact: same case, same spaces,
    same punctuation. ``render`` builds such a text from values and refuses values that
    could not pass.
    """

    template_id: str = attrs.field(validator=_dlt_id)
    text: str = attrs.field(validator=nonblank)
    category: SmsCategory = attrs.field(converter=_to_category)

    def __attrs_post_init__(self) -> None:
        if not self.text.replace(DLT_VARIABLE, "").strip():
            raise ValidationError("text", self.text, "must have fixed text besides {#var#}")

    @property
    def variables(self) -> int:
        """How many ``{#var#}`` slots the template has."""
        return self.text.count(DLT_VARIABLE)

    def matches(self, text: str) -> bool:
        """Whether ``text`` is this template with each slot filled (0 to 30 characters).

        No regular expression: a backtracking regex with several bounded slots takes
        exponential time on a text that almost matches, and the text is partly the
        advisor's. Instead the set of positions where each fixed part can end is carried
        forward, which is polynomial whatever the text.
        """
        first, *rest = self.text.split(DLT_VARIABLE)
        if not text.startswith(first):
            return False
        ends = {len(first)}
        for fixed in rest:
            reachable: set[int] = set()
            for end in ends:
                for start in range(end, min(end + MAX_VARIABLE_LENGTH, len(text)) + 1):
                    if text.startswith(fixed, start):
                        reachable.add(start + len(fixed))
            if not reachable:
                return False
            ends = reachable
        return len(text) in ends

    def render(self, *values: str) -> str:
        """The template with ``values`` in its slots, in order."""
        if len(values) != self.variables:
            raise ValidationError(
                "values", len(values), f"template {self.template_id} has {self.variables} slots"
            )
        for value in values:
            if len(value) > MAX_VARIABLE_LENGTH:
                raise ValidationError(
                    "values",
                    value,
                    f"a {{#var#}} value is at most {MAX_VARIABLE_LENGTH} characters",
                )
        fixed = self.text.split(DLT_VARIABLE)
        rendered = [fixed[0]]
        for value, after in zip(values, fixed[1:], strict=True):
            rendered += [value, after]
        return "".join(rendered)


@attrs.frozen(kw_only=True)
class SmsReceipt:
    """The gateway accepted the message: ``message_id`` is its request id, which delivery
    reports carry. ``length`` is how projectone counted the body (the parts billed)."""

    message_id: str
    length: SmsLength


@attrs.frozen(kw_only=True)
class SmsReport:
    """A delivery report for one number of one accepted request.

    ``status`` is ``delivered`` or ``failed``; ``gateway_status`` and ``description`` keep the
    gateway's own code and words (for a failure: DND, blocked, rejected by DLT scrubbing…).
    ``callback_data`` is the one sent with the message (our delivery id), ``None`` when the
    report does not carry one. ``timestamp`` is when the gateway saw the outcome, in UTC.
    """

    message_id: str
    recipient: str
    status: DeliveryStatus
    gateway_status: int
    description: str
    timestamp: dt.datetime
    callback_data: str | None = None
    sender_header: str | None = None
    failure_reason: str | None = None


class SmsSender(Protocol):
    async def send_sms(self, message: OutboundSms) -> SmsReceipt:
        """Hand ``message`` to the SMS gateway.

        Raises ``ProviderError`` (with the gateway's code) when it is refused, and
        ``UnavailableError`` when the gateway cannot be reached or fails on its side.
        """
        ...
