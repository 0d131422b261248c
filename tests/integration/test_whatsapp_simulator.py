"""The WhatsApp simulator's realism knobs, over real loopback HTTP.

Error mixes, latency distributions, lost answers and the signed status webhooks it posts back
are checked against real receivers (a tiny aiohttp server, and projectone's own HTTP app) and
read with projectone's own webhook parser, so the simulator and the code under test agree on
the wire format. No test asserts on how long anything took.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import math
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from projectone.adapters.whatsapp_cloud import WhatsAppCloudSender
from projectone.adapters.whatsapp_receipts import CloudWebhookReader
from projectone.adapters.whatsapp_webhook import StatusUpdate, parse_webhook, verify_signature
from projectone.container import build_container
from projectone.domain import DeliveryStatus
from projectone.domain.errors import UnavailableError
from projectone.entrypoints.http import create_app
from projectone.ports.messaging import OutboundText
from projectone.settings import Settings, WhatsAppSettings
from projectone.testing._loopback import closed_port, serve
from projectone.testing.whatsapp_simulator import (
    WhatsAppSimulator,
    build_message_webhook,
    lognormal_latency,
    sign_body,
)

__all__: list[str] = []

TOKEN = "test-token"
SECRET = "app-secret"
PHONE_NUMBER_ID = "106540352242922"
S, D, R, F = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.READ,
    DeliveryStatus.FAILED,
)


def recipient(i: int) -> str:
    return f"+9198{i:08d}"


@attrs.define
class Receiver:
    """A webhook endpoint on loopback: records every POST, answers ``answers`` then 200."""

    answers: list[int] = attrs.Factory(list)
    posts: list[tuple[bytes, str | None]] = attrs.Factory(list)
    hang: bool = False
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.posts.append((raw, request.headers.get("X-Hub-Signature-256")))
        if self.hang:
            await asyncio.Event().wait()
        status = self.answers.pop(0) if self.answers else 200
        return web.json_response({}, status=status)

    def batches(self) -> list[list[StatusUpdate]]:
        """The statuses of each POST, in arrival order, after checking its signature."""
        batches: list[list[StatusUpdate]] = []
        for raw, signature in self.posts:
            assert verify_signature(SECRET, raw, signature), "a webhook is not signed right"
            parsed = parse_webhook(raw)
            assert parsed.rejected == ()
            assert parsed.messages == ()
            batches.append(list(parsed.statuses))
        return batches

    def statuses(self) -> list[StatusUpdate]:
        return [status for batch in self.batches() for status in batch]

    def by_message(self) -> dict[str, list[StatusUpdate]]:
        grouped: dict[str, list[StatusUpdate]] = collections.defaultdict(list)
        for status in self.statuses():
            grouped[status.message_id].append(status)
        return dict(grouped)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    async with serve(hook.handle) as server:
        hook.url = f"{server.base_url}/webhooks/whatsapp"
        yield hook


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def webhook_simulator(receiver: Receiver, **knobs: Any) -> WhatsAppSimulator:
    settings: dict[str, Any] = {
        "access_token": TOKEN,
        "webhook_url": receiver.url,
        "app_secret": SECRET,
        "webhook_delay": (0.0, 0.005),
        "webhook_flush_interval": 0.01,
        "seed": 11,
    }
    settings.update(knobs)
    return WhatsAppSimulator(**settings)


def sender_for(
    session: aiohttp.ClientSession, sim: WhatsAppSimulator, *, timeout: float = 5.0
) -> WhatsAppCloudSender:
    return WhatsAppCloudSender(
        session,
        base_url=sim.base_url,
        phone_number_id=PHONE_NUMBER_ID,
        access_token=TOKEN,
        timeout=timeout,
        throttle=None,
    )


async def send_texts(
    session: aiohttp.ClientSession, sim: WhatsAppSimulator, count: int
) -> dict[str, str]:
    """Send ``count`` texts with callback data ``delivery-<i>``; wamid → callback data."""
    sender = sender_for(session, sim)
    sent: dict[str, str] = {}
    for i in range(count):
        receipt = await sender.send_text(
            OutboundText(to=recipient(i), body=f"Good morning {i}", callback_data=f"delivery-{i}")
        )
        sent[receipt.message_id] = f"delivery-{i}"
    return sent


async def raw_send(session: aiohttp.ClientSession, sim: WhatsAppSimulator, to: str) -> int | None:
    """POST one text as plain HTTP; the Meta error code of the answer, ``None`` if accepted."""
    async with session.post(
        f"{sim.base_url}/v21.0/{PHONE_NUMBER_ID}/messages",
        json={"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hi"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as response:
        answer = await response.json()
    if response.status == 200:
        return None
    code = answer["error"]["code"]
    assert isinstance(code, int)
    return code


# -- error mix -------------------------------------------------------------------------------


async def mixed_codes(session: aiohttp.ClientSession, seed: int, count: int) -> list[int | None]:
    mix = {131026: 0.1, 131000: 0.2}
    async with WhatsAppSimulator(access_token=TOKEN, error_mix=mix, seed=seed) as sim:
        codes = [await raw_send(session, sim, recipient(i)) for i in range(count)]
        assert len(sim.sent) == codes.count(None)
        assert sim.requests == count
    return codes


async def test_an_error_mix_answers_each_code_for_about_its_fraction_reproducibly(
    session: aiohttp.ClientSession,
) -> None:
    codes = await mixed_codes(session, seed=5, count=400)
    counts = collections.Counter(codes)

    assert set(counts) == {None, 131026, 131000}
    # Expected 40 and 80: generous bounds, several standard deviations wide.
    assert 15 <= counts[131026] <= 70
    assert 45 <= counts[131000] <= 120
    assert await mixed_codes(session, seed=5, count=400) == codes
    assert await mixed_codes(session, seed=6, count=400) != codes


async def test_an_error_mix_leaves_the_random_failures_where_they_were(
    session: aiohttp.ClientSession,
) -> None:
    async def failing(**knobs: Any) -> list[bool]:
        async with WhatsAppSimulator(
            access_token=TOKEN, failure_rate=0.3, failure_code=131016, seed=2, **knobs
        ) as sim:
            return [await raw_send(session, sim, recipient(i)) == 131016 for i in range(60)]

    assert await failing(error_mix={131026: 0.5}) == await failing()


@pytest.mark.parametrize(
    "knobs",
    [
        {"error_mix": {131026: 1.5}},
        {"error_mix": {131026: -0.1}},
        {"error_mix": {131026: math.nan}},
        {"error_mix": {131026: 0.6, 131000: 0.5}},
        {"error_mix": {"131026": 0.1}},
        {"async_failures": {131049: 0.7, 131026: 0.4}},
        {"read_fraction": 1.2},
        {"duplicate_fraction": -1.0},
        {"reorder_fraction": 2},
        {"lost_answer_fraction": 1.01},
        {"lost_answer_delay": -1.0},
        {"webhook_delay": (0.2, 0.1)},
        {"webhook_batch_size": 0},
        {"webhook_retries": -1},
        {"webhook_url": "ftp://example.test/hook"},
        {"latency": (0.5, 0.1)},
    ],
)
def test_bad_knobs_are_refused_when_the_simulator_is_built(knobs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(knobs))):
        WhatsAppSimulator(**knobs)


def test_fractions_summing_to_one_are_accepted() -> None:
    sim = WhatsAppSimulator(error_mix={131026: 0.7, 131000: 0.3}, async_failures={131049: 1.0})
    assert sim.error_mix == {131000: 0.3, 131026: 0.7}


# -- latency ---------------------------------------------------------------------------------


def percentile(draws: list[float], fraction: float) -> float:
    return sorted(draws)[int(fraction * len(draws))]


def test_lognormal_latency_has_the_median_and_p99_asked_for() -> None:
    sample = lognormal_latency(median=0.08, p99=0.6)
    rng = random.Random(7)
    draws = [sample(rng) for _ in range(20_000)]

    assert min(draws) > 0
    assert percentile(draws, 0.5) == pytest.approx(0.08, rel=0.05)
    assert percentile(draws, 0.99) == pytest.approx(0.6, rel=0.15)
    assert max(draws) > 0.6  # a tail beyond the 99th percentile


def test_lognormal_latency_is_reproducible_and_constant_without_spread() -> None:
    sample = lognormal_latency(median=0.05, p99=0.4)
    first, second = random.Random(3), random.Random(3)
    assert [sample(first) for _ in range(50)] == [sample(second) for _ in range(50)]

    constant = lognormal_latency(median=0.02, p99=0.02)
    assert {round(constant(random.Random(i)), 12) for i in range(20)} == {0.02}


@pytest.mark.parametrize(
    ("median", "p99"), [(0.0, 1.0), (-0.1, 1.0), (0.5, 0.1), (math.nan, 1.0), (0.1, math.inf)]
)
def test_lognormal_latency_refuses_impossible_percentiles(median: float, p99: float) -> None:
    with pytest.raises(ValueError, match="median"):
        lognormal_latency(median, p99)


def test_a_latency_distribution_draws_from_the_seeded_stream() -> None:
    def draws(seed: int) -> list[float]:
        sim = WhatsAppSimulator(latency=lognormal_latency(0.01, 0.2), seed=seed)
        return [sim.draw_latency() for _ in range(20)]

    assert draws(4) == draws(4)
    assert draws(4) != draws(5)
    assert WhatsAppSimulator(latency=(0.0, 0.0)).draw_latency() == 0.0


def test_a_latency_callable_returning_negative_seconds_is_a_clear_error() -> None:
    sim = WhatsAppSimulator(latency=lambda rng: -1.0)
    with pytest.raises(ValueError, match="latency sampler"):
        sim.draw_latency()


async def test_a_latency_callable_is_called_with_a_generator_for_each_request(
    session: aiohttp.ClientSession,
) -> None:
    given: list[object] = []

    def latency(rng: random.Random) -> float:
        given.append(rng)
        return rng.uniform(0.0, 0.002)

    async with WhatsAppSimulator(access_token=TOKEN, latency=latency) as sim:
        assert await raw_send(session, sim, recipient(1)) is None
        assert await raw_send(session, sim, recipient(2)) is None

    assert len(given) == 2
    assert all(isinstance(rng, random.Random) for rng in given)


# -- status webhooks -------------------------------------------------------------------------


async def test_accepted_sends_are_followed_by_signed_sent_delivered_read_webhooks(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(receiver, read_fraction=1.0) as sim:
        sent = await send_texts(session, sim, 5)
        await sim.drain_webhooks(timeout=10)

        assert sim.pending_statuses == 0
    by_message = receiver.by_message()

    assert set(by_message) == set(sent)
    for wamid, statuses in by_message.items():
        assert [s.status for s in statuses] == [S, D, R]
        assert {s.callback_data for s in statuses} == {sent[wamid]}
        index = int(sent[wamid].removeprefix("delivery-"))
        assert {s.recipient_id for s in statuses} == {recipient(index).lstrip("+")}
        assert sim.planned_statuses[wamid] == ("sent", "delivered", "read")
    assert sim.statuses_posted == 15
    assert sim.webhooks_posted == len(receiver.posts)
    assert sim.webhook_failures == sim.statuses_dropped == 0


async def test_a_full_batch_is_posted_at_once_and_never_exceeds_the_batch_size(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    # A flush interval far beyond the drain timeout: only full batches can make it in time.
    async with webhook_simulator(
        receiver, read_fraction=1.0, webhook_batch_size=3, webhook_flush_interval=600
    ) as sim:
        await send_texts(session, sim, 8)
        await sim.drain_webhooks(timeout=10)

    assert [len(batch) for batch in receiver.batches()] == [3] * 8
    assert sim.webhooks_posted == 8


async def test_each_post_carries_the_statuses_of_the_phone_number_that_sent(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    numbers = ("111111111111111", "222222222222222")
    sent_from: dict[str, str] = {}
    async with webhook_simulator(receiver, read_fraction=0.0) as sim:
        for i in range(6):
            number = numbers[i % 2]
            async with session.post(
                f"{sim.base_url}/v21.0/{number}/messages",
                json={
                    "messaging_product": "whatsapp",
                    "to": recipient(i),
                    "type": "text",
                    "text": {"body": "hi"},
                },
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as response:
                sent_from[(await response.json())["messages"][0]["id"]] = number
        await sim.drain_webhooks(timeout=10)

    for (raw, _), batch in zip(receiver.posts, receiver.batches(), strict=True):
        (entry,) = json.loads(raw)["entry"]
        (change,) = entry["changes"]
        number = change["value"]["metadata"]["phone_number_id"]
        assert {sent_from[s.message_id] for s in batch} == {number}
    assert sum(len(batch) for batch in receiver.batches()) == 12


async def test_without_read_receipts_a_message_stops_at_delivered(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(receiver, read_fraction=0.0) as sim:
        await send_texts(session, sim, 4)
        await sim.drain_webhooks(timeout=10)

    assert {tuple(s.status for s in v) for v in receiver.by_message().values()} == {(S, D)}


async def test_an_async_failure_is_reported_failed_with_its_code_and_callback_data(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(receiver, async_failures={131049: 1.0}) as sim:
        sent = await send_texts(session, sim, 3)  # accepted: each send got a wamid
        await sim.drain_webhooks(timeout=10)

    reader = CloudWebhookReader(SECRET)
    receipts = [r for raw, sig in receiver.posts for r in reader.read(raw, sig).receipts]
    assert sorted(r.message_id for r in receipts) == sorted(sent)
    for receipt in receipts:
        assert receipt.status is F
        assert receipt.error_code == "131049"
        assert receipt.error_message
        assert receipt.callback_data == sent[receipt.message_id]
    assert set(sim.planned_statuses.values()) == {("failed",)}


async def test_every_status_is_posted_twice_in_separate_posts_at_duplicate_fraction_one(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(receiver, read_fraction=1.0, duplicate_fraction=1.0) as sim:
        await send_texts(session, sim, 4)
        await sim.drain_webhooks(timeout=10)

    batches = receiver.batches()
    posted = collections.Counter((s.message_id, s.status) for b in batches for s in b)
    assert len(posted) == 12
    assert set(posted.values()) == {2}
    for batch in batches:
        assert len({(s.message_id, s.status) for s in batch}) == len(batch)
    assert sim.statuses_posted == 24


async def test_statuses_arrive_in_reverse_order_at_reorder_fraction_one(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(receiver, read_fraction=1.0, reorder_fraction=1.0) as sim:
        await send_texts(session, sim, 4)
        await sim.drain_webhooks(timeout=10)

    for statuses in receiver.by_message().values():
        assert [s.status for s in statuses] == [R, D, S]
        read, delivered, sent = (s.timestamp for s in statuses)
        assert sent <= delivered <= read  # the events keep the times they happened at


async def test_what_is_posted_is_what_was_planned_under_a_mix_of_everything(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(
        receiver,
        read_fraction=0.5,
        async_failures={131049: 0.2, 131026: 0.1},
        duplicate_fraction=0.3,
        reorder_fraction=0.3,
        webhook_batch_size=7,
    ) as sim:
        await send_texts(session, sim, 40)
        await sim.drain_webhooks(timeout=10)

    planned = {(w, s) for w, statuses in sim.planned_statuses.items() for s in statuses}
    posted = receiver.statuses()
    assert {(s.message_id, s.status.value) for s in posted} == planned
    assert sim.statuses_posted == len(posted) > len(planned)  # some came twice
    outcomes = collections.Counter(statuses[-1] for statuses in sim.planned_statuses.values())
    assert set(outcomes) == {"read", "delivered", "failed"}
    assert all(len(batch) <= 7 for batch in receiver.batches())


async def test_a_refused_webhook_is_retried_until_accepted(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.answers = [500, 503]
    async with webhook_simulator(receiver, read_fraction=0.0) as sim:
        await send_texts(session, sim, 1)
        await sim.drain_webhooks(timeout=10)

    assert sim.webhook_failures == 0
    assert len(receiver.posts) == sim.webhooks_posted + 2
    assert sim.statuses_posted == 2


async def test_a_webhook_refused_past_its_retries_is_counted_as_a_failure(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.answers = [401] * 100
    async with webhook_simulator(receiver, read_fraction=0.0, webhook_retries=2) as sim:
        await send_texts(session, sim, 2)
        await sim.drain_webhooks(timeout=10)

    assert sim.webhook_failures >= 1
    assert len(receiver.posts) == 3 * sim.webhook_failures
    assert sim.webhooks_posted == sim.statuses_posted == 0
    assert sim.pending_statuses == 0


async def test_an_unreachable_receiver_is_counted_as_a_failure(
    session: aiohttp.ClientSession,
) -> None:
    unreachable = Receiver(url=f"http://127.0.0.1:{closed_port()}/hook")
    async with webhook_simulator(unreachable, webhook_retries=1) as sim:
        await send_texts(session, sim, 1)
        await sim.drain_webhooks(timeout=10)

    assert sim.webhook_failures >= 1
    assert sim.statuses_posted == 0


async def test_drain_times_out_while_the_receiver_hangs_and_stop_drops_the_rest(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    receiver.hang = True
    sim = webhook_simulator(receiver, read_fraction=1.0)
    async with sim:
        await send_texts(session, sim, 2)
        with pytest.raises(TimeoutError, match="still waiting"):
            await sim.drain_webhooks(timeout=0.3)
        assert sim.pending_statuses == 6

    assert sim.statuses_dropped == 6
    assert sim.pending_statuses == 0
    await sim.drain_webhooks(timeout=1)  # nothing left to wait for


async def test_stop_cancels_webhooks_not_due_yet(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    sim = webhook_simulator(receiver, read_fraction=1.0, webhook_delay=(600.0, 600.0))
    async with sim:
        await send_texts(session, sim, 1)

    assert sim.statuses_dropped == 3
    assert receiver.posts == []


async def test_a_simulator_without_a_webhook_url_posts_nothing_but_plans_statuses(
    session: aiohttp.ClientSession,
) -> None:
    async with WhatsAppSimulator(access_token=TOKEN, read_fraction=1.0) as sim:
        sent = await send_texts(session, sim, 2)
        await sim.drain_webhooks(timeout=1)

    assert set(sim.planned_statuses) == set(sent)
    assert sim.webhooks_posted == sim.statuses_posted == sim.pending_statuses == 0


@pytest.fixture
def app_settings(sqlite_url: str) -> Settings:
    return Settings(
        database_url=sqlite_url,
        whatsapp=WhatsAppSettings(app_secret=SECRET, verify_token="verify-me"),
    )


async def test_projectone_accepts_the_signed_webhooks_and_refuses_a_wrong_secret(
    session: aiohttp.ClientSession, app_settings: Settings
) -> None:
    container = build_container(app_settings)
    runner = web.AppRunner(create_app(container))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/v1/webhooks/whatsapp"
        receiver = Receiver(url=url)
        async with webhook_simulator(receiver, read_fraction=1.0) as good:
            await send_texts(session, good, 2)
            await good.drain_webhooks(timeout=10)
        async with webhook_simulator(receiver, app_secret="wrong", webhook_retries=0) as bad:
            await send_texts(session, bad, 1)
            await bad.drain_webhooks(timeout=10)
    finally:
        await runner.cleanup()  # closes the container's resources too

    assert good.webhook_failures == 0
    assert good.statuses_posted == 6
    assert bad.webhook_failures >= 1
    assert bad.statuses_posted == 0


# -- unknown outcomes ------------------------------------------------------------------------


async def test_a_lost_answer_times_the_client_out_after_the_message_was_accepted(
    session: aiohttp.ClientSession, receiver: Receiver
) -> None:
    async with webhook_simulator(
        receiver, read_fraction=0.0, lost_answer_fraction=1.0, lost_answer_delay=30.0
    ) as sim:
        with pytest.raises(TimeoutError):
            async with session.post(
                f"{sim.base_url}/v21.0/{PHONE_NUMBER_ID}/messages",
                json={
                    "messaging_product": "whatsapp",
                    "to": recipient(1),
                    "type": "text",
                    "text": {"body": "Good morning"},
                    "biz_opaque_callback_data": "delivery-1",
                },
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=aiohttp.ClientTimeout(total=0.2),
            ) as response:
                await response.read()

        assert len(sim.sent) == 1
        assert sim.sends_per_callback == {"delivery-1": 1}
        assert sim.lost_answers == 1
        await sim.drain_webhooks(timeout=10)

    # The webhook settles what the answer could not tell: the message went out.
    statuses = receiver.statuses()
    assert [(s.status, s.callback_data) for s in statuses] == [
        (S, "delivery-1"),
        (D, "delivery-1"),
    ]


async def test_sending_again_after_a_lost_answer_shows_as_a_duplicate_callback(
    session: aiohttp.ClientSession,
) -> None:
    message = OutboundText(to=recipient(2), body="Good morning", callback_data="delivery-2")
    async with WhatsAppSimulator(
        access_token=TOKEN, lost_answer_fraction=1.0, lost_answer_delay=30.0
    ) as sim:
        with pytest.raises(UnavailableError):
            await sender_for(session, sim, timeout=0.2).send_text(message)
        sim.lost_answer_fraction = 0.0  # the retry's answer arrives (at_least_once)
        receipt = await sender_for(session, sim).send_text(message)

    assert receipt.message_id.startswith("wamid.")
    assert sim.duplicate_callbacks == {"delivery-2": 2}
    assert sim.lost_answers == 1


# -- inbound messages ------------------------------------------------------------------------


def test_an_inbound_text_webhook_reads_as_one_inbound_message() -> None:
    at = dt.datetime(2026, 11, 23, 1, 2, 3, tzinfo=dt.UTC)
    body = build_message_webhook(
        "+919876543210",
        "नमस्ते, STOP",
        message_id="wamid.inbound1",
        timestamp=at,
        profile_name="Asha",
        context_message_id="wamid.ours",
    )

    batch = CloudWebhookReader(SECRET).read(body, sign_body(SECRET, body))
    assert (batch.inbound_messages, batch.receipts, batch.rejected) == (1, (), 0)
    body.decode("ascii")  # non-ASCII is escaped, as Meta does
    (message,) = parse_webhook(body).messages
    assert message.message_id == "wamid.inbound1"
    assert message.from_number == "+919876543210"
    assert message.type == "text"
    assert message.text == "नमस्ते, STOP"
    assert message.timestamp == at
    assert message.context_message_id == "wamid.ours"


def test_an_inbound_webhook_gets_a_fresh_wamid_and_refuses_a_bad_number() -> None:
    first = parse_webhook(build_message_webhook("919800000001", "hi")).messages[0]
    second = parse_webhook(build_message_webhook("919800000001", "hi")).messages[0]
    assert first.message_id.startswith("wamid.")
    assert first.message_id != second.message_id

    with pytest.raises(ValueError, match="from_number"):
        build_message_webhook("not-a-number", "hi")
