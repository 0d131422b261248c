"""The composition root: the one place where concrete adapters are chosen.

``Container`` wires settings → engine → unit of work → adapters → services. Resources (the
database engine, the HTTP session, the WhatsApp simulator when no credentials are set) are
async ``providers.Resource``s: ``await container.init_resources()`` starts them and
``await container.shutdown_resources()`` closes them. Tests replace any provider with
``container.<name>.override(providers.Object(fake))``.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import AsyncIterator
from typing import Any, TypeVar

import aiohttp
import attrs
import openai
from dependency_injector import containers, providers
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.clock import SystemClock, UuidGenerator
from projectone.adapters.jwt_auth import JwtVerifier
from projectone.adapters.local_keys import LocalKeyStore, load_key_store
from projectone.adapters.offline_ai import OfflineGenerator, OfflineReviewer
from projectone.adapters.openai_ai import (
    CircuitBreaker,
    OpenAiGenerator,
    OpenAiReviewer,
    RetryLimits,
)
from projectone.adapters.rate_limit_memory import InMemoryRateLimiter
from projectone.adapters.rulebook_files import default_rulebook
from projectone.adapters.sms_gateway import SmsGatewaySender
from projectone.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWorkFactory,
    create_engine,
    ensure_reachable,
    prepare,
)
from projectone.adapters.whatsapp_cloud import WhatsAppCloudSender
from projectone.adapters.whatsapp_receipts import CloudWebhookReader
from projectone.domain.advisor import Tier
from projectone.domain.ai import BreakerPolicy, DailyQuota, ModelPrice
from projectone.domain.compliance.rulebook import Rulebook
from projectone.domain.errors import ConfigurationError
from projectone.domain.language import Language
from projectone.domain.retry import RetryPolicy
from projectone.ports.ai import ComplianceReviewer, ContentGenerator
from projectone.ports.auth import RateLimiter
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.sms import DltTemplate
from projectone.ports.unit_of_work import UnitOfWorkFactory
from projectone.services.advisor_api import AdvisorApi
from projectone.services.ai_studio import DEFAULT_PRICES, AiPolicy, AiStudio, GuardedReviewer
from projectone.services.analytics_api import AnalyticsApi
from projectone.services.audit import AuditService
from projectone.services.catalog import CatalogService
from projectone.services.compliance import ComplianceService
from projectone.services.content_api import ContentApi
from projectone.services.delivery_api import DeliveryApi
from projectone.services.dispatch import DispatchWorker, SmsBackup, WorkerConfig
from projectone.services.fallback import FallbackLibraryService
from projectone.services.incidents import IncidentService
from projectone.services.morning import MorningService
from projectone.services.privacy import PrivacyService
from projectone.services.receipts import ReceiptService
from projectone.services.workflow import WorkflowService
from projectone.settings import (
    AiCostSettings,
    DispatchSettings,
    PrivacySettings,
    Settings,
    SmsSettings,
    WhatsAppSettings,
    WorkflowSettings,
    load_settings,
    parse_prices,
)
from projectone.testing.sms_simulator import SmsGatewaySimulator
from projectone.testing.whatsapp_simulator import WhatsAppSimulator

__all__ = [
    "Container",
    "build_container",
    "make_ai_policy",
    "make_worker_config",
    "resolve",
    "shutdown",
]

T = TypeVar("T")


def _key_store(settings: PrivacySettings) -> LocalKeyStore:
    return load_key_store(settings.master_key, settings.master_key_file)


async def _engine(settings: Settings, key_store: LocalKeyStore) -> AsyncIterator[AsyncEngine]:
    url = settings.resolved_database_url
    pool: dict[str, int] = {}
    if url.startswith(("postgresql", "postgres:")):
        pool = {
            "pool_size": settings.database_pool_size,
            "max_overflow": settings.database_max_overflow,
        }
    engine = create_engine(url, **pool)
    try:
        await ensure_reachable(engine)
        # SQLite databases are brought up to date on first use; PostgreSQL only by
        # `projectone db upgrade`, so that a deploy decides when its schema changes.
        await prepare(engine, auto_migrate=True, key_store=key_store)
        yield engine
    finally:
        await engine.dispose()


async def _http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(raise_for_status=False) as session:
        yield session


async def _whatsapp_endpoint(settings: WhatsAppSettings) -> AsyncIterator[WhatsAppSettings]:
    """The Cloud API to talk to: the configured one, or a simulator started on loopback."""
    if not settings.simulated:
        yield settings
        return
    simulator = WhatsAppSimulator(phone_number_id=settings.phone_number_id)
    async with simulator:
        yield WhatsAppSettings(
            api_base_url=simulator.base_url,
            api_version=settings.api_version,
            phone_number_id=settings.phone_number_id,
            access_token=simulator.access_token,
            timeout_seconds=settings.timeout_seconds,
            rate_per_second=settings.rate_per_second,
        )


def _sender(session: aiohttp.ClientSession, endpoint: WhatsAppSettings) -> WhatsAppCloudSender:
    assert endpoint.access_token is not None
    return WhatsAppCloudSender(
        session,
        base_url=endpoint.api_base_url,
        api_version=endpoint.api_version,
        phone_number_id=endpoint.phone_number_id,
        access_token=endpoint.access_token,
        timeout=endpoint.timeout_seconds,
        throttle=endpoint.rate_per_second,
    )


async def _sms_endpoint(
    settings: SmsSettings, whatsapp: WhatsAppSettings
) -> AsyncIterator[SmsSettings]:
    """The SMS gateway to talk to: the configured one, or a simulator started on loopback
    with the settings' sender header, entity and templates registered. Real WhatsApp with a
    simulated SMS backup is refused: backups would silently go nowhere."""
    if settings.simulated and not whatsapp.simulated:
        raise ConfigurationError(
            "sms.auth_key",
            "is required when WhatsApp is real (PROJECTONE_WHATSAPP_ACCESS_TOKEN is set): "
            "without it the SMS backup would go to a simulator",
        )
    if not settings.simulated:
        if settings.api_base_url is None:
            raise ConfigurationError("sms.api_base_url", "is required with sms.auth_key")
        yield settings
        return
    simulator = SmsGatewaySimulator(
        principal_entity_id=settings.principal_entity_id,
        sender_headers=(settings.sender_header,),
        templates={
            settings.english_template_id: (settings.english_template, settings.template_category),
            settings.hindi_template_id: (settings.hindi_template, settings.template_category),
        },
    )
    async with simulator:
        yield attrs.evolve(settings, api_base_url=simulator.base_url, auth_key=simulator.auth_key)


def _sms_backup(session: aiohttp.ClientSession, endpoint: SmsSettings) -> SmsBackup:
    assert endpoint.api_base_url is not None
    assert endpoint.auth_key is not None
    english = DltTemplate(
        template_id=endpoint.english_template_id,
        text=endpoint.english_template,
        category=endpoint.template_category,
    )
    hindi = DltTemplate(
        template_id=endpoint.hindi_template_id,
        text=endpoint.hindi_template,
        category=endpoint.template_category,
    )
    sender = SmsGatewaySender(
        session,
        base_url=endpoint.api_base_url,
        auth_key=endpoint.auth_key,
        timeout=endpoint.timeout_seconds,
        templates=(english, hindi),
    )
    return SmsBackup(
        sender=sender,
        # Marathi is written in Devanagari too: the Hindi template carries it.
        templates={Language.EN: english, Language.HI: hindi, Language.MR: hindi},
        sender_header=endpoint.sender_header,
        principal_entity_id=endpoint.principal_entity_id,
        brand=endpoint.brand,
    )


def make_worker_config(settings: DispatchSettings, **overrides: Any) -> WorkerConfig:
    """The worker configuration ``settings`` describe (``overrides`` win, e.g. from the CLI)."""
    fields: dict[str, Any] = {
        "batch_size": settings.batch_size,
        "concurrency": settings.concurrency,
        "lease": dt.timedelta(seconds=settings.lease_seconds),
        "send_policy": settings.send_policy,
        "receipt_wait": dt.timedelta(seconds=settings.receipt_wait_seconds),
        "retry": RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=dt.timedelta(seconds=settings.retry_base_delay_seconds),
            max_delay=dt.timedelta(seconds=settings.retry_max_delay_seconds),
            jitter=settings.retry_jitter,
            sms_margin=dt.timedelta(seconds=settings.sms_margin_seconds),
        ),
    }
    fields.update(overrides)
    return WorkerConfig(**fields)


def _auto_approve(settings: WorkflowSettings) -> dict[Tier, int]:
    return {
        Tier.BASIC: settings.auto_approve_basic,
        Tier.STANDARD: settings.auto_approve_standard,
        Tier.PRO: settings.auto_approve_pro,
    }


async def _openai_client(settings: Settings) -> AsyncIterator[openai.AsyncOpenAI | None]:
    """The SDK client for ``PROJECTONE_AI=openai`` (``None`` for the offline AI). Its own
    retries are off: the adapters retry, honouring ``Retry-After``, within their limits."""
    if settings.ai != "openai":
        yield None
        return
    config = settings.openai
    client = openai.AsyncOpenAI(
        api_key=config.api_key,
        base_url=config.base_url,
        max_retries=0,
        timeout=config.timeout_seconds,
    )
    try:
        yield client
    finally:
        await client.close()


def _breaker(clock: Clock, settings: Settings) -> CircuitBreaker:
    # One breaker per endpoint: the generator and the reviewer fail together.
    policy = BreakerPolicy(
        threshold=settings.openai.breaker_failures,
        cooldown=dt.timedelta(seconds=settings.openai.breaker_cooldown_seconds),
    )
    return CircuitBreaker(clock, policy)


def _generator(
    settings: Settings,
    client: openai.AsyncOpenAI | None,
    breaker: CircuitBreaker,
    rulebook: Rulebook,
) -> ContentGenerator:
    if client is None:
        return OfflineGenerator(rulebook)
    config = settings.openai
    return OpenAiGenerator(
        client,
        model=config.generation_model,
        breaker=breaker,
        temperature=config.temperature,
        max_output_tokens=config.max_output_tokens,
        retry=RetryLimits(max_attempts=config.max_attempts, total_seconds=config.retry_seconds),
    )


def make_ai_policy(settings: AiCostSettings) -> AiPolicy:
    """The studio's spending rules from settings: built-in prices overridden by
    ``PROJECTONE_AI_COSTS_PRICES``."""
    prices = dict(DEFAULT_PRICES)
    prices.update(
        (model, ModelPrice(given_in, given_out))
        for model, (given_in, given_out) in parse_prices(settings.prices).items()
    )
    quotas = {
        Tier.BASIC: DailyQuota(settings.generations_basic, settings.checks_basic),
        Tier.STANDARD: DailyQuota(settings.generations_standard, settings.checks_standard),
        Tier.PRO: DailyQuota(settings.generations_pro, settings.checks_pro),
    }
    return AiPolicy(
        quotas=quotas,
        monthly_budget_inr=settings.monthly_budget_inr,
        prices=prices,
        cache_ttl=dt.timedelta(days=settings.cache_days),
    )


def _reviewer(
    settings: Settings,
    client: openai.AsyncOpenAI | None,
    breaker: CircuitBreaker,
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    ids: IdGenerator,
    policy: AiPolicy,
) -> ComplianceReviewer:
    if client is None:
        return OfflineReviewer()
    config = settings.openai
    model = OpenAiReviewer(
        client,
        model=config.review_model,
        breaker=breaker,
        max_output_tokens=config.max_output_tokens,
        retry=RetryLimits(max_attempts=config.max_attempts, total_seconds=config.retry_seconds),
    )
    return GuardedReviewer.build(
        model, uow_factory=uow_factory, clock=clock, ids=ids, policy=policy
    )


async def _rate_limiter(settings: Settings) -> AsyncIterator[RateLimiter]:
    """Counts in this process, or in Redis shared by every API process (``projectone[redis]``)."""
    if settings.rate_limit.backend == "memory":
        yield InMemoryRateLimiter()
        return
    # Imported here: the redis package is an optional extra.
    from projectone.adapters.rate_limit_redis import RedisRateLimiter

    limiter = RedisRateLimiter(settings.rate_limit.redis_url)
    try:
        yield limiter
    finally:
        await limiter.aclose()


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(load_settings)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(UuidGenerator)

    key_store = providers.Singleton(_key_store, settings=settings.provided.privacy)
    engine = providers.Resource(_engine, settings=settings, key_store=key_store)
    uow_factory = providers.Singleton(
        SqlAlchemyUnitOfWorkFactory, engine=engine, key_store=key_store
    )

    http_session = providers.Resource(_http_session)
    whatsapp_endpoint = providers.Resource(_whatsapp_endpoint, settings=settings.provided.whatsapp)
    whatsapp = providers.Singleton(_sender, session=http_session, endpoint=whatsapp_endpoint)
    sms_endpoint = providers.Resource(
        _sms_endpoint, settings=settings.provided.sms, whatsapp=settings.provided.whatsapp
    )
    sms_backup = providers.Singleton(_sms_backup, session=http_session, endpoint=sms_endpoint)
    worker_config = providers.Factory(make_worker_config, settings=settings.provided.dispatch)

    rulebook = providers.Singleton(default_rulebook)
    openai_client = providers.Resource(_openai_client, settings=settings)
    ai_breaker = providers.Singleton(_breaker, clock=clock, settings=settings)
    ai_policy = providers.Singleton(make_ai_policy, settings=settings.provided.ai_costs)
    generator = providers.Singleton(
        _generator, settings=settings, client=openai_client, breaker=ai_breaker, rulebook=rulebook
    )
    reviewer = providers.Singleton(
        _reviewer,
        settings=settings,
        client=openai_client,
        breaker=ai_breaker,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy=ai_policy,
    )
    compliance = providers.Factory(ComplianceService, rulebook=rulebook, reviewer=reviewer)
    studio = providers.Factory(
        AiStudio,
        uow_factory=uow_factory,
        generator=generator,
        compliance=compliance,
        clock=clock,
        ids=ids,
        policy=ai_policy,
    )

    catalog = providers.Factory(
        CatalogService,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy_version=settings.provided.privacy.policy_version,
    )
    privacy = providers.Factory(
        PrivacyService,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy_version=settings.provided.privacy.policy_version,
    )
    incidents = providers.Factory(IncidentService, uow_factory=uow_factory, clock=clock, ids=ids)
    library = providers.Factory(
        FallbackLibraryService, uow_factory=uow_factory, clock=clock, ids=ids
    )
    workflow = providers.Factory(
        WorkflowService,
        uow_factory=uow_factory,
        compliance=compliance,
        clock=clock,
        ids=ids,
        auto_approve=providers.Callable(_auto_approve, settings.provided.workflow),
    )
    audit = providers.Factory(AuditService, uow_factory=uow_factory)
    content_api = providers.Factory(
        ContentApi, uow_factory=uow_factory, workflow=workflow, compliance=compliance
    )
    token_verifier = providers.Singleton(
        JwtVerifier.from_settings, settings.provided.jwt, clock=clock
    )
    rate_limiter = providers.Resource(_rate_limiter, settings=settings)
    webhook_reader = providers.Singleton(
        CloudWebhookReader, app_secret=settings.provided.whatsapp.app_secret
    )
    receipts = providers.Factory(
        ReceiptService, uow_factory=uow_factory, reader=webhook_reader, clock=clock, ids=ids
    )
    morning = providers.Factory(
        MorningService, uow_factory=uow_factory, clock=clock, ids=ids, rulebook=rulebook
    )
    advisor_api = providers.Factory(
        AdvisorApi,
        uow_factory=uow_factory,
        clock=clock,
        ids=ids,
        policy_version=settings.provided.privacy.policy_version,
    )
    analytics_api = providers.Factory(AnalyticsApi, uow_factory=uow_factory, clock=clock)
    delivery_api = providers.Factory(
        DeliveryApi,
        uow_factory=uow_factory,
        morning=morning,
        clock=clock,
        retry_policy=worker_config.provided.retry,
    )

    #: A delivery worker; ``container.worker(config=...)`` to pass CLI overrides.
    worker = providers.Factory(
        DispatchWorker,
        uow_factory=uow_factory,
        whatsapp=whatsapp,
        clock=clock,
        ids=ids,
        config=worker_config,
        sms=sms_backup,
    )


def build_container(settings: Settings | None = None) -> Container:
    """A container for ``settings`` (default: read from the environment)."""
    container = Container()
    if settings is not None:
        container.settings.override(providers.Object(settings))
    return container


async def resolve(provider: providers.Provider[T]) -> T:
    """The object ``provider`` gives, awaiting it when it depends on an async resource.

    dependency-injector returns an awaitable from any provider that (transitively) needs an
    async ``Resource`` that is not yet started, and the object itself otherwise.
    """
    value: Any = provider()
    if inspect.isawaitable(value):
        value = await value
    return value  # type: ignore[no-any-return]


async def shutdown(container: Container) -> None:
    """Close every started resource (engine, HTTP session, simulator) of ``container``."""
    pending = container.shutdown_resources()
    if pending is not None:
        await pending
