"""Settings: one attrs object, read from ``PROJECTONE_*`` environment variables and/or TOML.

Nothing is required: with no settings at all projectone uses a SQLite file in the user's data
folder and an in-process WhatsApp Cloud API simulator on loopback. Real credentials switch on
the real adapters.

Environment names are the upper-cased field path joined by ``_``:
``PROJECTONE_DATABASE_URL``, ``PROJECTONE_WHATSAPP_ACCESS_TOKEN``, … A TOML file named by
``PROJECTONE_CONFIG`` uses the same names in tables (``[whatsapp] access_token = "…"``);
environment variables win over the file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs
import cattrs

from projectone.domain.consent import DEFAULT_POLICY_VERSION
from projectone.domain.errors import ConfigurationError

__all__ = [
    "AiCostSettings",
    "DispatchSettings",
    "JwtSettings",
    "OpenAiSettings",
    "RateLimitSettings",
    "Settings",
    "SmsSettings",
    "WhatsAppSettings",
    "WorkflowSettings",
    "default_database_url",
    "load_settings",
]

PREFIX = "PROJECTONE_"
# Variables with these prefixes belong to tools around projectone (the test suite), not to it.
_FOREIGN = ("PROJECTONE_TEST_", "PROJECTONE_CONFIG")


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ConfigurationError(attribute.name, f"must be positive, got {value!r}")


def _rate(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value <= 1000:
        raise ConfigurationError(attribute.name, f"must be above 0 and at most 1000, got {value!r}")


@attrs.frozen(kw_only=True)
class WhatsAppSettings:
    """The WhatsApp Business Cloud API. Without an ``access_token`` the simulator is used."""

    api_base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    phone_number_id: str = "100000000000001"
    access_token: str | None = attrs.field(default=None, repr=False)
    timeout_seconds: float = attrs.field(default=10.0, validator=_positive)
    #: Messages per second per sending number (Meta's default throughput is 80/s; up to 1,000).
    rate_per_second: float = attrs.field(default=80.0, validator=_rate)
    #: Signs the webhooks Meta posts (X-Hub-Signature-256). Unset: every webhook is refused.
    app_secret: str | None = attrs.field(default=None, repr=False)
    #: What Meta must echo in the GET verification handshake of the webhook URL.
    verify_token: str | None = attrs.field(default=None, repr=False)

    @property
    def simulated(self) -> bool:
        return self.access_token is None


def _lease(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 < value <= 30:
        raise ConfigurationError(attribute.name, f"must be above 0 and at most 30, got {value!r}")


def _send_policy(_: Any, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ("at_most_once", "at_least_once"):
        raise ConfigurationError(
            attribute.name, f"must be at_most_once or at_least_once, got {value!r}"
        )


def _fraction(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not 0 <= value < 1:
        raise ConfigurationError(attribute.name, f"must be from 0 up to (not) 1, got {value!r}")


@attrs.frozen(kw_only=True)
class DispatchSettings:
    """The delivery workers (``projectone worker``; docs/operations.md)."""

    batch_size: int = attrs.field(default=200, validator=_positive)
    concurrency: int = attrs.field(default=32, validator=_positive)
    #: Seconds a claim is leased for (heartbeats extend it); at most 30.
    lease_seconds: float = attrs.field(default=30.0, validator=_lease)
    #: What to do about a send whose outcome is unknown: at_most_once or at_least_once.
    send_policy: str = attrs.field(default="at_most_once", validator=_send_policy)
    #: How long at_most_once waits for a status webhook before handing over to SMS.
    receipt_wait_seconds: float = attrs.field(default=60.0, validator=_positive)
    #: Attempts on WhatsApp per delivery, the first included.
    max_attempts: int = attrs.field(default=3, validator=_positive)
    retry_base_delay_seconds: float = attrs.field(default=5.0, validator=_positive)
    retry_max_delay_seconds: float = attrs.field(default=60.0, validator=_positive)
    retry_jitter: float = attrs.field(default=0.5, validator=_fraction)
    #: From this long before the SLA deadline, an unsent WhatsApp message goes by SMS.
    sms_margin_seconds: float = attrs.field(default=60.0, validator=_positive)


@attrs.frozen(kw_only=True)
class SmsSettings:
    """The SMS backup gateway (MSG91-style, India DLT). Without ``auth_key`` a simulator on
    loopback stands in, registered with the demo templates below."""

    #: The gateway's base URL; required with ``auth_key``.
    api_base_url: str | None = None
    auth_key: str | None = attrs.field(default=None, repr=False)
    timeout_seconds: float = attrs.field(default=10.0, validator=_positive)
    sender_header: str = "PRJONE"
    principal_entity_id: str = "1201160000000000001"
    english_template_id: str = "1107170000000000001"
    english_template: str = (
        "Dear investor, {#var#} has shared today's note on WhatsApp: {#var#}. "
        "Mutual fund investments are subject to market risks. -PRJONE"
    )
    hindi_template_id: str = "1107170000000000002"
    hindi_template: str = (
        "प्रिय निवेशक, {#var#} ने आज का नोट भेजा है: {#var#}। "
        "म्यूचुअल फंड निवेश बाज़ार जोखिमों के अधीन हैं। -PRJONE"
    )
    template_category: str = "service_implicit"
    #: The first {#var#} of both templates.
    brand: str = "projectone"

    @property
    def simulated(self) -> bool:
        return self.auth_key is None


def _threshold(_: Any, attribute: attrs.Attribute[Any], value: int) -> None:
    if not -1 <= value <= 100:
        raise ConfigurationError(attribute.name, f"must be -1 (off) or 0 to 100, got {value!r}")


@attrs.frozen(kw_only=True)
class WorkflowSettings:
    """Auto-approval: the highest risk score approved without a reviewer, per advisor tier
    (``-1`` turns it off for the tier). A pack that needs a human never qualifies."""

    auto_approve_basic: int = attrs.field(default=0, validator=_threshold)
    auto_approve_standard: int = attrs.field(default=10, validator=_threshold)
    auto_approve_pro: int = attrs.field(default=20, validator=_threshold)


def _between(low: float, high: float) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
        if not low <= value <= high:
            raise ConfigurationError(
                attribute.name, f"must be between {low} and {high}, got {value!r}"
            )

    return check


@attrs.frozen(kw_only=True)
class OpenAiSettings:
    """An OpenAI-compatible Chat Completions endpoint (OpenAI, Azure, a self-hosted model),
    used when ``PROJECTONE_AI=openai``. Its own retries are off: ours honour ``Retry-After``
    within ``retry_seconds`` and ``max_attempts``."""

    api_key: str | None = attrs.field(default=None, repr=False)
    #: ``None``: the SDK's default endpoint; any OpenAI-compatible ``…/v1`` URL otherwise.
    base_url: str | None = None
    generation_model: str = "gpt-4.1"
    review_model: str = "gpt-4o-mini"
    temperature: float = attrs.field(default=0.4, validator=_between(0, 2))
    max_output_tokens: int = attrs.field(default=1500, validator=_between(16, 32_000))
    timeout_seconds: float = attrs.field(default=20.0, validator=_positive)
    retry_seconds: float = attrs.field(default=30.0, validator=_positive)
    max_attempts: int = attrs.field(default=4, validator=_between(1, 10))
    breaker_failures: int = attrs.field(default=5, validator=_between(1, 1000))
    breaker_cooldown_seconds: float = attrs.field(default=30.0, validator=_positive)


def _prices(value: str) -> str:
    parse_prices(value)  # refuse a malformed table when settings load, not at the first call
    return value


def parse_prices(value: str) -> dict[str, tuple[Decimal, Decimal]]:
    """``"gpt-4.1=168/672,gpt-4o-mini=12.6/50.4"`` → model → (input, output) INR per million
    tokens; ``ConfigurationError`` naming the entry that does not parse."""
    table: dict[str, tuple[Decimal, Decimal]] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        model, _, pair = entry.partition("=")
        given_in, _, given_out = pair.partition("/")
        try:
            price = (Decimal(given_in), Decimal(given_out))
        except InvalidOperation:
            price = (Decimal(-1), Decimal(-1))
        if not model.strip() or not all(p.is_finite() and p >= 0 for p in price):
            raise ConfigurationError(
                "prices",
                f"{entry!r} is not model=input/output (INR per million tokens)",
            )
        table[model.strip()] = price
    return table


@attrs.frozen(kw_only=True)
class AiCostSettings:
    """What the AI may spend: a monthly budget in INR, daily allowances per advisor tier
    (seed 001: 10 generations and 20 checks a day), prices added to or replacing the built-in
    table, and how long identical requests are answered from the cache."""

    monthly_budget_inr: str = attrs.field(default="25000")
    generations_basic: int = attrs.field(default=10, validator=_between(0, 100_000))
    generations_standard: int = attrs.field(default=10, validator=_between(0, 100_000))
    generations_pro: int = attrs.field(default=10, validator=_between(0, 100_000))
    checks_basic: int = attrs.field(default=20, validator=_between(0, 100_000))
    checks_standard: int = attrs.field(default=20, validator=_between(0, 100_000))
    checks_pro: int = attrs.field(default=20, validator=_between(0, 100_000))
    prices: str = attrs.field(default="", converter=_prices)
    cache_days: int = attrs.field(default=14, validator=_between(0, 365))

    def __attrs_post_init__(self) -> None:
        try:
            budget = Decimal(self.monthly_budget_inr)
        except InvalidOperation:
            budget = Decimal(-1)
        if not budget.is_finite() or budget < 0:
            raise ConfigurationError(
                "monthly_budget_inr", f"must be an amount in INR, got {self.monthly_budget_inr!r}"
            )


@attrs.frozen(kw_only=True)
class JwtSettings:
    """How bearer tokens are verified: HS256 with ``secret`` or RS256 with ``public_key`` (PEM
    text), never both; ``iss`` and ``aud`` are checked when set. Without either key the API
    refuses every request that needs a principal (it fails closed)."""

    secret: str | None = attrs.field(default=None, repr=False)
    public_key: str | None = None
    issuer: str | None = None
    audience: str | None = None
    #: Clock skew allowed on ``exp``, ``iat`` and ``nbf``.
    leeway_seconds: float = attrs.field(default=30.0, validator=_between(0, 300))

    def __attrs_post_init__(self) -> None:
        if self.secret and self.public_key:
            raise ConfigurationError(
                "secret", "set either a secret (HS256) or a public key (RS256), not both"
            )
        if self.secret is not None and len(self.secret.encode()) < 32:
            raise ConfigurationError(
                "secret", "must be at least 32 bytes (RFC 7518 §3.2 for HS256)"
            )


def _limits(value: str) -> str:
    parse_route_limits(value)
    return value


def parse_route_limits(value: str) -> dict[str, int]:
    """``"content.check=120,review=600"`` → route class → requests per hour."""
    table: dict[str, int] = {}
    for entry in filter(None, (part.strip() for part in value.split(","))):
        name, _, given = entry.partition("=")
        if not name.strip() or not given.strip().isdigit() or int(given) < 1:
            raise ConfigurationError(
                "routes", f"{entry!r} is not route_class=requests_per_hour (a whole number >= 1)"
            )
        table[name.strip()] = int(given)
    return table


@attrs.frozen(kw_only=True)
class RateLimitSettings:
    """Requests per principal per hour, sliding window: per advisor tier, for staff, and per
    route class (``routes``, the lower limit wins). ``backend`` ``memory`` counts in this
    process; ``redis`` shares the counts between API processes (``projectone[redis]``)."""

    backend: str = attrs.field(default="memory")
    redis_url: str = "redis://127.0.0.1:6379/0"
    advisor_basic: int = attrs.field(default=1000, validator=_between(1, 10_000_000))
    advisor_standard: int = attrs.field(default=1000, validator=_between(1, 10_000_000))
    advisor_pro: int = attrs.field(default=1000, validator=_between(1, 10_000_000))
    staff: int = attrs.field(default=5000, validator=_between(1, 10_000_000))
    routes: str = attrs.field(default="", converter=_limits)

    def __attrs_post_init__(self) -> None:
        if self.backend not in ("memory", "redis"):
            raise ConfigurationError("backend", f"must be memory or redis, got {self.backend!r}")


@attrs.frozen(kw_only=True)
class PrivacySettings:
    """The master key that wraps each person's data key (base64 of 32 bytes, or a file that
    holds it; by default ``$XDG_DATA_HOME/projectone/master.key``, created on first use), and
    the version of the privacy policy consents are given to."""

    master_key: str | None = attrs.field(default=None, repr=False)
    master_key_file: str | None = None
    policy_version: str = DEFAULT_POLICY_VERSION


_AI_PROVIDERS = ("offline", "openai")


@attrs.frozen(kw_only=True)
class Settings:
    database_url: str | None = None
    #: PostgreSQL connections kept open per process, and how many more a burst may open
    #: (closed again when returned). Under 200 concurrent API requests the defaults of 5 + 10
    #: churned connections; a steady pool shortens the latency tail (docs/benchmarks.md).
    database_pool_size: int = attrs.field(default=10, validator=_between(1, 1000))
    database_max_overflow: int = attrs.field(default=10, validator=_between(0, 1000))
    whatsapp: WhatsAppSettings = WhatsAppSettings()
    dispatch: DispatchSettings = DispatchSettings()
    sms: SmsSettings = SmsSettings()
    workflow: WorkflowSettings = WorkflowSettings()
    #: ``offline`` (deterministic templates, the default) or ``openai``.
    ai: str = "offline"
    openai: OpenAiSettings = OpenAiSettings()
    ai_costs: AiCostSettings = AiCostSettings()
    jwt: JwtSettings = JwtSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    privacy: PrivacySettings = PrivacySettings()

    def __attrs_post_init__(self) -> None:
        if self.ai not in _AI_PROVIDERS:
            raise ConfigurationError("PROJECTONE_AI", f"must be offline or openai, got {self.ai!r}")
        if self.ai == "openai" and not self.openai.api_key:
            # Fail closed: asked for the real model but given no key, refuse to start rather
            # than quietly fall back to the offline templates.
            raise ConfigurationError(
                "PROJECTONE_OPENAI_API_KEY", "required when PROJECTONE_AI=openai"
            )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or default_database_url()


def default_database_url() -> str:
    """A SQLite file in ``$XDG_DATA_HOME/projectone`` (``~/.local/share/projectone``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'projectone' / 'projectone.db'}"


