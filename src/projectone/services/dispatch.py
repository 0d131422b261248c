"""The delivery worker: claims due deliveries under a lease, sends them, records the outcome.

Any number of workers share one queue (the ``deliveries`` table) without sending anything
twice (DESIGN.md §3.4):

* **Claim.** A batch of due deliveries is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
  concurrent workers skip each other's rows instead of waiting) and moved to ``sending`` with
  a lease: this worker's name and an expiry at most 30 s ahead. The claim commits before any
  provider call, so a crash never loses track of what was in flight.
* **Heartbeat.** While sends are in flight the worker extends its leases every third of the
  lease. A worker that dies stops extending, and its deliveries are taken over within one
  lease, well inside the 5-minute SLA.
* **Record.** Outcomes are written in batches, each delivery re-read under a row lock and
  written only if this worker still holds its lease; a delivery taken over meanwhile (or
  already settled by a status webhook) is left as the other party wrote it.
* **Failures.** A refusal is classified (``projectone.domain.failure``) and the retry policy
  decides: retry later with backoff and jitter, hand the message to the SMS backup, or give
  up. A WhatsApp message still unsent at the SMS cutoff goes to SMS without another try.
* **Unknown outcomes.** A timeout after the request was written, or a lease that expired with
  the delivery still ``sending``, leaves the outcome unknown; the send policy
  (``projectone.domain.send_policy``) decides between waiting for the status webhook
  (``at_most_once``, the default) and sending again (``at_least_once``).

Claiming, sending and recording overlap: the next batch is claimed while the current one is
on the wire, and outcomes are flushed in batches, so one worker keeps the provider busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from projectone.domain import approval
from projectone.domain._validate import nonblank, whole_number
from projectone.domain.audit import Actor
from projectone.domain.content import (
    PLANNED_SENDABLE,
    ContentPack,
    ContentStatus,
    VariantSnapshot,
    message_hash,
)
from projectone.domain.delivery import Channel, Delivery, DeliveryStatus
from projectone.domain.errors import (
    InvalidTransitionError,
    ProviderError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.failure import Classification, classify
from projectone.domain.incident import IncidentSeverity, IncidentType, open_incident
from projectone.domain.language import Language
from projectone.domain.retry import Action, RetryPolicy, decide, needs_sms_now
from projectone.domain.send_policy import (
    AWAITING_RECEIPT,
    OUTCOME_UNKNOWN,
    Recovery,
    SendPolicy,
    recover,
)
from projectone.ports.clock import Clock, IdGenerator
from projectone.ports.messaging import OutboundText, WhatsAppSender
from projectone.ports.sms import DltTemplate, OutboundSms, SmsCategory, SmsSender
from projectone.ports.unit_of_work import UnitOfWork, UnitOfWorkFactory

__all__ = [
    "CONTENT_CHANGED",
    "CONTENT_INTEGRITY",
    "ERROR_CODES",
    "MAX_LEASE",
    "NUMBER_UNAVAILABLE",
    "SLA_CUTOFF",
    "STALE",
    "DispatchWorker",
    "SmsBackup",
    "WorkerConfig",
    "WorkerStats",
]

_log = logging.getLogger(__name__)

#: The longest lease a worker may take: a dead worker's deliveries must be taken over well
#: inside the 5-minute SLA window.
MAX_LEASE = dt.timedelta(seconds=30)

# Error codes projectone itself records on a delivery, next to the provider's numeric codes.
CONTENT_CHANGED = "content_changed"
#: The pack's content no longer hashes to what was approved: altered behind the workflow.
CONTENT_INTEGRITY = "content_integrity"
#: A WhatsApp message still unsent at the SMS cutoff.
SLA_CUTOFF = "sla_cutoff"
#: Found due long after its morning (workers were down for hours, or a past date was
#: planned): a morning post is not sent at noon, on either channel.
STALE = "stale"
#: No answer from the provider, certainly not sent (no connection) or maybe sent (timeout).
PROVIDER_UNAVAILABLE = "provider_unavailable"
#: The delivery has no number to send to: its advisor was erased, or the data key that opens
#: the number is missing. Sent on no channel.
NUMBER_UNAVAILABLE = "number_unavailable"
#: An SMS backup was due but no SMS gateway is configured.
SMS_NOT_CONFIGURED = "sms_not_configured"
#: The SMS backup could not be built from the registered DLT template.
SMS_INVALID = "sms_invalid"
#: Every error code the worker itself writes (the provider's own codes aside).
ERROR_CODES = (
    CONTENT_CHANGED,
    CONTENT_INTEGRITY,
    NUMBER_UNAVAILABLE,
    SLA_CUTOFF,
    STALE,
    OUTCOME_UNKNOWN,
    SMS_NOT_CONFIGURED,
    SMS_INVALID,
    PROVIDER_UNAVAILABLE,
)
# MSG91-style gateway codes meaning "not now" (rate limit, server trouble): worth a retry.
_SMS_RETRYABLE = frozenset({"340", "500", "503"})
_DELIVERABLE = frozenset({ContentStatus.SCHEDULED, ContentStatus.APPROVED})
# Packs are cached between claims for this long: a pack pulled or withdrawn meanwhile is
# noticed within it (and re-checked per delivery by hash in any case).
_PACK_CACHE_SECONDS = 10.0
# Deadlocks with status webhooks writing the same rows do happen under load (PostgreSQL picks
# a victim; see the issue 5 note): five attempts with jittered waits, so the same two writers
# do not meet again in step.
_RECORD_ATTEMPTS = 5


def _lease(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) < value <= MAX_LEASE:
        raise ValidationError(attribute.name, value, "must be a duration above 0, up to 30 s")


def _receipt_wait(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, dt.timedelta) or not dt.timedelta(0) < value <= dt.timedelta(
        minutes=5
    ):
        raise ValidationError(attribute.name, value, "must be a duration above 0, up to 5 min")


def _policy(value: object) -> SendPolicy:
    if isinstance(value, SendPolicy):
        return value
    try:
        return SendPolicy(str(value))
    except ValueError:
        raise ValidationError(
            "send_policy", value, "must be at_most_once or at_least_once"
        ) from None


def _default_owner() -> str:
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@attrs.frozen(kw_only=True)
class WorkerConfig:
    """How one worker runs. ``owner`` names it in leases (host, pid and a random suffix by
    default, so two workers never share a name)."""

    owner: str = attrs.field(factory=_default_owner, validator=nonblank)
    batch_size: int = attrs.field(default=100, validator=whole_number(1, 10_000))
    concurrency: int = attrs.field(default=32, validator=whole_number(1, 1_000))
    lease: dt.timedelta = attrs.field(default=MAX_LEASE, validator=_lease)
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)
    send_policy: SendPolicy = attrs.field(default=SendPolicy.AT_MOST_ONCE, converter=_policy)
    #: How long an unknown outcome waits for its status webhook (``at_most_once``).
    receipt_wait: dt.timedelta = attrs.field(
        default=dt.timedelta(seconds=60), validator=_receipt_wait
    )
    #: A delivery found due this long after its SLA deadline expires unsent (no SMS either).
    stale_after: dt.timedelta = attrs.field(
        default=dt.timedelta(hours=2), validator=attrs.validators.instance_of(dt.timedelta)
    )
    #: Outcomes are written at the latest this long after the first of a batch came in.
    flush_interval: float = 0.02

    def __attrs_post_init__(self) -> None:
        if len(self.owner) > 128 or self.owner == AWAITING_RECEIPT:
            raise ValidationError("owner", self.owner, "must be a name up to 128 characters")

    @property
    def heartbeat(self) -> float:
        """Seconds between lease extensions: three chances before a lease runs out."""
        return self.lease.total_seconds() / 3


@attrs.frozen(kw_only=True)
class SmsBackup:
    """How a WhatsApp post becomes its SMS backup: a DLT template per script, filled with the
    brand and the post's title (each ``{#var#}`` holds at most 30 characters)."""

    sender: SmsSender
    templates: Mapping[Language, DltTemplate]
    sender_header: str
    principal_entity_id: str
    brand: str = "projectone"

    def compose(self, delivery: Delivery, pack: ContentPack) -> OutboundSms:
        template = self.templates.get(delivery.language) or self.templates[Language.EN]
        title = pack.variants[delivery.language].title
        values = [self.brand, title][: template.variables]
        body = template.render(*(_fit(v) for v in values))
        return OutboundSms(
            to=delivery.to,
            body=body,
            dlt_template_id=template.template_id,
            sender_header=self.sender_header,
            principal_entity_id=self.principal_entity_id,
            category=SmsCategory(template.category),
            callback_data=str(delivery.id),
        )


