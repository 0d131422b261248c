"""Outbound messaging: what the core asks a WhatsApp provider to do.

The message types are values the core builds and a sender puts on the wire. ``OutboundText``
is deliberately lenient (the sender checks Meta's limits before any I/O, as it always has);
the richer types added for images and templates check their own shape when they are built,
because their mistakes (an image with two sources, a button parameter of the wrong kind) are
programming errors best caught where the message is composed, not after a dispatcher has
claimed a delivery and spent a rate-limit token on it.

Every message carries ``callback_data``: the sender puts it into WhatsApp's
``biz_opaque_callback_data``, Meta echoes it in status webhooks, and projectone puts the
delivery id there so a webhook can settle a send whose answer was lost.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Any, Final, Protocol, TypeAlias
from urllib.parse import urlsplit

import attrs

from projectone.domain._validate import require_nonblank, to_enum
from projectone.domain.errors import ValidationError

__all__ = [
    "MAX_BUTTON_INDEX",
    "MAX_CALLBACK_DATA_LENGTH",
    "MAX_CAPTION_LENGTH",
    "MAX_TEMPLATE_NAME_LENGTH",
    "BodyComponent",
    "BodyParameter",
    "ButtonComponent",
    "ButtonParameter",
    "ButtonSubType",
    "CurrencyParameter",
    "DateTimeParameter",
    "HeaderComponent",
    "HeaderParameter",
    "ImageParameter",
    "OutboundImage",
    "OutboundTemplate",
    "OutboundText",
    "PayloadParameter",
    "SendReceipt",
    "TemplateComponent",
    "TextParameter",
    "WhatsAppSender",
]

#: Meta's limit for ``biz_opaque_callback_data``; longer values are refused by the API.
MAX_CALLBACK_DATA_LENGTH: Final = 512
#: Meta's limit for an image caption.
MAX_CAPTION_LENGTH: Final = 1024
#: Meta's limit for a template name.
MAX_TEMPLATE_NAME_LENGTH: Final = 512
#: Templates have at most ten buttons, indexed from 0.
MAX_BUTTON_INDEX: Final = 9

# Template names are what WhatsApp Manager allows: lowercase letters, digits and underscores.
_TEMPLATE_NAME = re.compile(r"[a-z0-9_]+")
# Meta's language codes: a language ("en", "hi", "mr", "fil"), optionally with a region
# ("en_US", "pt_BR"). Anything else can only be answered with 132001 after a round trip.
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
# ISO 4217: three uppercase letters ("INR").
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")


# -- field checks ---------------------------------------------------------------------------


def _recipient(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    # Meta wants the country code and digits; E.164's "+" is tolerated (the sender strips it).
    digits = value.strip().removeprefix("+") if isinstance(value, str) else ""
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError(attribute.name, value, "must be a phone number in E.164 form")


def _callback_data(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) > MAX_CALLBACK_DATA_LENGTH:
        raise ValidationError(
            attribute.name,
            value,
            f"must be text of at most {MAX_CALLBACK_DATA_LENGTH} characters, or None",
        )


def _text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    require_nonblank(attribute.name, value)


def _optional_nonblank(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        require_nonblank(attribute.name, value)


def _media_source(link: str | None, media_id: str | None) -> None:
    """Exactly one of ``link`` (a public http(s) URL) and ``media_id`` (an uploaded media)."""
    if (link is None) == (media_id is None):
        raise ValidationError(
            "link", link, "give exactly one of link and media_id (got both or neither)"
        )
    if link is not None:
        # Meta fetches the link itself: only an absolute http(s) URL can ever work.
        parts = urlsplit(link) if isinstance(link, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("link", link, "must be an absolute http(s) URL")
    if media_id is not None:
        require_nonblank("media_id", media_id)
        if any(character.isspace() for character in media_id):
            raise ValidationError("media_id", media_id, "must not contain whitespace")


def _check_media(instance: ImageParameter | OutboundImage) -> None:
    _media_source(instance.link, instance.media_id)


def _tuple(value: object) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("parameters", value, "must be a sequence of parameters")
    return tuple(value)


# -- template parameters --------------------------------------------------------------------


@attrs.frozen
class TextParameter:
    """A ``{{n}}`` placeholder filled with text."""

    text: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class CurrencyParameter:
    """An amount WhatsApp may localise. ``amount_1000`` is the amount times 1000 (₹12.50 is
    12500); ``fallback_value`` is what is shown when it cannot localise."""

    fallback_value: str = attrs.field(validator=_text)
    code: str = attrs.field()
    amount_1000: int = attrs.field()

    @code.validator
    def _check_code(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or _CURRENCY_CODE.fullmatch(value) is None:
            raise ValidationError(attribute.name, value, "must be an ISO 4217 code such as INR")

    @amount_1000.validator
    def _check_amount(self, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(attribute.name, value, "must be a whole number")


@attrs.frozen
class DateTimeParameter:
    """A date or time, sent as the text to show: Meta no longer localises date_time values,
    so ``fallback_value`` is always what the reader sees."""

    fallback_value: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class ImageParameter:
    """An image for a media header: a public ``link`` or an uploaded ``media_id``, not both."""

    link: str | None = None
    media_id: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_media(self)


@attrs.frozen
class PayloadParameter:
    """What WhatsApp sends back to us when the reader taps a quick-reply button."""

    payload: str = attrs.field(validator=_text)


HeaderParameter: TypeAlias = TextParameter | CurrencyParameter | DateTimeParameter | ImageParameter
BodyParameter: TypeAlias = TextParameter | CurrencyParameter | DateTimeParameter
ButtonParameter: TypeAlias = TextParameter | PayloadParameter

_HEADER_PARAMETERS: Final = (TextParameter, CurrencyParameter, DateTimeParameter, ImageParameter)
_BODY_PARAMETERS: Final = (TextParameter, CurrencyParameter, DateTimeParameter)


# -- template components --------------------------------------------------------------------


class ButtonSubType(enum.StrEnum):
    #: A quick-reply button: its parameter is a ``PayloadParameter``.
    QUICK_REPLY = "quick_reply"
    #: A URL button: its parameter (a ``TextParameter``) is appended to the template's URL.
    URL = "url"


def _button_sub_type(value: object) -> ButtonSubType:
    return to_enum(ButtonSubType, "sub_type", value)


@attrs.frozen
class HeaderComponent:
    """The header's one variable: a text placeholder, or the media of a media header."""

    parameter: HeaderParameter = attrs.field()

    @parameter.validator
    def _check(self, attribute: attrs.Attribute[HeaderParameter], value: object) -> None:
        if not isinstance(value, _HEADER_PARAMETERS):
            raise ValidationError(
                attribute.name, value, "must be a text, currency, date_time or image parameter"
            )


