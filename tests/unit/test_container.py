"""The composition root: providers can be overridden with fakes, no monkeypatching."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import attrs
import pytest
from dependency_injector import providers

from projectone.container import build_container, resolve, shutdown
from projectone.domain.errors import ConfigurationError
from projectone.services import DispatchWorker, MorningService
from projectone.settings import Settings, WhatsAppSettings
from projectone.testing.demo_data import demo_advisors, demo_packs
from projectone.testing.fakes import (
    FakeWhatsAppSender,
    InMemoryUnitOfWorkFactory,
    ManualClock,
    SequentialIds,
)

DAY = dt.date(2026, 11, 23)


async def test_a_container_with_fakes_runs_a_morning_without_database_or_network(
    tmp_path: Path,
) -> None:
    # The database URL points nowhere usable: overriding the unit of work must keep the
    # engine resource from ever being started.
    container = build_container(Settings(database_url=f"sqlite:///{tmp_path}/never.db"))
    uow = InMemoryUnitOfWorkFactory()
    sender = FakeWhatsAppSender()
    clock = ManualClock(dt.datetime(2026, 11, 23, 0, 30, tzinfo=dt.UTC))
    ids = SequentialIds()
    container.uow_factory.override(providers.Object(uow))
    container.whatsapp.override(providers.Object(sender))
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(ids))
    try:
        catalog = await resolve(container.catalog)
        advisors = [
            attrs.evolve(a, send_time=dt.time(6, 0))
            for a in demo_advisors(5, ids=ids, now=clock.now())
        ]
        await catalog.register(advisors, demo_packs(advisors, DAY, ids=ids, now=clock.now()))
        morning = await resolve(container.morning)
        assert isinstance(morning, MorningService)
        await morning.plan_morning(DAY)
        clock.advance(dt.timedelta(minutes=1))
        worker = await resolve(container.worker)
        result = await worker.run(drain=dt.timedelta(seconds=-1))
    finally:
        await shutdown(container)
    assert result.sent == len(sender.sent) == 5
    assert not (tmp_path / "never.db").exists()


def test_settings_reach_the_services() -> None:
    container = build_container(Settings())
    container.uow_factory.override(providers.Object(InMemoryUnitOfWorkFactory()))
    container.whatsapp.override(providers.Object(FakeWhatsAppSender()))
    container.sms_backup.override(providers.Object(None))
    worker = container.worker()
    assert isinstance(worker, DispatchWorker)
    assert worker.config.batch_size == Settings().dispatch.batch_size
    assert worker.config.concurrency == Settings().dispatch.concurrency
    assert worker.config.lease.total_seconds() == Settings().dispatch.lease_seconds


async def test_real_whatsapp_without_an_sms_gateway_is_refused_not_simulated() -> None:
    settings = Settings(whatsapp=WhatsAppSettings(access_token="real-token"))
    container = build_container(settings)
    try:
        with pytest.raises(ConfigurationError, match=r"sms\.auth_key"):
            await resolve(container.sms_backup)
    finally:
        await shutdown(container)