def _fit(value: str, limit: int = 30) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


@attrs.define
class WorkerStats:
    """What a worker did, for its log line, the CLI and the tests."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    sms_handoffs: int = 0
    sms_sent: int = 0
    awaiting_receipt: int = 0
    resent: int = 0
    recovered: int = 0
    lost_leases: int = 0
    settled_by_receipt: int = 0
    record_errors: int = 0


class _Kind(enum.Enum):
    SENT = "sent"
    REFUSED = "refused"  # the provider said no
    UNREACHABLE = "unreachable"  # certainly not sent: safe to try again
    UNKNOWN = "unknown"  # may have been sent
    INTEGRITY = "integrity"  # refused by us before sending
    HANDOFF = "handoff"  # past the SMS cutoff: not tried on WhatsApp
    STALE = "stale"  # hours late: not sent at all


@attrs.frozen(kw_only=True)
class _Outcome:
    delivery: Delivery
    kind: _Kind
    at: dt.datetime
    message_id: str | None = None
    code: str | None = None
    message: str = ""
    classification: Classification | None = None


ProgressCallback = Callable[[Delivery], None]

# "Write what you have": the record loop's own marker, never a real outcome.
_FLUSH: Any = object()


@attrs.define
class DispatchWorker:
    """One worker process's sending loop over the ports it needs."""

    uow_factory: UnitOfWorkFactory
    whatsapp: WhatsAppSender
    clock: Clock
    ids: IdGenerator
    config: WorkerConfig = attrs.field(factory=WorkerConfig)
    sms: SmsBackup | None = None
    rand: Callable[[], float] = random.random
    on_progress: ProgressCallback | None = None
    stats: WorkerStats = attrs.field(factory=WorkerStats, init=False)
    # Claimed and not yet recorded: what the heartbeat keeps leased.
    _inflight: set[uuid.UUID] = attrs.field(factory=set, init=False)
    _packs: dict[uuid.UUID, ContentPack] = attrs.field(factory=dict, init=False)
    # One language of a pack, for deliveries planned with a message hash (the usual case).
    _snapshots: dict[tuple[uuid.UUID, Language], VariantSnapshot] = attrs.field(
        factory=dict, init=False
    )
    # Each snapshot's rendered text and its hash (None: the pack lacks that language).
    _texts: dict[tuple[uuid.UUID, Language], tuple[str, str] | None] = attrs.field(
        factory=dict, init=False
    )
    # Packs whose delivery went out, to be marked delivered off the sending path.
    _delivered: set[uuid.UUID] = attrs.field(factory=set, init=False)
    _verdicts: dict[uuid.UUID, str | None] = attrs.field(factory=dict, init=False)
    _hashes: dict[uuid.UUID, str] = attrs.field(factory=dict, init=False)
    _packs_loaded: float = attrs.field(factory=time.monotonic, init=False)
    _idle: bool = attrs.field(default=False, init=False)

    # -- the loop ----------------------------------------------------------------------------

    async def run(
        self,
        *,
        stop: asyncio.Event | None = None,
        drain: dt.timedelta | None = None,
        idle_sleep: float = 0.2,
    ) -> WorkerStats:
        """Work until ``stop`` is set or, with ``drain``, until nothing is left to do within
        that horizon: no delivery queued with an attempt due by ``now + drain``, none sending.

        On ``stop`` the worker claims nothing more, finishes what it claimed and returns.
        """
        stop = stop or asyncio.Event()
        work: asyncio.Queue[Delivery | None] = asyncio.Queue()
        done: asyncio.Queue[_Outcome | None] = asyncio.Queue()
        freed = asyncio.Event()
        heartbeat_stop = asyncio.Event()
        senders = [
            asyncio.create_task(self._send_loop(work, done)) for _ in range(self.config.concurrency)
        ]
        recorder = asyncio.create_task(self._record_loop(done, freed))
        heartbeat = asyncio.create_task(self._heartbeat_loop(heartbeat_stop))
        bookkeeping = asyncio.create_task(self._bookkeeping_loop(heartbeat_stop))
        try:
            await self._claim_loop(work, freed, stop, drain, idle_sleep)
        finally:
            for _ in senders:
                work.put_nowait(None)
            await asyncio.gather(*senders, return_exceptions=True)
            done.put_nowait(None)
            await asyncio.gather(recorder, return_exceptions=True)
            heartbeat_stop.set()
            await asyncio.gather(heartbeat, bookkeeping, return_exceptions=True)
            await self._flush_delivered()
        return self.stats

    async def _claim_loop(
        self,
        work: asyncio.Queue[Delivery | None],
        freed: asyncio.Event,
        stop: asyncio.Event,
        drain: dt.timedelta | None,
        idle_sleep: float,
    ) -> None:
        next_recovery = self.clock.now()
        while not stop.is_set():
            now = self.clock.now()
            if now >= next_recovery:
                await self._recover(now)
                next_recovery = now + dt.timedelta(seconds=min(1.0, self.config.heartbeat))
            # Keep at most two batches in flight: one on the wire, the next ready behind it.
            room = 2 * self.config.batch_size - len(self._inflight)
            if room >= self.config.batch_size:
                try:
                    claimed = await self._claim(now, self.config.batch_size)
                except Exception:
                    # A long-running worker outlives a database restart; a draining one
                    # (dispatch, tests) reports the failure instead of waiting forever.
                    if drain is not None:
                        raise
                    _log.warning("claiming failed; trying again shortly", exc_info=True)
                    await _wait(stop, max(idle_sleep, 1.0))
                    continue
                for delivery in claimed:
                    work.put_nowait(delivery)
                self._idle = not claimed
                if claimed:
                    continue
                if not self._inflight:
                    if drain is not None and not await self._open(self.clock.now() + drain):
                        return
                    await _wait(stop, idle_sleep)
                    continue
            freed.clear()
            await _wait(freed, idle_sleep)

    async def _open(self, until: dt.datetime) -> int:
        async with self.uow_factory() as uow:
            return await uow.deliveries.count_open(until)

    async def _send_loop(
        self, work: asyncio.Queue[Delivery | None], done: asyncio.Queue[_Outcome | None]
    ) -> None:
        while (delivery := await work.get()) is not None:
            try:
                outcome = await self._attempt(delivery)
            except Exception as exc:  # one bad message must not stop the worker
                _log.exception("sending delivery %s failed unexpectedly", delivery.id)
                outcome = _Outcome(
                    delivery=delivery,
                    kind=_Kind.UNKNOWN,
                    at=self.clock.now(),
                    code=OUTCOME_UNKNOWN,
                    message=f"unexpected {type(exc).__name__}",
                )
            done.put_nowait(outcome)

    async def _record_loop(
        self, done: asyncio.Queue[_Outcome | None], freed: asyncio.Event
    ) -> None:
        pending: list[_Outcome] = []
        finished = False
        while not finished:
            # Wait for the first outcome of a batch; then give the rest a short while to join.
            # What is already queued is taken without waiting: ``wait_for`` builds a task per
            # call, a cost per message at thousands of messages a second.
            if done.empty():
                timeout = self.config.flush_interval if pending else None
                try:
                    item = await asyncio.wait_for(done.get(), timeout)
                except TimeoutError:
                    item = _FLUSH
            else:
                item = done.get_nowait()
            if item is None:
                finished = True
            elif item is not _FLUSH:
                pending.append(item)
                if len(pending) < self.config.batch_size:
                    continue
            if pending:
                batch, pending = pending, []
                await self._record_safely(batch)
                freed.set()

    async def _heartbeat_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _wait(stop, self.config.heartbeat)
            ids = list(self._inflight)
            if not ids:
                continue
            until = self.clock.now() + self.config.lease
            try:
                async with self.uow_factory() as uow:
                    kept = await uow.deliveries.extend_leases(self.config.owner, ids, until)
                    await uow.commit()
            except Exception:  # the next beat tries again; leases run ~30 s
                _log.warning("lease heartbeat failed", exc_info=True)
                continue
            lost = [i for i in ids if i not in kept and i in self._inflight]
            if lost:
                _log.warning("%d leases were taken over while in flight", len(lost))

    async def _bookkeeping_loop(self, stop: asyncio.Event) -> None:
        # Marking packs delivered (a pack read and an audit event each) would take CPU from
        # sending during a burst: it waits for a lull in claims, or ten seconds at most.
        waited = 0.0
        while not stop.is_set():
            await _wait(stop, 0.5)
            waited += 0.5
            if self._idle or waited >= 10.0:
                await self._flush_delivered()
                waited = 0.0

    # -- claim -------------------------------------------------------------------------------

    async def _claim(self, now: dt.datetime, limit: int) -> list[Delivery]:
        async with self.uow_factory() as uow:
            claimed = list(
                await uow.deliveries.claim_due(
                    now, limit, owner=self.config.owner, until=now + self.config.lease
                )
            )
            if not claimed:
                return []
            if time.monotonic() - self._packs_loaded > _PACK_CACHE_SECONDS:
                self._packs.clear()
                self._verdicts.clear()
                self._hashes.clear()
                self._snapshots.clear()
                self._texts.clear()
                self._packs_loaded = time.monotonic()
            # A delivery planned with its message hash needs one language of its pack; the
            # others (SMS backups, deliveries planned before message hashes) the whole pack.
            # Not ``set - keys()``: that would hash every cached key once per claim.
            wanted = {
                (d.pack_id, d.language)
                for d in claimed
                if _planned_text(d) and (d.pack_id, d.language) not in self._snapshots
            }
            if wanted:
                self._snapshots.update(await uow.content.variants_for(wanted))
            missing = {
                d.pack_id for d in claimed if not _planned_text(d) and d.pack_id not in self._packs
            }
            if missing:
                self._packs.update(await uow.content.get_many(missing))
            await uow.commit()
        self.stats.claimed += len(claimed)
        for delivery in claimed:
            self._inflight.add(delivery.id)
        return claimed

    # -- send --------------------------------------------------------------------------------

    def _outcome(self, delivery: Delivery, kind: _Kind, **fields: Any) -> _Outcome:
        return _Outcome(delivery=delivery, kind=kind, at=self.clock.now(), **fields)

    def _integrity(self, pack: ContentPack) -> str | None:
        """Why ``pack`` must not be sent (``None``: it is what was approved). Hashed once per
        pack and worker run: the cache holds packs as read, and a pack edited later is a new
        version under another id."""
        if pack.id in self._verdicts:
            return self._verdicts[pack.id]
        digest = pack.content_hash
        problem = None
        if pack.approved_hash is None or digest != pack.approved_hash:
            problem = (
                f"pack {pack.id} no longer matches what was approved: its content hashes to "
                f"{digest}, the approved hash is {pack.approved_hash or 'missing'}"
            )
        self._verdicts[pack.id] = problem
        self._hashes[pack.id] = digest
        return problem

    def _planned(self, delivery: Delivery) -> str | None:
        """The text to send for a delivery planned with its message hash, when everything is
        as planned: the pack still sendable under the approved hash it was planned with, and
        its text in the delivery's language still hashing to the message hash. ``None``
        otherwise, and the whole pack decides why (pulled, re-approved, altered)."""
        key = (delivery.pack_id, delivery.language)
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            # The cache was cleared by a later claim while this waited for a sender.
            return None
        if not snapshot.sendable or snapshot.approved_hash != delivery.content_hash:
            return None
        if key not in self._texts:
            variant = snapshot.variant
            if variant is None:
                self._texts[key] = None
            else:
                text = variant.render()
                self._texts[key] = (text, message_hash(text))
        rendered = self._texts[key]
        if rendered is None or rendered[1] != delivery.message_hash:
            return None
        return rendered[0]

    async def _attempt(self, delivery: Delivery) -> _Outcome:
        if not delivery.to:
            _log.error(
                "delivery %s has no number to send to (advisor erased, or data key missing)",
                delivery.id,
            )
            return self._outcome(
                delivery,
                _Kind.INTEGRITY,
                code=NUMBER_UNAVAILABLE,
                message="no number to send to: the advisor was erased or their data key is gone",
            )
        if _planned_text(delivery):
            text = self._planned(delivery)
            if text is not None:
                return await self._send_whatsapp(delivery, text)
        pack = self._packs.get(delivery.pack_id)
        if pack is None:
            # Not as planned (rare), or the cache was cleared by a later claim while this
            # waited for a sender: read the whole pack, whose check below says what changed,
            # exactly as for a delivery planned without a message hash.
            async with self.uow_factory() as uow:
                pack = self._packs[delivery.pack_id] = await uow.content.get(delivery.pack_id)
        # What is sent must be byte-for-byte what was approved and planned.
        problem = self._integrity(pack)
        if problem is not None:
            return self._outcome(delivery, _Kind.INTEGRITY, code=CONTENT_INTEGRITY, message=problem)
        if self._hashes[pack.id] != delivery.content_hash or pack.status not in PLANNED_SENDABLE:
            return self._outcome(
                delivery,
                _Kind.INTEGRITY,
                code=CONTENT_CHANGED,
                message="the pack changed or was withdrawn after planning",
            )
        if delivery.channel is Channel.SMS:
            return self._stale(delivery) or await self._send_sms(delivery, pack)
        return await self._send_whatsapp(delivery, pack.variants[delivery.language].render())

    def _stale(self, delivery: Delivery) -> _Outcome | None:
        if self.clock.now() > delivery.sla_target + self.config.stale_after:
            return self._outcome(
                delivery, _Kind.STALE, code=STALE, message="its morning is long over"
            )
        return None

    async def _send_whatsapp(self, delivery: Delivery, text: str) -> _Outcome:
        stale = self._stale(delivery)
        if stale is not None:
            return stale
        if needs_sms_now(self.clock.now(), delivery.sla_target, self.config.retry):
            return self._outcome(
                delivery, _Kind.HANDOFF, code=SLA_CUTOFF, message="not sent by the SMS cutoff"
            )
        message = OutboundText(to=delivery.to, body=text, callback_data=str(delivery.id))
        try:
            receipt = await self.whatsapp.send_text(message)
        except ProviderError as exc:
            return self._refused(delivery, exc)
        except UnavailableError as exc:
            return self._unavailable(delivery, exc)
        return self._outcome(delivery, _Kind.SENT, message_id=receipt.message_id)

    async def _send_sms(self, delivery: Delivery, pack: ContentPack) -> _Outcome:
        if self.sms is None:
            return self._outcome(
                delivery, _Kind.REFUSED, code=SMS_NOT_CONFIGURED, message="no SMS gateway"
            )
        try:
            receipt = await self.sms.sender.send_sms(self.sms.compose(delivery, pack))
        except ValidationError as exc:
            return self._outcome(delivery, _Kind.REFUSED, code=SMS_INVALID, message=str(exc))
        except ProviderError as exc:
            return self._refused(delivery, exc)
        except UnavailableError as exc:
            return self._unavailable(delivery, exc)
        return self._outcome(delivery, _Kind.SENT, message_id=receipt.message_id)

    def _refused(self, delivery: Delivery, exc: ProviderError) -> _Outcome:
        code = "unknown" if exc.provider_code is None else str(exc.provider_code)
        return self._outcome(
            delivery,
            _Kind.REFUSED,
            code=code,
            message=exc.message,
            classification=exc.classification,
        )

    def _unavailable(self, delivery: Delivery, exc: UnavailableError) -> _Outcome:
        kind = _Kind.UNKNOWN if exc.outcome_unknown else _Kind.UNREACHABLE
        return self._outcome(delivery, kind, code=PROVIDER_UNAVAILABLE, message=str(exc))

    # -- record ------------------------------------------------------------------------------

    async def _record_safely(self, outcomes: Sequence[_Outcome]) -> None:
        try:
            for attempt in range(_RECORD_ATTEMPTS):
                try:
                    await self._record(outcomes)
                    return
                except Exception:
                    # A deadlock with a webhook writing the same rows, a dropped connection:
                    # the transaction rolled back whole, so trying again is safe.
                    if attempt == _RECORD_ATTEMPTS - 1:
                        raise
                    _log.warning("recording outcomes failed; trying again", exc_info=True)
                    await asyncio.sleep(0.05 * (attempt + 1) * (0.5 + self.rand()))
        except Exception:  # leases expire and recovery settles these
            self.stats.record_errors += 1
            _log.exception("recording %d outcomes failed; their leases will expire", len(outcomes))
        finally:
            for outcome in outcomes:
                self._inflight.discard(outcome.delivery.id)

    async def _record(self, outcomes: Sequence[_Outcome]) -> None:
        now = self.clock.now()
        async with self.uow_factory() as uow:
            ids = [o.delivery.id for o in outcomes]
            held = await uow.deliveries.held_by(self.config.owner, ids)
            # What we no longer hold was taken over or settled by a receipt: read those back
            # (rarely more than a few). What we hold is as we claimed it: while a lease is
            # ours only the heartbeat touches the row, and only its lease expiry.
            others = await uow.deliveries.get_many(i for i in ids if i not in held)
            updated: list[Delivery] = []
            backups: list[Delivery] = []
            delivered_packs: set[uuid.UUID] = set()
            integrity: list[tuple[Delivery, _Outcome]] = []
            settled: list[Delivery] = []
            for outcome in outcomes:
                delivery = outcome.delivery
                if delivery.id not in held:
                    delivery = others[delivery.id]
                    if delivery.status is DeliveryStatus.SENDING:
                        # Taken over: our lease expired and another worker holds it now.
                        self.stats.lost_leases += 1
                    else:
                        # A status webhook settled it first (it names our delivery id).
                        self.stats.settled_by_receipt += 1
                        settled.append(delivery)
                    continue
                if outcome.kind is _Kind.INTEGRITY and outcome.code == CONTENT_INTEGRITY:
                    integrity.append((delivery, outcome))
                new, backup = self._settle(delivery, outcome, now)
                updated.append(new)
                if backup is not None:
                    backups.append(backup)
                if outcome.kind is _Kind.SENT and not delivery.fallback:
                    delivered_packs.add(delivery.pack_id)
            await uow.deliveries.update_many(updated)
            await uow.deliveries.add_many(backups)
            await self._report_integrity(uow, integrity)
            await uow.commit()
        self._delivered |= delivered_packs
        if self.on_progress is not None:
            for delivery in [*updated, *settled]:
                self.on_progress(delivery)

    def _settle(
        self, delivery: Delivery, outcome: _Outcome, now: dt.datetime
    ) -> tuple[Delivery, Delivery | None]:
        """The delivery after ``outcome``, and the SMS backup it needs, if any."""
        code, message = outcome.code or "unknown", outcome.message
        if outcome.kind is _Kind.SENT:
            assert outcome.message_id is not None
            self.stats.sent += delivery.channel is Channel.WHATSAPP
            self.stats.sms_sent += delivery.channel is Channel.SMS
            return delivery.mark_sent(outcome.message_id, outcome.at), None
        if outcome.kind is _Kind.INTEGRITY:
            # Content that is not what was approved goes nowhere, not even by SMS.
            self.stats.failed += 1
            return delivery.mark_failed(code, message, outcome.at), None
        if outcome.kind is _Kind.STALE:
            self.stats.failed += 1
            return delivery.expire(outcome.at, code=code, message=message), None
        if outcome.kind is _Kind.HANDOFF:
            return self._to_sms(delivery.expire(outcome.at, code=code, message=message), now)
        if outcome.kind is _Kind.UNKNOWN:
            return self._after_unknown(delivery, outcome, now)
        classification = outcome.classification or classify(
            None if outcome.kind is _Kind.UNREACHABLE else _numeric(code)
        )
        if delivery.channel is Channel.SMS:
            return self._sms_failed(delivery, outcome, classification, now), None
        decision = decide(
            self.config.retry,
            classification=classification,
            attempts_made=delivery.attempts,
            now=now,
            sla_deadline=delivery.sla_target,
            rand=self.rand(),
        )
        failure_class = classification.failure_class.value
        if decision.action is Action.RETRY:
            assert decision.at is not None
            self.stats.retried += 1
            retry = delivery.schedule_retry(
                decision.at, error_code=code, error_message=message, failure_class=failure_class
            )
            return retry, None
        failed = delivery.mark_failed(code, message, outcome.at, failure_class=failure_class)
        if decision.action is Action.SMS:
            return self._to_sms(failed, now)
        self.stats.failed += 1
        return failed, None

    def _sms_failed(
        self,
        delivery: Delivery,
        outcome: _Outcome,
        classification: Classification,
        now: dt.datetime,
    ) -> Delivery:
        code = outcome.code or "unknown"
        # The gateway's own "try later" answers, or no connection at all; any other refusal
        # (an invalid number, DND, a DLT mismatch) would be refused again.
        retryable = outcome.kind is _Kind.UNREACHABLE or code in _SMS_RETRYABLE
        in_time = now < delivery.sla_target
        if retryable and in_time and delivery.attempts < self.config.retry.max_attempts:
            self.stats.retried += 1
            return delivery.schedule_retry(
                now + dt.timedelta(seconds=1), error_code=code, error_message=outcome.message
            )
        self.stats.failed += 1
        return delivery.mark_failed(
            code, outcome.message, outcome.at, failure_class=classification.failure_class.value
        )

    def _to_sms(self, given_up: Delivery, now: dt.datetime) -> tuple[Delivery, Delivery | None]:
        # No gateway, or no number to text either (an erased advisor, a missing data key: a
        # backup could not even be stored, its number being sealed under that key).
        if self.sms is None or not given_up.to:
            self.stats.failed += 1
            return given_up, None
        self.stats.sms_handoffs += 1
        return given_up, given_up.sms_backup(id=self.ids.new_id(), now=now)

    def _after_unknown(
        self, delivery: Delivery, outcome: _Outcome, now: dt.datetime
    ) -> tuple[Delivery, Delivery | None]:
        decision = recover(
            delivery,
            policy=self.config.send_policy,
            retry=self.config.retry,
            receipt_wait=self.config.receipt_wait,
            now=now,
        )
        code = outcome.code or OUTCOME_UNKNOWN
        if decision.action is Recovery.WAIT:
            assert decision.until is not None
            self.stats.awaiting_receipt += 1
            return delivery.relet(AWAITING_RECEIPT, decision.until), None
        if decision.action is Recovery.RESEND:
            self.stats.resent += 1
            return delivery.schedule_retry(
                now, error_code=code, error_message=outcome.message or decision.reason
            ), None
        failed = delivery.mark_failed(
            OUTCOME_UNKNOWN, f"{decision.reason} ({outcome.message})".strip(), now
        )
        if decision.action is Recovery.SMS:
            return self._to_sms(failed, now)
        self.stats.failed += 1
        return failed, None

    # -- recovery of expired leases ----------------------------------------------------------

    async def _recover(self, now: dt.datetime) -> None:
        """Settle deliveries whose worker died or whose receipt wait ended."""
        try:
            async with self.uow_factory() as uow:
                expired = await uow.deliveries.expired_leases(now, self.config.batch_size)
                if not expired:
                    return
                updated: list[Delivery] = []
                backups: list[Delivery] = []
                for delivery in expired:
                    outcome = _Outcome(
                        delivery=delivery,
                        kind=_Kind.UNKNOWN,
                        at=now,
                        code=OUTCOME_UNKNOWN,
                        message=f"lease of {delivery.lease_owner or 'nobody'} expired",
                    )
                    new, backup = self._after_unknown(delivery, outcome, now)
                    updated.append(new)
                    if backup is not None:
                        backups.append(backup)
                await uow.deliveries.update_many(updated)
                await uow.deliveries.add_many(backups)
                missing = {d.pack_id for d in backups} - self._packs.keys()
                if missing:
                    self._packs.update(await uow.content.get_many(missing))
                await uow.commit()
        except Exception:  # recovery runs again within a second
            _log.warning("recovering expired leases failed", exc_info=True)
            return
        self.stats.recovered += len(expired)

    # -- side effects on packs and incidents --------------------------------------------------

    async def _flush_delivered(self) -> None:
        """Mark the packs whose delivery went out as delivered, with their audit events.

        Kept off the sending path (it runs with lease recovery, about once a second, and when
        the worker stops): it is bookkeeping about content, not part of the SLA, and a crash
        before it runs loses nothing a later run cannot redo from the deliveries.
        """
        pack_ids, self._delivered = self._delivered, set()
        if not pack_ids:
            return
        now = self.clock.now()
        try:
            async with self.uow_factory() as uow:
                packs = await uow.content.get_many(pack_ids)
                changes = []
                altered: list[tuple[uuid.UUID, uuid.UUID | None, str]] = []
                for pack in packs.values():
                    if pack.advisor_id is None or pack.status not in _DELIVERABLE:
                        continue
                    try:
                        changes.append(
                            approval.mark_delivered(pack, Actor.system(), now, self.ids.new_id())
                        )
                    except InvalidTransitionError as exc:
                        # Altered at rest after its message went out (what went out was
                        # checked against the approved hash). Reported, and left out: retrying
                        # it would hold back every other pack's bookkeeping for good.
                        altered.append((pack.id, pack.advisor_id, str(exc)))
                await uow.content.update_statuses(c.pack for c in changes)
                await uow.audit.append([c.event for c in changes])
                for pack_id, advisor_id, why in altered:
                    await self._open_integrity_incident(
                        uow,
                        pack_id,
                        advisor_id,
                        title=f"Content pack {pack_id} changed after it was sent",
                        description=f"found when marking it delivered: {why}",
                        at=now,
                    )
                await uow.commit()
        except Exception:  # the next flush tries again
            self._delivered |= pack_ids
            _log.warning("marking %d packs delivered failed", len(pack_ids), exc_info=True)

    async def _report_integrity(
        self, uow: UnitOfWork, failures: Sequence[tuple[Delivery, _Outcome]]
    ) -> None:
        """Open one delivery-integrity incident per altered pack (with its audit event)."""
        by_pack: dict[uuid.UUID, tuple[Delivery, _Outcome]] = {}
        for delivery, outcome in failures:
            by_pack.setdefault(delivery.pack_id, (delivery, outcome))
        for pack_id, (delivery, outcome) in by_pack.items():
            await self._open_integrity_incident(
                uow,
                pack_id,
                delivery.advisor_id,
                title=f"Content pack {pack_id} changed after approval; sending refused",
                description=outcome.message,
                at=outcome.at,
            )

    async def _open_integrity_incident(
        self,
        uow: UnitOfWork,
        pack_id: uuid.UUID,
        advisor_id: uuid.UUID | None,
        *,
        title: str,
        description: str,
        at: dt.datetime,
    ) -> None:
        """A critical delivery-integrity incident about ``pack_id``, with its audit event,
        unless one is already recorded for that pack."""
        already = await uow.incidents.list(pack_id=pack_id)
        if any(i.type is IncidentType.DELIVERY_INTEGRITY for i in already):
            return
        change = open_incident(
            incident_id=self.ids.new_id(),
            type=IncidentType.DELIVERY_INTEGRITY,
            severity=IncidentSeverity.CRITICAL,
            title=title,
            description=description,
            actor=Actor.system(),
            now=at,
            event_id=self.ids.new_id(),
            pack_id=pack_id,
            advisor_id=advisor_id,
        )
        await uow.incidents.add(change.incident)
        await uow.audit.append([change.event])


def _planned_text(delivery: Delivery) -> bool:
    """Whether ``delivery`` is checked by its message hash (one language of its pack) rather
    than against the whole pack."""
    return delivery.message_hash is not None and delivery.channel is Channel.WHATSAPP


def _numeric(code: str) -> int | None:
    return int(code) if code.isdigit() else None


async def _wait(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