def _env_names(cls: type, path: tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    names: dict[str, tuple[str, ...]] = {}
    for field in attrs.fields(cls):
        sub = (*path, field.name)
        if isinstance(field.type, type) and attrs.has(field.type):
            names.update(_env_names(field.type, sub))
        else:
            names[PREFIX + "_".join(sub).upper()] = sub
    return names


def _nest(flat: Mapping[tuple[str, ...], Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for path, value in flat.items():
        node = doc
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return doc


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


_converter = cattrs.Converter(forbid_extra_keys=True)


def load_settings(
    environ: Mapping[str, str] | None = None, *, config_file: str | Path | None = None
) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``) and a TOML file.

    An unknown ``PROJECTONE_*`` variable or TOML key, or a malformed value, raises
    ``ConfigurationError`` naming it: a typo must not silently fall back to a default.
    """
    env = os.environ if environ is None else environ
    # attrs resolves string annotations lazily; resolve them once for the nested walk.
    for cls in (
        Settings,
        WhatsAppSettings,
        DispatchSettings,
        SmsSettings,
        WorkflowSettings,
        OpenAiSettings,
        AiCostSettings,
        JwtSettings,
        RateLimitSettings,
    ):
        attrs.resolve_types(cls)
    known = _env_names(Settings)
    doc: dict[str, Any] = {}
    path = config_file or env.get("PROJECTONE_CONFIG")
    if path:
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(str(path), f"cannot read settings file: {exc}") from None
    flat: dict[tuple[str, ...], Any] = {}
    for name, value in env.items():
        if not name.startswith(PREFIX) or name.startswith(_FOREIGN):
            continue
        if name not in known:
            raise ConfigurationError(name, "unknown setting")
        flat[known[name]] = value
    doc = _merge(doc, _nest(flat))
    try:
        return _converter.structure(doc, Settings)
    except ConfigurationError:
        raise
    except Exception as exc:
        names = {path: name for name, path in known.items()}
        key, reason = _describe(exc, names)
        raise ConfigurationError(key, reason) from None


_AT = re.compile(r"^(?P<message>.*) @ \$(?P<path>(\.\w+)*)$")
_FIELD_FIRST = re.compile(r"^unknown error \((?P<field>\w+): (?P<reason>.*)\)$")


def _describe(exc: BaseException, names: Mapping[tuple[str, ...], str]) -> tuple[str, str]:
    """The setting a structuring error is about, as its PROJECTONE_* name, and why.

    cattrs reports paths such as ``$.dispatch.batch_size`` and, for a failed attrs validator,
    the enclosing table with the field inside the message; both are mapped back to the
    variable a user sets (the TOML key is the same path).
    """
    if not isinstance(exc, cattrs.BaseValidationError):
        return "settings", str(exc)
    found: list[tuple[str, str]] = []
    for message in cattrs.transform_error(exc):
        m = _AT.match(message)
        if m is None:
            found.append(("settings", message))
            continue
        path = tuple(p for p in m.group("path").split(".") if p)
        reason = m.group("message")
        inner = _FIELD_FIRST.match(reason)
        if inner is not None:
            path = (*path, inner.group("field"))
            reason = inner.group("reason")
        found.append((names.get(path, ".".join(path) or "settings"), reason))
    if len(found) == 1:
        return found[0]
    return "settings", "; ".join(f"{key}: {reason}" for key, reason in found)