@attrs.frozen
class BodyComponent:
    """The body's placeholders ``{{1}}``, ``{{2}}``… in order; their number must match the
    approved template (Meta answers 132000 otherwise)."""

    parameters: tuple[BodyParameter, ...] = attrs.field(converter=_tuple)

    @parameters.validator
    def _check(self, attribute: attrs.Attribute[tuple[BodyParameter, ...]], value: Any) -> None:
        if not value:
            raise ValidationError(
                attribute.name, value, "must not be empty: leave the body component out instead"
            )
        for parameter in value:
            if not isinstance(parameter, _BODY_PARAMETERS):
                raise ValidationError(
                    attribute.name, parameter, "must be text, currency or date_time parameters"
                )


@attrs.frozen(kw_only=True)
class ButtonComponent:
    """The variable part of button ``index``: a quick reply's payload or a URL's suffix."""

    sub_type: ButtonSubType = attrs.field(converter=_button_sub_type)
    index: int = attrs.field()
    parameter: ButtonParameter = attrs.field()

    @index.validator
    def _check_index(self, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(attribute.name, value, "must be a whole number")
        if not 0 <= value <= MAX_BUTTON_INDEX:
            raise ValidationError(attribute.name, value, f"must be from 0 to {MAX_BUTTON_INDEX}")

    @parameter.validator
    def _check_parameter(self, attribute: attrs.Attribute[ButtonParameter], value: object) -> None:
        expected = PayloadParameter if self.sub_type is ButtonSubType.QUICK_REPLY else TextParameter
        if not isinstance(value, expected):
            raise ValidationError(
                attribute.name,
                value,
                f"a {self.sub_type.value} button takes a {expected.__name__}",
            )


TemplateComponent: TypeAlias = HeaderComponent | BodyComponent | ButtonComponent


def _components(value: object) -> tuple[TemplateComponent, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValidationError("components", value, "must be a sequence of components")
    return tuple(value)


# -- messages -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class OutboundText:
    """A text message. ``callback_data`` travels with the message and comes back in receipts
    (WhatsApp's ``biz_opaque_callback_data``): projectone puts the delivery id there."""

    to: str
    body: str
    callback_data: str | None = None
    preview_url: bool = False


@attrs.frozen(kw_only=True)
class OutboundImage:
    """An image with an optional caption: from a public ``link`` Meta downloads, or from a
    ``media_id`` uploaded beforehand (exactly one of the two).

    Only a ``link`` costs Meta a download per message; a pack image sent to thousands of
    advisors is cheaper uploaded once and sent by ``media_id``.
    """

    to: str = attrs.field(validator=_recipient)
    link: str | None = None
    media_id: str | None = None
    caption: str | None = attrs.field(default=None, validator=_optional_nonblank)
    callback_data: str | None = attrs.field(default=None, validator=_callback_data)

    @caption.validator
    def _check_caption(self, attribute: attrs.Attribute[str | None], value: str | None) -> None:
        if value is not None and len(value) > MAX_CAPTION_LENGTH:
            raise ValidationError(
                attribute.name,
                f"<{len(value)} characters>",
                f"must be at most {MAX_CAPTION_LENGTH} characters",
            )

    def __attrs_post_init__(self) -> None:
        _check_media(self)


@attrs.frozen(kw_only=True)
class OutboundTemplate:
    """An approved message template: the only message WhatsApp delivers to someone who has
    not written to the number in the last 24 hours (error 131047 otherwise).

    ``language`` is the code the template was approved in (``"en"``, ``"hi"``, ``"mr"``,
    ``"en_US"``). ``components`` fill the template's variables: at most one header, at most one
    body, and one component per button with a variable part. Meta matches them against the
    approved template only when the message arrives; what can be checked here is checked here.
    """

    to: str = attrs.field(validator=_recipient)
    name: str = attrs.field()
    language: str = attrs.field()
    components: tuple[TemplateComponent, ...] = attrs.field(default=(), converter=_components)
    callback_data: str | None = attrs.field(default=None, validator=_callback_data)

    @name.validator
    def _check_name(self, attribute: attrs.Attribute[str], value: object) -> None:
        if (
            not isinstance(value, str)
            or len(value) > MAX_TEMPLATE_NAME_LENGTH
            or _TEMPLATE_NAME.fullmatch(value) is None
        ):
            raise ValidationError(
                attribute.name,
                value,
                "must be a template name: lowercase letters, digits and underscores, "
                f"at most {MAX_TEMPLATE_NAME_LENGTH} characters",
            )

    @language.validator
    def _check_language(self, attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or _LANGUAGE_CODE.fullmatch(value) is None:
            raise ValidationError(
                attribute.name, value, 'must be a language code such as "en", "hi" or "en_US"'
            )

    @components.validator
    def _check_components(
        self, attribute: attrs.Attribute[tuple[TemplateComponent, ...]], value: Any
    ) -> None:
        headers = bodies = 0
        buttons: set[int] = set()
        for component in value:
            if isinstance(component, HeaderComponent):
                headers += 1
            elif isinstance(component, BodyComponent):
                bodies += 1
            elif isinstance(component, ButtonComponent):
                if component.index in buttons:
                    raise ValidationError(
                        attribute.name, component, f"button {component.index} is given twice"
                    )
                buttons.add(component.index)
            else:
                raise ValidationError(
                    attribute.name, component, "must be header, body or button components"
                )
        if headers > 1 or bodies > 1:
            raise ValidationError(
                attribute.name, value, "must have at most one header and one body component"
            )


@attrs.frozen(kw_only=True)
class SendReceipt:
    """The provider accepted the message: ``message_id`` is its id (a WhatsApp ``wamid``)."""

    message_id: str
    recipient_id: str | None = None


class WhatsAppSender(Protocol):
    """Hands messages to WhatsApp. Every method has the same contract:

    ``ValidationError`` before any I/O for a message the provider would refuse;
    ``ProviderError`` (with the provider's code and, from adapters that know the provider's
    codes, its ``classification``) when it is refused; ``UnavailableError`` when the provider
    cannot be reached, in which case the outcome may be unknown (no idempotency key exists).
    """

    async def send_text(self, message: OutboundText) -> SendReceipt:
        """Hand ``message`` to the provider.

        Raises ``ProviderError`` (with the provider's code) when it is refused, and
        ``UnavailableError`` when the provider cannot be reached.
        """
        ...

    async def send_image(self, message: OutboundImage) -> SendReceipt:
        """Hand an image (by link or media id, with an optional caption) to the provider."""
        ...

    async def send_template(self, message: OutboundTemplate) -> SendReceipt:
        """Hand an approved template, its variables filled, to the provider."""
        ...
