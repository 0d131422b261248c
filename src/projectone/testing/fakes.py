"""In-memory fakes of projectone's ports, for fast unit tests of code built on projectone.

They behave like the real adapters where a test could tell the difference: a unit of work
stages its changes and applies them to the shared :class:`InMemoryStore` only on commit;
uniqueness, foreign keys and the row checks of the SQL schema raise the same
``ConflictError`` (same entity, same constraint name) at the same moment; reads come back in
the same order. The repository contract tests run against these fakes and the SQL adapter
alike, which keeps the two honest.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar

import attrs

from projectone.domain.advisor import Advisor, AdvisorStatus
from projectone.domain.ai import AiFinding, AiJob, AiStage, CachedAnswer, ReviewResult
from projectone.domain.audit import GENESIS_HASH, AuditDraft, AuditEvent
from projectone.domain.consent import ConsentRecord
from projectone.domain.content import ContentPack, ContentStatus, ContentVariant, VariantSnapshot
from projectone.domain.delivery import STATE_FIELDS, Channel, Delivery, DeliveryStatus, Variant
from projectone.domain.errors import (
    ConflictError,
    InvalidTransitionError,
    KeyStoreError,
    NotFoundError,
    ProviderError,
    SubjectErasedError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.fallback import LibraryEntry, SelectionRecord
from projectone.domain.inbound import InboundMessage
from projectone.domain.incident import Incident, IncidentStatus
from projectone.domain.language import Language
from projectone.domain.retention import PurgeCounts, RetentionCutoffs
from projectone.domain.timezone import IST
from projectone.ports.ai import AiCache, AiJobRepository, AiUsageRow
from projectone.ports.messaging import OutboundImage, OutboundTemplate, OutboundText, SendReceipt
from projectone.ports.privacy import (
    AuditAnchor,
    ConsentRepository,
    ErasureCounts,
    SubjectProfile,
    SubjectRepository,
)
from projectone.ports.repositories import (
    AdvisorRepository,
    AuditLog,
    ContentRepository,
    DeliveryRepository,
    FallbackRepository,
    InboundMessageRepository,
    IncidentRepository,
    Reachable,
)
from projectone.ports.sms import OutboundSms, SmsReceipt

__all__ = [
    "FakeComplianceReviewer",
    "FakeSmsSender",
    "FakeWhatsAppSender",
    "FixedClock",
    "InMemoryAdvisorRepository",
    "InMemoryAiCache",
    "InMemoryAiJobRepository",
    "InMemoryAuditLog",
    "InMemoryConsentRepository",
    "InMemoryContentRepository",
    "InMemoryDeliveryRepository",
    "InMemoryFallbackRepository",
    "InMemoryInboundMessageRepository",
    "InMemoryIncidentRepository",
    "InMemoryStore",
    "InMemorySubjectRepository",
    "InMemoryTransaction",
    "InMemoryUnitOfWork",
    "InMemoryUnitOfWorkFactory",
    "ManualClock",
    "SequentialIds",
]

_Row = TypeVar("_Row")

# Table names as in the SQL schema, so ConflictError.entity reads the same.
_ADVISORS = "advisors"
_PACKS = "content_packs"
_DELIVERIES = "deliveries"
_AUDIT = "audit_events"
_INCIDENTS = "incidents"
_LIBRARY = "fallback_library"
_SELECTIONS = "fallback_selections"
_AI_JOBS = "ai_jobs"
_AI_CACHE = "ai_cache"
_INBOUND = "inbound_messages"
_CONSENTS = "consents"


@attrs.define
class InMemoryStore:
    """The committed state several :class:`InMemoryUnitOfWork` instances share (the "database").

    Reading it directly is fine in assertions; write through a unit of work.
    """

    advisors: dict[uuid.UUID, Advisor] = attrs.field(factory=dict)
    packs: dict[uuid.UUID, ContentPack] = attrs.field(factory=dict)
    deliveries: dict[uuid.UUID, Delivery] = attrs.field(factory=dict)
    #: The audit chain, in sequence order (append-only: nothing ever rewrites it).
    audit: list[AuditEvent] = attrs.field(factory=list)
    incidents: dict[uuid.UUID, Incident] = attrs.field(factory=dict)
    #: The fallback library by pack id, and the fallback selections by id.
    library: dict[uuid.UUID, LibraryEntry] = attrs.field(factory=dict)
    selections: dict[uuid.UUID, SelectionRecord] = attrs.field(factory=dict)
    #: Inbound WhatsApp messages by the provider's message id.
    inbound: dict[str, InboundMessage] = attrs.field(factory=dict)
    #: AI jobs by id, and cached AI answers by key.
    ai_jobs: dict[uuid.UUID, AiJob] = attrs.field(factory=dict)
    ai_cache: dict[str, CachedAnswer] = attrs.field(factory=dict)
    #: Consent records by id.
    consents: dict[uuid.UUID, ConsentRecord] = attrs.field(factory=dict)
    #: Erased advisors: when each was erased. Their entry in ``advisors`` stays (what refers
    #: to them still does), cancelled and with placeholders for the personal fields, which
    #: are gone as they are from the SQL row.
    erased: dict[uuid.UUID, dt.datetime] = attrs.field(factory=dict)


_K = TypeVar("_K")
_V = TypeVar("_V")


def _live(
    committed: Mapping[_K, _V], staged: Mapping[_K, _V], gone: set[Any] | None
) -> dict[_K, _V]:
    merged = {**committed, **staged}
    for key in gone or ():
        merged.pop(key, None)
    return merged


def _conflict(entity: str, constraint: str) -> ConflictError:
    reason = "already exists" if constraint.startswith(("uq_", "pk_")) else f"violates {constraint}"
    if constraint.startswith("fk_"):
        reason = "refers to a row that does not exist"
    return ConflictError(entity, constraint, reason)


class InMemoryTransaction:
    """Changes staged on top of a store: what one unit of work has written but not committed."""

    def __init__(self, store: InMemoryStore) -> None:
        self.store = store
        self.advisors: dict[uuid.UUID, Advisor] = {}
        self.packs: dict[uuid.UUID, ContentPack] = {}
        self.deliveries: dict[uuid.UUID, Delivery] = {}
        self.audit: list[AuditEvent] = []
        self.incidents: dict[uuid.UUID, Incident] = {}
        self.library: dict[uuid.UUID, LibraryEntry] = {}
        self.selections: dict[uuid.UUID, SelectionRecord] = {}
        self.inbound: dict[str, InboundMessage] = {}
        self.ai_jobs: dict[uuid.UUID, AiJob] = {}
        # Cached answers written, and keys deleted, by this transaction (a key is in one or
        # the other, whichever happened last).
        self.ai_cache: dict[str, CachedAnswer] = {}
        self.ai_cache_deleted: set[str] = set()
        self.consents: dict[uuid.UUID, ConsentRecord] = {}
        self.erased: dict[uuid.UUID, dt.datetime] = {}
        # Keys deleted by this transaction, by table (a deleted key is never also staged).
        self.deleted: dict[str, set[Any]] = {}
        # The audit events up to this sequence are deleted (a retention purge: a prefix).
        self.audit_purged_through = 0
        # Ids this transaction inserted (not updated): a commit must find them still free.
        self._inserted: set[tuple[str, Any]] = set()
        self.failed = False

    def _staged(self, table: str) -> dict[Any, Any]:
        staged: dict[str, dict[Any, Any]] = {
            _ADVISORS: self.advisors,
            _PACKS: self.packs,
            _DELIVERIES: self.deliveries,
            _INCIDENTS: self.incidents,
            _LIBRARY: self.library,
            _SELECTIONS: self.selections,
            _INBOUND: self.inbound,
            _AI_JOBS: self.ai_jobs,
            _CONSENTS: self.consents,
        }
        return staged[table]

    def _committed(self, table: str) -> dict[Any, Any]:
        committed: dict[str, dict[Any, Any]] = {
            _ADVISORS: self.store.advisors,
            _PACKS: self.store.packs,
            _DELIVERIES: self.store.deliveries,
            _INCIDENTS: self.store.incidents,
            _LIBRARY: self.store.library,
            _SELECTIONS: self.store.selections,
            _INBOUND: self.store.inbound,
            _AI_JOBS: self.store.ai_jobs,
            _CONSENTS: self.store.consents,
        }
        return committed[table]

    # -- views: the store as this transaction sees it (its own writes included) -------------

    def all_advisors(self) -> dict[uuid.UUID, Advisor]:
        return {**self.store.advisors, **self.advisors}

    def all_packs(self) -> dict[uuid.UUID, ContentPack]:
        return _live(self.store.packs, self.packs, self.deleted.get(_PACKS))

    def all_deliveries(self) -> dict[uuid.UUID, Delivery]:
        return _live(self.store.deliveries, self.deliveries, self.deleted.get(_DELIVERIES))

    def all_audit(self) -> list[AuditEvent]:
        chain = [*self.store.audit, *self.audit]
        if self.audit_purged_through:
            chain = [e for e in chain if e.sequence > self.audit_purged_through]
        return chain

    def all_incidents(self) -> dict[uuid.UUID, Incident]:
        return {**self.store.incidents, **self.incidents}

    def all_library(self) -> dict[uuid.UUID, LibraryEntry]:
        return {**self.store.library, **self.library}

    def all_selections(self) -> dict[uuid.UUID, SelectionRecord]:
        return _live(self.store.selections, self.selections, self.deleted.get(_SELECTIONS))

    def all_inbound(self) -> dict[str, InboundMessage]:
        return _live(self.store.inbound, self.inbound, self.deleted.get(_INBOUND))

    def all_ai_jobs(self) -> dict[uuid.UUID, AiJob]:
        return _live(self.store.ai_jobs, self.ai_jobs, self.deleted.get(_AI_JOBS))

    def all_consents(self) -> dict[uuid.UUID, ConsentRecord]:
        return _live(self.store.consents, self.consents, self.deleted.get(_CONSENTS))

    def all_erased(self) -> dict[uuid.UUID, dt.datetime]:
        return {**self.store.erased, **self.erased}

    def all_ai_cache(self) -> dict[str, CachedAnswer]:
        merged = {**self.store.ai_cache, **self.ai_cache}
        for key in self.ai_cache_deleted:
            merged.pop(key, None)
        return merged

    # -- writes --------------------------------------------------------------------------------

    def insert_advisor(self, advisor: Advisor) -> None:
        self._guard(lambda: self._check_insert(_ADVISORS, advisor.id, self.all_advisors()))
        self._guard(lambda: _check_advisor(advisor, self.all_advisors(), self.all_erased()))
        self.advisors[advisor.id] = advisor
        self._inserted.add((_ADVISORS, advisor.id))

    def insert_pack(self, pack: ContentPack) -> None:
        self._guard(lambda: self._check_insert(_PACKS, pack.id, self.all_packs()))
        self._guard(lambda: _check_pack(pack, self.all_advisors(), self.all_packs()))
        self._stage(_PACKS, pack.id, pack)

    def insert_delivery(self, delivery: Delivery) -> None:
        self._guard(lambda: self._check_insert(_DELIVERIES, delivery.id, self.all_deliveries()))
        self._guard(lambda: self._check_delivery(delivery))
        self._stage(_DELIVERIES, delivery.id, delivery)

    def update_advisor(self, advisor: Advisor) -> None:
        if advisor.id not in self.all_advisors():
            raise NotFoundError("advisor", advisor.id)
        if advisor.id in self.all_erased():
            # Personal fields on an erased row: refused by the row check, as in SQL.
            self.refuse(_ADVISORS, "ck_advisors_personal_unless_erased")
        self._guard(lambda: _check_advisor(advisor, self.all_advisors(), self.all_erased()))
        self.advisors[advisor.id] = advisor

    def erase_advisor(self, advisor: Advisor, now: dt.datetime) -> None:
        """Mark ``advisor`` (already stripped of personal data) erased at ``now``."""
        self.advisors[advisor.id] = advisor
        self.erased[advisor.id] = now

    def update_pack(self, pack: ContentPack) -> None:
        if pack.id not in self.all_packs():
            raise NotFoundError("content_pack", pack.id)
        self._guard(lambda: _check_pack(pack, self.all_advisors(), self.all_packs()))
        self.packs[pack.id] = pack

    def append_audit(self, events: Sequence[AuditEvent]) -> None:
        self.audit.extend(events)

    def insert_incident(self, incident: Incident) -> None:
        self._guard(lambda: self._check_insert(_INCIDENTS, incident.id, self.all_incidents()))
        self._guard(lambda: self._check_incident(incident))
        self.incidents[incident.id] = incident
        self._inserted.add((_INCIDENTS, incident.id))

    def update_incident(self, incident: Incident) -> None:
        if incident.id not in self.all_incidents():
            raise NotFoundError("incident", incident.id)
        self._guard(lambda: self._check_incident(incident))
        self.incidents[incident.id] = incident

    def _check_incident(self, incident: Incident) -> None:
        _check_incident(incident, self.all_advisors(), self.all_packs())

    def insert_entry(self, entry: LibraryEntry) -> None:
        self._guard(lambda: self._check_insert(_LIBRARY, entry.pack_id, self.all_library()))
        self._guard(lambda: _check_entry(entry, self.all_packs()))
        self.library[entry.pack_id] = entry
        self._inserted.add((_LIBRARY, entry.pack_id))

    def update_entry(self, entry: LibraryEntry) -> None:
        if entry.pack_id not in self.all_library():
            raise NotFoundError("library_entry", entry.pack_id)
        self.library[entry.pack_id] = entry

    def insert_selection(self, record: SelectionRecord) -> None:
        self._guard(lambda: self._check_insert(_SELECTIONS, record.id, self.all_selections()))
        self._guard(
            lambda: _check_selection(
                record, self.all_advisors(), self.all_packs(), self.all_selections()
            )
        )
        self._stage(_SELECTIONS, record.id, record)

    def insert_ai_job(self, job: AiJob) -> None:
        self._guard(lambda: self._check_insert(_AI_JOBS, job.id, self.all_ai_jobs()))
        self._guard(lambda: _check_ai_job(job, self.all_advisors()))
        self._stage(_AI_JOBS, job.id, job)

    def insert_inbound(self, message: InboundMessage) -> None:
        if message.advisor_id is not None and message.advisor_id not in self.all_advisors():
            self.refuse(_INBOUND, "fk_inbound_messages_advisor_id_advisors")
        self._stage(_INBOUND, message.provider_message_id, message)

    def insert_consent(self, record: ConsentRecord) -> None:
        self._guard(lambda: self._check_insert(_CONSENTS, record.id, self.all_consents()))
        self._guard(lambda: _check_consent(record, self.all_advisors()))
        self._stage(_CONSENTS, record.id, record)

    def update_consent(self, record: ConsentRecord) -> None:
        if record.id not in self.all_consents():
            raise NotFoundError("consent", record.id)
        self._guard(lambda: _check_consent(record, self.all_advisors()))
        self.consents[record.id] = record

    def delete(self, table: str, keys: Iterable[Any]) -> None:
        """Delete the rows of ``table`` with these keys (staged, like every write)."""
        staged = self._staged(table)
        gone = self.deleted.setdefault(table, set())
        for key in keys:
            staged.pop(key, None)
            gone.add(key)
            self._inserted.discard((table, key))

    def purge_audit_through(self, sequence: int) -> None:
        """Delete the audit events up to ``sequence`` (the oldest ones: a prefix)."""
        self.audit_purged_through = max(self.audit_purged_through, sequence)
        self.audit = [e for e in self.audit if e.sequence > sequence]

    def _stage(self, table: str, key: Any, row: object) -> None:
        # A new row: staged, no longer deleted if this transaction deleted its key before.
        self._staged(table)[key] = row
        self.deleted.get(table, set()).discard(key)
        self._inserted.add((table, key))

    def put_cached(self, answer: CachedAnswer) -> None:
        self.ai_cache_deleted.discard(answer.key)
        self.ai_cache[answer.key] = answer

    def delete_cached(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.ai_cache.pop(key, None)
            self.ai_cache_deleted.add(key)

    def update_delivery(self, delivery: Delivery) -> None:
        if delivery.id not in self.all_deliveries():
            raise NotFoundError("delivery", delivery.id)
        self._guard(lambda: self._check_delivery(delivery))
        self.deliveries[delivery.id] = delivery

    def _check_insert(self, table: str, key: Any, existing: Container[Any]) -> None:
        if key in existing:
            raise _conflict(table, f"pk_{table}")

    def _check_delivery(self, delivery: Delivery) -> None:
        _check_delivery(delivery, self.all_advisors(), self.all_packs(), self.all_deliveries())

    def refuse(self, table: str, constraint: str) -> NoReturn:
        """Fail like a statement breaking ``constraint`` (see :meth:`_guard`)."""
        self.discard()
        self.failed = True
        raise _conflict(table, constraint)

    def _guard(self, check: Callable[[], None]) -> None:
        # Like the SQL adapter: a constraint violation discards everything staged so far.
        try:
            check()
        except ConflictError:
            self.discard()
            self.failed = True
            raise

    # -- end of transaction ------------------------------------------------------------------

    def discard(self) -> None:
        self.advisors.clear()
        self.packs.clear()
        self.deliveries.clear()
        self.audit.clear()
        self.incidents.clear()
        self.library.clear()
        self.selections.clear()
        self.inbound.clear()
        self.ai_jobs.clear()
        self.ai_cache.clear()
        self.ai_cache_deleted.clear()
        self.consents.clear()
        self.erased.clear()
        self.deleted.clear()
        self.audit_purged_through = 0
        self._inserted.clear()

    def apply(self) -> None:
        """Re-check everything against the store as it is now, then write it all or nothing."""
        self._guard(self._check_all)
        # Like the SQL statements, run in order: deletes first, then writes.
        for table, keys in self.deleted.items():
            committed = self._committed(table)
            for key in keys:
                committed.pop(key, None)
        self.store.advisors.update(self.advisors)
        self.store.erased.update(self.erased)
        self.store.packs.update(self.packs)
        self.store.deliveries.update(self.deliveries)
        if self.audit_purged_through:
            self.store.audit[:] = self.all_audit()
        else:
            self.store.audit.extend(self.audit)
        self.store.incidents.update(self.incidents)
        self.store.library.update(self.library)
        self.store.selections.update(self.selections)
        # Like ON CONFLICT DO NOTHING: a message another unit of work recorded first stays.
        for key, message in self.inbound.items():
            self.store.inbound.setdefault(key, message)
        self.store.ai_jobs.update(self.ai_jobs)
        # Like the SQL statements, run in order: deletes, then upserts (last writer wins).
        for key in self.ai_cache_deleted:
            self.store.ai_cache.pop(key, None)
        self.store.ai_cache.update(self.ai_cache)
        self.store.consents.update(self.consents)
        self.discard()

    def _check_all(self) -> None:
        # Another unit of work may have committed since these rows were staged.
        tables = (
            _ADVISORS,
            _PACKS,
            _DELIVERIES,
            _INCIDENTS,
            _LIBRARY,
            _SELECTIONS,
            _INBOUND,
            _AI_JOBS,
            _CONSENTS,
        )
        # The chain may have grown since this transaction read its head: like the unique
        # sequence column, refuse a fork.
        if self.audit:
            kept = [e for e in self.store.audit if e.sequence > self.audit_purged_through]
            head = kept[-1].sequence if kept else 0
            if self.audit[0].sequence != head + 1:
                raise _conflict(_AUDIT, "uq_audit_events_sequence")
        for table, key in self._inserted:
            if key in self._committed(table) and table != _INBOUND:
                raise _conflict(table, f"pk_{table}")
        for table in tables:
            committed = self._committed(table)
            for key in self._staged(table):
                # Updated here, deleted (a retention purge) by another unit of work since.
                if (table, key) not in self._inserted and key not in committed:
                    raise NotFoundError(table, key)
        advisors, packs = self.all_advisors(), self.all_packs()
        erased = self.all_erased()
        for advisor in self.advisors.values():
            _check_advisor(advisor, advisors, erased)
        for pack in self.packs.values():
            _check_pack(pack, advisors, packs)
        deliveries = self.all_deliveries()
        for delivery in self.deliveries.values():
            _check_delivery(delivery, advisors, packs, deliveries)
        for incident in self.incidents.values():
            _check_incident(incident, advisors, packs)
        for entry in self.library.values():
            _check_entry(entry, packs)
        selections = self.all_selections()
        for record in self.selections.values():
            _check_selection(record, advisors, packs, selections)
        for job in self.ai_jobs.values():
            _check_ai_job(job, advisors)
        for consent in self.consents.values():
            _check_consent(consent, advisors)


def _check_advisor(
    advisor: Advisor, existing: dict[uuid.UUID, Advisor], erased: Container[uuid.UUID]
) -> None:
    # An erased advisor has no email or number left to clash with (NULL in SQL).
    if advisor.id in erased:
        return
    for other in existing.values():
        if other.id == advisor.id or other.id in erased:
            continue
        if other.registration_no == advisor.registration_no:
            raise _conflict(_ADVISORS, "uq_advisors_registration_no")
        if other.email.strip().casefold() == advisor.email.strip().casefold():
            raise _conflict(_ADVISORS, "uq_advisors_email_index")
        if other.whatsapp_number == advisor.whatsapp_number:
            raise _conflict(_ADVISORS, "uq_advisors_whatsapp_index")


def _check_consent(record: ConsentRecord, advisors: dict[uuid.UUID, Advisor]) -> None:
    if record.advisor_id not in advisors:
        raise _conflict(_CONSENTS, "fk_consents_advisor_id_advisors")


def _check_pack(
    pack: ContentPack, advisors: dict[uuid.UUID, Advisor], packs: dict[uuid.UUID, ContentPack]
) -> None:
    if pack.advisor_id is not None and pack.advisor_id not in advisors:
        raise _conflict(_PACKS, "fk_content_packs_advisor_id_advisors")
    if pack.parent_id is not None and pack.parent_id not in packs:
        raise _conflict(_PACKS, "fk_content_packs_parent_id_content_packs")
    if pack.status is ContentStatus.SCHEDULED and pack.scheduled_date is None:
        raise _conflict(_PACKS, "ck_content_packs_scheduled_has_date")
    if pack.status in _APPROVED_STATES and pack.approved_hash is None:
        raise _conflict(_PACKS, "ck_content_packs_approved_has_hash")
    if pack.status in _REVIEWED_STATES and pack.reviewer_id is None:
        raise _conflict(_PACKS, "ck_content_packs_reviewed_has_reviewer")


_APPROVED_STATES = frozenset(
    {ContentStatus.APPROVED, ContentStatus.SCHEDULED, ContentStatus.DELIVERED}
)
_REVIEWED_STATES = _APPROVED_STATES | {ContentStatus.REJECTED}


def _check_incident(
    incident: Incident, advisors: dict[uuid.UUID, Advisor], packs: dict[uuid.UUID, ContentPack]
) -> None:
    if incident.pack_id is not None and incident.pack_id not in packs:
        raise _conflict(_INCIDENTS, "fk_incidents_pack_id_content_packs")
    if incident.advisor_id is not None and incident.advisor_id not in advisors:
        raise _conflict(_INCIDENTS, "fk_incidents_advisor_id_advisors")


def _check_entry(entry: LibraryEntry, packs: dict[uuid.UUID, ContentPack]) -> None:
    if entry.pack_id not in packs:
        raise _conflict(_LIBRARY, "fk_fallback_library_pack_id_content_packs")


def _check_selection(
    record: SelectionRecord,
    advisors: dict[uuid.UUID, Advisor],
    packs: dict[uuid.UUID, ContentPack],
    selections: dict[uuid.UUID, SelectionRecord],
) -> None:
    if record.advisor_id not in advisors:
        raise _conflict(_SELECTIONS, "fk_fallback_selections_advisor_id_advisors")
    if record.pack_id not in packs:
        raise _conflict(_SELECTIONS, "fk_fallback_selections_pack_id_content_packs")
    for other in selections.values():
        if other.id != record.id and (other.advisor_id, other.date) == (
            record.advisor_id,
            record.date,
        ):
            raise _conflict(_SELECTIONS, "uq_fallback_selections_advisor_id_date")


def _check_ai_job(job: AiJob, advisors: dict[uuid.UUID, Advisor]) -> None:
    # The other CHECKs of ai_jobs (enums, token counts, latency, hash lengths) are enforced
    # by AiJob's own validators; the cost is not.
    if job.advisor_id is not None and job.advisor_id not in advisors:
        raise _conflict(_AI_JOBS, "fk_ai_jobs_advisor_id_advisors")
    if job.cost_inr < 0:
        raise _conflict(_AI_JOBS, "ck_ai_jobs_cost_inr_non_negative")


def _ordered(earlier: dt.datetime | None, later: dt.datetime | None) -> bool:
    return earlier is None or later is None or earlier <= later


def _check_delivery(
    delivery: Delivery,
    advisors: dict[uuid.UUID, Advisor],
    packs: dict[uuid.UUID, ContentPack],
    deliveries: dict[uuid.UUID, Delivery],
) -> None:
    if delivery.advisor_id not in advisors:
        raise _conflict(_DELIVERIES, "fk_deliveries_advisor_id_advisors")
    if delivery.pack_id not in packs:
        raise _conflict(_DELIVERIES, "fk_deliveries_pack_id_content_packs")
    if delivery.attempts < 0:
        raise _conflict(_DELIVERIES, "ck_deliveries_attempts_non_negative")
    if not _ordered(delivery.sent_at, delivery.delivered_at):
        raise _conflict(_DELIVERIES, "ck_deliveries_sent_before_delivered")
    if not _ordered(delivery.delivered_at, delivery.read_at):
        raise _conflict(_DELIVERIES, "ck_deliveries_delivered_before_read")
    if not _ordered(delivery.sent_at, delivery.read_at):
        raise _conflict(_DELIVERIES, "ck_deliveries_sent_before_read")
    if delivery.status is DeliveryStatus.FAILED and delivery.error_code is None:
        raise _conflict(_DELIVERIES, "ck_deliveries_failed_has_error_code")
    if delivery.backup_of is not None and delivery.channel is not Channel.SMS:
        raise _conflict(_DELIVERIES, "ck_deliveries_backup_is_sms")
    if delivery.backup_of is not None and delivery.backup_of not in deliveries:
        raise _conflict(_DELIVERIES, "fk_deliveries_backup_of_deliveries")
    if delivery.lease_owner is not None and delivery.status is not DeliveryStatus.SENDING:
        raise _conflict(_DELIVERIES, "ck_deliveries_lease_while_sending")
    key = _delivery_key(delivery)
    for other in deliveries.values():
        if other.id != delivery.id and _delivery_key(other) == key:
            raise _conflict(_DELIVERIES, "uq_deliveries_advisor_id_date_channel_variant")


def _delivery_key(d: Delivery) -> tuple[uuid.UUID, dt.date, Channel, Variant]:
    return (d.advisor_id, d.date, d.channel, d.variant)


def _by_schedule(d: Delivery) -> tuple[dt.datetime, int]:
    return (d.scheduled_for, d.id.int)


def _by_next_attempt(d: Delivery) -> tuple[dt.datetime, int]:
    return (d.next_attempt_at, d.id.int)


_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def _by_lease(d: Delivery) -> tuple[dt.datetime, int]:
    # Never leased sorts first here (SQL engines differ on NULL order); either way only the
    # order among rows that are all expired changes.
    return (d.lease_expires_at or _NEVER, d.id.int)


class InMemoryAdvisorRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, advisor: Advisor) -> None:
        self._tx.insert_advisor(advisor)

    async def add_many(self, advisors: Iterable[Advisor]) -> None:
        for advisor in advisors:
            self._tx.insert_advisor(advisor)

    async def get(self, advisor_id: uuid.UUID) -> Advisor:
        try:
            advisor = self._tx.all_advisors()[advisor_id]
        except KeyError:
            raise NotFoundError("advisor", advisor_id) from None
        erased_at = self._tx.all_erased().get(advisor_id)
        if erased_at is not None:
            raise SubjectErasedError(advisor_id, erased_at)
        return advisor

    async def update(self, advisor: Advisor) -> None:
        self._tx.update_advisor(advisor)

    async def ids_by_whatsapp(self, numbers: Iterable[str]) -> Mapping[str, uuid.UUID]:
        wanted = set(numbers)
        erased = self._tx.all_erased()
        return {
            a.whatsapp_number: a.id
            for a in self._tx.all_advisors().values()
            if a.whatsapp_number in wanted and a.id not in erased
        }

    async def list_reachable(self) -> Reachable:
        # As in SQL: active, consenting to processing, opted in, not erased. Nothing is
        # sealed here, so nothing is unreadable.
        erased = self._tx.all_erased()
        reachable = (
            a
            for a in self._tx.all_advisors().values()
            if a.receives_whatsapp and a.processing_withdrawn_at is None and a.id not in erased
        )
        return Reachable(tuple(sorted(reachable, key=lambda a: a.id.int)))

    async def count(self) -> int:
        return len(self._tx.all_advisors())


class InMemoryContentRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, pack: ContentPack) -> None:
        self._tx.insert_pack(pack)

    async def add_many(self, packs: Iterable[ContentPack]) -> None:
        for pack in packs:
            self._tx.insert_pack(pack)

    async def get(self, pack_id: uuid.UUID) -> ContentPack:
        try:
            return self._tx.all_packs()[pack_id]
        except KeyError:
            raise NotFoundError("content_pack", pack_id) from None

    async def get_many(self, pack_ids: Iterable[uuid.UUID]) -> Mapping[uuid.UUID, ContentPack]:
        return _pick(self._tx.all_packs(), pack_ids, "content_pack")

    async def variants_for(
        self, keys: Iterable[tuple[uuid.UUID, Language]]
    ) -> Mapping[tuple[uuid.UUID, Language], VariantSnapshot]:
        keys = list(dict.fromkeys(keys))
        packs = _pick(self._tx.all_packs(), (pack_id for pack_id, _ in keys), "content_pack")
        return {
            (pack_id, language): VariantSnapshot(
                pack_id=pack_id,
                language=language,
                status=packs[pack_id].status,
                approved_hash=packs[pack_id].approved_hash,
                variant=packs[pack_id].variants.get(language),
            )
            for pack_id, language in keys
        }

    async def sendable_for(
        self, advisor_ids: Sequence[uuid.UUID], date: dt.date
    ) -> dict[uuid.UUID, ContentPack]:
        wanted = set(advisor_ids)
        chosen: dict[uuid.UUID, ContentPack] = {}
        for pack in self._tx.all_packs().values():
            if pack.advisor_id not in wanted or pack.scheduled_date != date or not pack.sendable:
                continue
            current = chosen.get(pack.advisor_id)
            # Newest: latest created_at, then highest version, then highest id (as in SQL).
            if current is None or _newness(pack) > _newness(current):
                chosen[pack.advisor_id] = pack
        return chosen

    async def update(self, pack: ContentPack) -> None:
        self._tx.update_pack(pack)

    async def update_many(self, packs: Iterable[ContentPack]) -> None:
        for pack in packs:
            self._tx.update_pack(pack)

    async def update_statuses(self, packs: Iterable[ContentPack]) -> None:
        current = self._tx.all_packs()
        for pack in packs:
            if pack.id not in current:
                raise NotFoundError("content_pack", pack.id)
            self._tx.update_pack(attrs.evolve(current[pack.id], status=pack.status))

    async def with_status(
        self, status: ContentStatus, *, advisor_id: uuid.UUID | None = None, limit: int = 1000
    ) -> Sequence[ContentPack]:
        found = [
            p
            for p in self._tx.all_packs().values()
            if p.status is status and (advisor_id is None or p.advisor_id == advisor_id)
        ]
        found.sort(key=lambda p: (p.created_at, p.id.int))
        return found[: max(limit, 0)]

    async def page(
        self,
        *,
        advisor_id: uuid.UUID | None = None,
        status: ContentStatus | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[ContentPack], int]:
        found = [
            p
            for p in self._tx.all_packs().values()
            if (advisor_id is None or p.advisor_id == advisor_id)
            and (status is None or p.status is status)
        ]
        found.sort(key=lambda p: p.id.int)
        found.sort(key=lambda p: p.created_at, reverse=True)
        start = max(offset, 0)
        return found[start : start + max(limit, 0)], len(found)

    async def created_between(
        self, advisor_id: uuid.UUID | None, since: dt.datetime, until: dt.datetime
    ) -> Sequence[ContentPack]:
        found = [
            p
            for p in self._tx.all_packs().values()
            if (p.advisor_id is not None if advisor_id is None else p.advisor_id == advisor_id)
            and since <= p.created_at < until
        ]
        found.sort(key=lambda p: (p.created_at, p.id.int))
        return found

    async def topics_for(
        self, advisor_id: uuid.UUID, since: dt.date, until: dt.date
    ) -> Sequence[tuple[str, dt.date]]:
        gone = (ContentStatus.REJECTED, ContentStatus.ARCHIVED)
        packs = [
            p
            for p in self._tx.all_packs().values()
            if p.advisor_id == advisor_id and p.status not in gone
        ]
        # As the SQL adapter orders them: newest creation first, then id; then by day.
        packs.sort(key=lambda p: p.id.int)
        packs.sort(key=lambda p: p.created_at, reverse=True)
        found = []
        for p in packs:
            day = p.scheduled_date or p.created_at.astimezone(IST).date()
            if since <= day <= until:
                found.append((p.topic, day))
        found.sort(key=lambda item: item[1], reverse=True)
        return found


def _pick(
    rows: Mapping[uuid.UUID, _Row], ids: Iterable[uuid.UUID], entity: str
) -> dict[uuid.UUID, _Row]:
    picked = {}
    for key in ids:
        try:
            picked[key] = rows[key]
        except KeyError:
            raise NotFoundError(entity, key) from None
    return picked


def _newness(pack: ContentPack) -> tuple[dt.datetime, int, int]:
    return (pack.created_at, pack.version, pack.id.int)


class InMemoryAuditLog:
    """The audit chain of an :class:`InMemoryStore`; appends are staged like any write."""

    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def append(self, drafts: Sequence[AuditDraft]) -> list[AuditEvent]:
        chain = self._tx.all_audit()
        prev_hash, sequence = (chain[-1].hash, chain[-1].sequence) if chain else (GENESIS_HASH, 0)
        events: list[AuditEvent] = []
        for draft in drafts:
            sequence += 1
            event = draft.chain(prev_hash, sequence)
            events.append(event)
            prev_hash = event.hash
        self._tx.append_audit(events)
        return events

    async def head(self) -> AuditEvent | None:
        chain = self._tx.all_audit()
        return chain[-1] if chain else None

    async def events(self, *, after: int = 0, limit: int = 1000) -> Sequence[AuditEvent]:
        return [e for e in self._tx.all_audit() if e.sequence > after][: max(limit, 0)]

    async def for_entity(self, entity_type: str, entity_id: str) -> Sequence[AuditEvent]:
        return [
            e
            for e in self._tx.all_audit()
            if e.entity_type == entity_type and e.entity_id == entity_id
        ]

    async def on_day(self, day: dt.date) -> Sequence[AuditEvent]:
        return [e for e in self._tx.all_audit() if e.day == day]

    async def last_before(self, moment: dt.datetime) -> AuditEvent | None:
        earlier = [e for e in self._tx.all_audit() if e.occurred_at < moment]
        return max(earlier, key=lambda e: e.sequence) if earlier else None


class InMemoryIncidentRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, incident: Incident) -> None:
        self._tx.insert_incident(incident)

    async def get(self, incident_id: uuid.UUID) -> Incident:
        incident = self._tx.all_incidents().get(incident_id)
        if incident is None:
            raise NotFoundError("incident", incident_id)
        return incident

    async def update(self, incident: Incident) -> None:
        self._tx.update_incident(incident)

    async def list(
        self, *, status: IncidentStatus | None = None, pack_id: uuid.UUID | None = None
    ) -> Sequence[Incident]:
        found = [
            i
            for i in self._tx.all_incidents().values()
            if (status is None or i.status is status) and (pack_id is None or i.pack_id == pack_id)
        ]
        return sorted(found, key=lambda i: (-i.opened_at.timestamp(), i.id.int))


class InMemoryDeliveryRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, delivery: Delivery) -> None:
        await self.add_many([delivery])

    async def add_many(self, deliveries: Iterable[Delivery]) -> None:
        items = list(deliveries)
        self._require_keys(items)
        for delivery in items:
            self._tx.insert_delivery(delivery)

    def _require_keys(self, deliveries: Iterable[Delivery]) -> None:
        # As in SQL: an erased advisor has no data key to seal a number with.
        erased = self._tx.all_erased()
        for delivery in deliveries:
            if delivery.advisor_id in erased:
                raise KeyStoreError("no data key for a new delivery's advisor", delivery.advisor_id)

    # One unit of work runs at a time over the store's committed state, so ``lock`` has
    # nothing to guard against here; it is accepted for the port's sake.

    async def get(self, delivery_id: uuid.UUID, *, lock: bool = False) -> Delivery:
        try:
            return self._tx.all_deliveries()[delivery_id]
        except KeyError:
            raise NotFoundError("delivery", delivery_id) from None

    async def get_many(
        self, delivery_ids: Iterable[uuid.UUID], *, lock: bool = False, missing_ok: bool = False
    ) -> Mapping[uuid.UUID, Delivery]:
        stored = self._tx.all_deliveries()
        if missing_ok:
            return {i: stored[i] for i in dict.fromkeys(delivery_ids) if i in stored}
        return _pick(stored, delivery_ids, "delivery")

    async def update(self, delivery: Delivery) -> None:
        self._require_keys([delivery])
        self._tx.update_delivery(delivery)

    async def by_message_ids(
        self, message_ids: Iterable[str], *, lock: bool = False
    ) -> Mapping[str, Delivery]:
        wanted = set(message_ids)
        return {
            d.provider_message_id: d
            for d in self._tx.all_deliveries().values()
            if d.provider_message_id is not None and d.provider_message_id in wanted
        }

    async def update_many(self, deliveries: Iterable[Delivery]) -> None:
        current = self._tx.all_deliveries()
        for delivery in deliveries:
            if delivery.id not in current:
                raise NotFoundError("delivery", delivery.id)
            # As the SQL adapter does: a delivery's plan is fixed, only its state is written.
            state = {name: getattr(delivery, name) for name in STATE_FIELDS}
            self._tx.update_delivery(attrs.evolve(current[delivery.id], **state))

    async def between(
        self, advisor_id: uuid.UUID | None, since: dt.date, until: dt.date
    ) -> Sequence[Delivery]:
        found = [
            d
            for d in self._tx.all_deliveries().values()
            if since <= d.date <= until and (advisor_id is None or d.advisor_id == advisor_id)
        ]
        found.sort(key=lambda d: (d.date, d.scheduled_for, d.id.int))
        return found

    async def keys_for_date(self, date: dt.date) -> set[tuple[uuid.UUID, Channel, Variant]]:
        return {
            (d.advisor_id, d.channel, d.variant)
            for d in self._tx.all_deliveries().values()
            if d.date == date
        }

    async def due(self, now: dt.datetime, limit: int, *, lock: bool = False) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        due = (d for d in self._tx.all_deliveries().values() if d.is_due(now))
        return sorted(due, key=_by_next_attempt)[:limit]

    async def claim_due(
        self, now: dt.datetime, limit: int, *, owner: str, until: dt.datetime
    ) -> Sequence[Delivery]:
        claimed = [
            d.start_sending(now, owner=owner, until=until) for d in await self.due(now, limit)
        ]
        for delivery in claimed:
            self._tx.update_delivery(delivery)
        return claimed

    async def expired_leases(self, now: dt.datetime, limit: int) -> Sequence[Delivery]:
        if limit <= 0:
            return []
        found = (d for d in self._tx.all_deliveries().values() if d.lease_expired(now))
        return sorted(found, key=_by_lease)[:limit]

    async def held_by(self, owner: str, delivery_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        current = self._tx.all_deliveries()
        return {
            key
            for key in delivery_ids
            if (found := current.get(key)) is not None and found.holds(owner)
        }

    async def count_open(self, until: dt.datetime) -> int:
        return sum(
            d.lease_expired(until) or d.is_due(until) for d in self._tx.all_deliveries().values()
        )

    async def extend_leases(
        self, owner: str, delivery_ids: Iterable[uuid.UUID], until: dt.datetime
    ) -> set[uuid.UUID]:
        current = self._tx.all_deliveries()
        kept: set[uuid.UUID] = set()
        for key in dict.fromkeys(delivery_ids):
            delivery = current.get(key)
            if delivery is not None and delivery.holds(owner):
                self._tx.update_delivery(delivery.relet(owner, until))
                kept.add(key)
        return kept

    async def for_date(self, date: dt.date) -> Sequence[Delivery]:
        found = (d for d in self._tx.all_deliveries().values() if d.date == date)
        return sorted(found, key=_by_schedule)

    async def page(
        self,
        *,
        advisor_id: uuid.UUID | None = None,
        date: dt.date | None = None,
        status: DeliveryStatus | None = None,
        channel: Channel | None = None,
        variant: Variant | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[Sequence[Delivery], int]:
        found = [
            d
            for d in self._tx.all_deliveries().values()
            if (advisor_id is None or d.advisor_id == advisor_id)
            and (date is None or d.date == date)
            and (status is None or d.status is status)
            and (channel is None or d.channel is channel)
            and (variant is None or d.variant is variant)
        ]
        found.sort(key=lambda d: d.id.int)
        found.sort(key=lambda d: d.scheduled_for, reverse=True)
        start = max(offset, 0)
        return found[start : start + max(limit, 0)], len(found)


class InMemoryFallbackRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add_entry(self, entry: LibraryEntry) -> None:
        self._tx.insert_entry(entry)

    async def update_entry(self, entry: LibraryEntry) -> None:
        self._tx.update_entry(entry)

    async def get_entry(self, pack_id: uuid.UUID) -> LibraryEntry:
        entry = self._tx.all_library().get(pack_id)
        if entry is None:
            raise NotFoundError("library_entry", pack_id)
        return entry

    async def entries(self, *, active_only: bool = True) -> Sequence[LibraryEntry]:
        found = (e for e in self._tx.all_library().values() if e.active or not active_only)
        return sorted(found, key=lambda e: e.pack_id.int)

    async def add_selection(self, record: SelectionRecord) -> None:
        self._tx.insert_selection(record)

    async def add_selections(self, records: Iterable[SelectionRecord]) -> None:
        for record in records:
            self._tx.insert_selection(record)

    async def selections_for(
        self, date: dt.date, *, advisor_id: uuid.UUID | None = None
    ) -> Sequence[SelectionRecord]:
        found = (
            r
            for r in self._tx.all_selections().values()
            if r.date == date and (advisor_id is None or r.advisor_id == advisor_id)
        )
        return sorted(found, key=lambda r: r.advisor_id.int)

    async def last_used(
        self, advisor_ids: Iterable[uuid.UUID], *, since: dt.date
    ) -> dict[uuid.UUID, dict[uuid.UUID, dt.date]]:
        wanted = set(advisor_ids)
        found: dict[uuid.UUID, dict[uuid.UUID, dt.date]] = {}
        for r in self._tx.all_selections().values():
            if r.advisor_id in wanted and r.date >= since:
                used = found.setdefault(r.advisor_id, {})
                used[r.pack_id] = max(r.date, used.get(r.pack_id, r.date))
        return found


class InMemoryInboundMessageRepository:
    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add_new(self, messages: Iterable[InboundMessage]) -> int:
        known = self._tx.all_inbound()
        added = 0
        for message in messages:
            if message.provider_message_id in known:
                continue
            self._tx.insert_inbound(message)
            known[message.provider_message_id] = message
            added += 1
        return added

    async def for_advisor(self, advisor_id: uuid.UUID) -> Sequence[InboundMessage]:
        found = (m for m in self._tx.all_inbound().values() if m.advisor_id == advisor_id)
        return sorted(found, key=lambda m: (m.sent_at, m.id.int))


#: ``ai_jobs.cost_inr`` is ``Numeric(14, 4)``: costs are kept at four places, as stored.
_COST_QUANTUM = Decimal("0.0001")


def _cost(value: Decimal) -> Decimal:
    return value.quantize(_COST_QUANTUM, rounding=ROUND_HALF_UP)


def _in_window(at: dt.datetime, since: dt.datetime, until: dt.datetime) -> bool:
    return since <= at < until


class InMemoryAiJobRepository:
    """An ``AiJobRepository`` over an :class:`InMemoryTransaction`, like ``SqlAiJobRepository``:
    costs come back at four decimal places, usage rows in the same order."""

    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add(self, job: AiJob) -> None:
        self._tx.insert_ai_job(attrs.evolve(job, cost_inr=_cost(job.cost_inr)))

    async def count_for(
        self, advisor_id: uuid.UUID, stage: AiStage, since: dt.datetime, until: dt.datetime
    ) -> int:
        return sum(
            j.advisor_id == advisor_id
            and j.stage is stage
            and not j.cache_hit
            and _in_window(j.created_at, since, until)
            for j in self._tx.all_ai_jobs().values()
        )

    async def spend(self, since: dt.datetime, until: dt.datetime) -> Decimal:
        total = sum(
            (j.cost_inr for j in self._in(since, until)),
            start=Decimal(0),
        )
        return _cost(total)

    async def usage(self, since: dt.datetime, until: dt.datetime) -> Sequence[AiUsageRow]:
        groups: dict[tuple[uuid.UUID | None, str], list[AiJob]] = {}
        for job in self._in(since, until):
            groups.setdefault((job.advisor_id, job.model), []).append(job)
        rows = [
            AiUsageRow(
                advisor_id=advisor_id,
                model=model,
                calls=sum(not j.cache_hit for j in jobs),
                cache_hits=sum(j.cache_hit for j in jobs),
                input_tokens=sum(j.usage.input_tokens for j in jobs),
                output_tokens=sum(j.usage.output_tokens for j in jobs),
                cost_inr=_cost(sum((j.cost_inr for j in jobs), start=Decimal(0))),
            )
            for (advisor_id, model), jobs in groups.items()
        ]
        rows.sort(key=_usage_order)
        return rows

    async def for_advisor(self, advisor_id: uuid.UUID, limit: int = 100) -> Sequence[AiJob]:
        found = [j for j in self._tx.all_ai_jobs().values() if j.advisor_id == advisor_id]
        found.sort(key=lambda j: (j.created_at, j.id.int), reverse=True)
        return found[: max(limit, 0)]

    def _in(self, since: dt.datetime, until: dt.datetime) -> list[AiJob]:
        return [
            j for j in self._tx.all_ai_jobs().values() if _in_window(j.created_at, since, until)
        ]


def _usage_order(row: AiUsageRow) -> tuple[Decimal, bool, int, str]:
    # As in SQL: highest cost first, then by advisor (no advisor last), then by model.
    advisor = -1 if row.advisor_id is None else row.advisor_id.int
    return (-row.cost_inr, row.advisor_id is None, advisor, row.model)


class InMemoryAiCache:
    """An ``AiCache`` over an :class:`InMemoryTransaction`, like ``SqlAiCache``: documents are
    stored as JSON (a copy comes back, tuples as lists), writes are staged until commit."""

    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def get(self, key: str, now: dt.datetime) -> CachedAnswer | None:
        answer = self._tx.all_ai_cache().get(key)
        if answer is None or not answer.fresh(now):
            return None
        return attrs.evolve(answer, document=_json_copy(answer.document))

    async def put(self, answer: CachedAnswer) -> None:
        self._tx.put_cached(attrs.evolve(answer, document=_json_copy(answer.document)))

    async def purge(self, now: dt.datetime) -> int:
        expired = [k for k, a in self._tx.all_ai_cache().items() if not a.fresh(now)]
        self._tx.delete_cached(expired)
        return len(expired)


def _json_copy(document: Mapping[str, object]) -> dict[str, object]:
    copied: dict[str, object] = json.loads(json.dumps(dict(document), ensure_ascii=False))
    return copied


class InMemoryConsentRepository:
    """A ``ConsentRepository`` over an :class:`InMemoryTransaction`, like
    ``SqlConsentRepository``: only the end of a stored record is ever written."""

    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    async def add_many(self, records: Iterable[ConsentRecord]) -> None:
        for record in records:
            self._tx.insert_consent(record)

    async def end_many(self, records: Iterable[ConsentRecord]) -> None:
        items = list(records)
        current = self._tx.all_consents()
        for record in items:
            if record.id not in current:
                raise NotFoundError("consent", record.id)
        for record in items:
            stored = current[record.id]
            try:
                ended = attrs.evolve(stored, ended_at=record.ended_at, end_reason=record.end_reason)
            except ValidationError:
                self._tx.refuse(_CONSENTS, "ck_consents_ended_with_reason")
            self._tx.update_consent(ended)

    async def for_advisor(self, advisor_id: uuid.UUID) -> Sequence[ConsentRecord]:
        found = (r for r in self._tx.all_consents().values() if r.advisor_id == advisor_id)
        return sorted(found, key=lambda r: (r.given_at, r.id.int))


#: What stands in an erased advisor's personal fields (``Advisor`` requires valid ones; the
#: SQL row holds NULLs). Never read back: an erased advisor is not returned as an ``Advisor``.
_ERASED_NAME = "[erased]"
_ERASED_EMAIL = "erased@erased.invalid"
_ERASED_NUMBER = "+10000000000"


class InMemorySubjectRepository:
    """A ``SubjectRepository`` over an :class:`InMemoryTransaction`, with the rules of
    ``SqlSubjectRepository`` (erasure, the accounts cancelled before a date, retention)."""

    def __init__(self, tx: InMemoryTransaction) -> None:
        self._tx = tx

    def _advisor(self, advisor_id: uuid.UUID) -> Advisor:
        advisor = self._tx.all_advisors().get(advisor_id)
        if advisor is None:
            raise NotFoundError("advisor", advisor_id)
        return advisor

    async def profile(self, advisor_id: uuid.UUID) -> SubjectProfile:
        advisor = self._advisor(advisor_id)
        erased_at = self._tx.all_erased().get(advisor_id)
        gone = erased_at is not None
        return SubjectProfile(
            advisor_id=advisor_id,
            name=None if gone else advisor.name,
            email=None if gone else advisor.email,
            whatsapp_number=None if gone else advisor.whatsapp_number,
            type=advisor.type.value,
            registration_no=advisor.registration_no,
            status=advisor.status.value,
            tier=advisor.tier.value,
            languages=tuple(language.value for language in advisor.languages),
            send_time=advisor.send_time.strftime("%H:%M"),
            whatsapp_opt_in_at=advisor.whatsapp_opt_in_at,
            processing_withdrawn_at=advisor.processing_withdrawn_at,
            created_at=advisor.created_at,
            erased_at=erased_at,
        )

    async def erase(self, advisor_id: uuid.UUID, now: dt.datetime) -> ErasureCounts:
        advisor = self._advisor(advisor_id)
        erased_at = self._tx.all_erased().get(advisor_id)
        if erased_at is not None:
            raise SubjectErasedError(advisor_id, erased_at)
        self._tx.erase_advisor(
            attrs.evolve(
                advisor,
                name=_ERASED_NAME,
                email=_ERASED_EMAIL,
                whatsapp_number=_ERASED_NUMBER,
                status=AdvisorStatus.CANCELLED,
                whatsapp_opt_in_at=None,
            ),
            now,
        )
        mine = [d for d in self._tx.all_deliveries().values() if d.advisor_id == advisor_id]
        expired = unlinked = 0
        for delivery in mine:
            changed = delivery
            # What was still waiting to go is not sent to a person who is gone; what went
            # stays counted (reports) but no longer says to which number.
            if changed.status is DeliveryStatus.QUEUED:
                changed = attrs.evolve(
                    changed, status=DeliveryStatus.EXPIRED, error_code="subject_erased"
                )
                expired += 1
            if changed.to:
                changed = attrs.evolve(changed, to="")
                unlinked += 1
            if changed is not delivery:
                self._tx.update_delivery(changed)
        inbound = [key for key, m in self._tx.all_inbound().items() if m.advisor_id == advisor_id]
        self._tx.delete(_INBOUND, inbound)
        answers = [k for k, a in self._tx.all_ai_cache().items() if a.advisor_id == advisor_id]
        self._tx.delete_cached(answers)
        return ErasureCounts(
            data_keys_destroyed=1,
            deliveries_expired=expired,
            deliveries_unlinked=unlinked,
            inbound_messages_deleted=len(inbound),
            ai_answers_deleted=len(answers),
        )

    async def cancelled_before(self, cutoff: dt.datetime) -> Sequence[uuid.UUID]:
        # Cancelled is final, so the one change_status event to "cancelled" dates it.
        candidates = {
            uuid.UUID(e.entity_id)
            for e in self._tx.all_audit()
            if e.entity_type == "advisor"
            and e.action == "change_status"
            and e.occurred_at < cutoff
            and (e.new_values or {}).get("status") == AdvisorStatus.CANCELLED.value
        }
        advisors, erased = self._tx.all_advisors(), self._tx.all_erased()
        return sorted(
            a
            for a in candidates
            if a in advisors and advisors[a].status is AdvisorStatus.CANCELLED and a not in erased
        )

    async def purge(
        self, cutoffs: RetentionCutoffs, now: dt.datetime, *, dry_run: bool
    ) -> tuple[PurgeCounts, AuditAnchor | None]:
        logs = cutoffs.processing_logs_before
        tx = self._tx
        counts: dict[str, int] = {}

        def apply(table: str, keys: Sequence[Any]) -> int:
            if not dry_run:
                tx.delete(table, keys)
            return len(keys)

        deliveries = tx.all_deliveries()
        old = {key for key, d in deliveries.items() if d.scheduled_for < logs}
        # An SMS backup goes with the delivery it stood in for.
        doomed = [k for k, d in deliveries.items() if k in old or d.backup_of in old]
        counts["deliveries"] = apply(_DELIVERIES, doomed)
        counts["fallback_selections"] = apply(
            _SELECTIONS, [k for k, r in tx.all_selections().items() if r.selected_at < logs]
        )
        counts["ai_jobs"] = apply(
            _AI_JOBS, [k for k, j in tx.all_ai_jobs().items() if j.created_at < logs]
        )
        counts["inbound_messages"] = apply(
            _INBOUND, [k for k, m in tx.all_inbound().items() if m.received_at < logs]
        )
        expired = [k for k, a in tx.all_ai_cache().items() if not a.fresh(now)]
        if not dry_run:
            tx.delete_cached(expired)
        counts["ai_cache"] = len(expired)
        counts["consents"] = apply(
            _CONSENTS,
            [
                k
                for k, r in tx.all_consents().items()
                if r.ended_at is not None and r.ended_at < cutoffs.consent_ended_before
            ],
        )
        # Judged on what is left after the deletions above (in a dry run, on what a real run
        # would have left).
        gone = set(doomed) if dry_run else set()
        counts["content_packs"] = apply(
            _PACKS, self._packs_past_retention(cutoffs, gone, logs if dry_run else None)
        )
        counts["audit_events"], anchor = self._purge_audit(cutoffs.audit_before, dry_run)
        return PurgeCounts(**counts), anchor

    def _packs_past_retention(
        self,
        cutoffs: RetentionCutoffs,
        gone_deliveries: set[uuid.UUID],
        selections_before: dt.datetime | None,
    ) -> list[uuid.UUID]:
        # An approval record past its seven years, that nothing still kept points at (the
        # shared fallback library's packs belong to no advisor and are not records of one).
        tx = self._tx
        packs = tx.all_packs()
        referenced = {
            *(d.pack_id for k, d in tx.all_deliveries().items() if k not in gone_deliveries),
            *(
                r.pack_id
                for r in tx.all_selections().values()
                if selections_before is None or r.selected_at >= selections_before
            ),
            *tx.all_library(),
            *(i.pack_id for i in tx.all_incidents().values()),
            *(p.parent_id for p in packs.values()),
        }
        return [
            key
            for key, p in packs.items()
            if p.advisor_id is not None
            and p.reviewed_at is not None
            and p.reviewed_at < cutoffs.content_approved_before
            and key not in referenced
        ]

    def _purge_audit(self, today: dt.date, dry_run: bool) -> tuple[int, AuditAnchor | None]:
        # The oldest events up to the first one still under retention: always a prefix of
        # the chain, so what remains verifies from the anchor (the last one deleted).
        # The newest event always stays: the chain goes on from it, never restarts at 1.
        events = list(self._tx.all_audit())
        doomed: list[AuditEvent] = []
        for event in events[:-1]:
            if event.retention_until > today:
                break
            doomed.append(event)
        if not doomed:
            return 0, None
        last = doomed[-1]
        if not dry_run:
            self._tx.purge_audit_through(last.sequence)
        return len(doomed), AuditAnchor(sequence=last.sequence, hash=last.hash)


class InMemoryUnitOfWork:
    """A unit of work over an :class:`InMemoryStore`, with the SQL unit of work's semantics.

    Writes are staged and reach the store only on ``commit``; leaving the block without it
    discards them. A ``ConflictError`` discards everything staged, and ``commit`` then raises
    ``InvalidTransitionError`` until ``rollback`` is called.
    """

    # Typed as the ports: the UnitOfWork protocol's attributes are mutable, hence invariant.
    advisors: AdvisorRepository
    content: ContentRepository
    deliveries: DeliveryRepository
    audit: AuditLog
    incidents: IncidentRepository
    fallbacks: FallbackRepository
    inbound: InboundMessageRepository
    ai_jobs: AiJobRepository
    ai_cache: AiCache
    consents: ConsentRepository
    subjects: SubjectRepository

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store if store is not None else InMemoryStore()
        self._tx: InMemoryTransaction | None = None
        self.commits = 0

    async def __aenter__(self) -> Self:
        if self._tx is not None:
            raise InvalidTransitionError("unit of work", "open", "enter")
        self._tx = InMemoryTransaction(self.store)
        self.advisors = InMemoryAdvisorRepository(self._tx)
        self.content = InMemoryContentRepository(self._tx)
        self.deliveries = InMemoryDeliveryRepository(self._tx)
        self.audit = InMemoryAuditLog(self._tx)
        self.incidents = InMemoryIncidentRepository(self._tx)
        self.fallbacks = InMemoryFallbackRepository(self._tx)
        self.inbound = InMemoryInboundMessageRepository(self._tx)
        self.ai_jobs = InMemoryAiJobRepository(self._tx)
        self.ai_cache = InMemoryAiCache(self._tx)
        self.consents = InMemoryConsentRepository(self._tx)
        self.subjects = InMemorySubjectRepository(self._tx)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.discard()

    def _open(self, action: str) -> InMemoryTransaction:
        if self._tx is None:
            raise InvalidTransitionError("unit of work", "closed", action)
        return self._tx

    async def commit(self) -> None:
        tx = self._open("commit")
        if tx.failed:
            raise InvalidTransitionError(
                "unit of work",
                "rolled back",
                "commit",
                "a write conflicted and everything before it was discarded; call rollback()",
            )
        tx.apply()
        self.commits += 1

    async def rollback(self) -> None:
        tx = self._open("rollback")
        tx.discard()
        tx.failed = False


class InMemoryUnitOfWorkFactory:
    """A ``UnitOfWorkFactory`` whose units of work share one :class:`InMemoryStore`."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store if store is not None else InMemoryStore()

    def __call__(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store)


# -- time and identity -------------------------------------------------------------------------


def _require_aware(value: dt.datetime, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValidationError(field, value, "must be a timezone-aware datetime")
    return value


class FixedClock:
    """A clock that always says ``at``."""

    def __init__(self, at: dt.datetime) -> None:
        self._at = _require_aware(at, "at")

    def now(self) -> dt.datetime:
        return self._at


class ManualClock:
    """A clock the test moves: ``advance(timedelta)`` or ``set(datetime)``; never on its own."""

    def __init__(self, start: dt.datetime) -> None:
        self._now = _require_aware(start, "start")

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, by: dt.timedelta) -> dt.datetime:
        self._now = self._now + by
        return self._now

    def set(self, at: dt.datetime) -> dt.datetime:
        self._now = _require_aware(at, "at")
        return self._now


class SequentialIds:
    """Deterministic ids: ``00000000-0000-4000-8000-000000000001``, ``…02``, …

    Shaped as version-4 UUIDs and increasing, so ids sort in creation order; ``prefix`` (up to
    32 bits) keeps several generators in one test apart.
    """

    def __init__(self, start: int = 1, *, prefix: int = 0) -> None:
        if not 0 <= prefix < 2**32:
            raise ValidationError("prefix", prefix, "must fit in 32 bits")
        self._next = start
        self._prefix = prefix

    def new_id(self) -> uuid.UUID:
        n, self._next = self._next, self._next + 1
        return uuid.UUID(f"{self._prefix:08x}-0000-4000-8000-{n:012x}")


# -- messaging ---------------------------------------------------------------------------------


@attrs.define
class _Failure:
    code: int | str
    message: str
    remaining: int | None  # None: fail every time


_M = TypeVar("_M", OutboundText, OutboundImage, OutboundTemplate)


class FakeWhatsAppSender:
    """A ``WhatsAppSender`` that records messages instead of sending them.

    Accepted messages are in ``sent`` and get receipts ``wamid.fake-1``, ``wamid.fake-2``, …;
    ``fail_for`` makes sends to a recipient raise ``ProviderError`` with a WhatsApp error code
    (refused attempts are kept in ``refused``); ``unavailable = True`` simulates an outage.
    """

    def __init__(self) -> None:
        self.sent: list[OutboundText] = []
        self.sent_images: list[OutboundImage] = []
        self.sent_templates: list[OutboundTemplate] = []
        self.refused: list[OutboundText] = []
        self.receipts: list[SendReceipt] = []
        self.unavailable = False
        self._failures: dict[str, _Failure] = {}

    def fail_for(
        self,
        recipients: str | Iterable[str],
        code: int | str = 131026,
        message: str = "Message undeliverable",
        *,
        times: int | None = None,
    ) -> None:
        """Refuse messages to ``recipients`` with ``code``; only the next ``times`` if given."""
        for recipient in [recipients] if isinstance(recipients, str) else recipients:
            self._failures[recipient] = _Failure(code, message, times)

    def succeed_for(self, recipients: str | Iterable[str]) -> None:
        for recipient in [recipients] if isinstance(recipients, str) else recipients:
            self._failures.pop(recipient, None)

    async def send_image(self, message: OutboundImage) -> SendReceipt:
        return self._deliver(message, self.sent_images)

    async def send_template(self, message: OutboundTemplate) -> SendReceipt:
        return self._deliver(message, self.sent_templates)

    async def send_text(self, message: OutboundText) -> SendReceipt:
        return self._deliver(message, self.sent)

    def _deliver(self, message: _M, sent: list[_M]) -> SendReceipt:
        if self.unavailable:
            raise UnavailableError("whatsapp (fake)", "simulated outage")
        failure = self._failures.get(message.to)
        if failure is not None:
            if failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining <= 0:
                    del self._failures[message.to]
            if isinstance(message, OutboundText):
                self.refused.append(message)
            raise ProviderError("whatsapp", failure.code, failure.message, http_status=400)
        sent.append(message)
        receipt = SendReceipt(
            message_id=f"wamid.fake-{len(self.receipts) + 1}",
            # The Cloud API reports the WhatsApp id: the number without "+".
            recipient_id=message.to.removeprefix("+"),
        )
        self.receipts.append(receipt)
        return receipt


class FakeSmsSender:
    """An ``SmsSender`` that records messages; ``fail_with`` makes every send raise
    ``ProviderError`` with that gateway code, ``unavailable = True`` an outage."""

    def __init__(self) -> None:
        self.sent: list[OutboundSms] = []
        self.fail_with: int | None = None
        self.unavailable = False

    async def send_sms(self, message: OutboundSms) -> SmsReceipt:
        if self.unavailable:
            raise UnavailableError("sms (fake)", "simulated outage", outcome_unknown=False)
        if self.fail_with is not None:
            raise ProviderError("sms", self.fail_with, "refused by the fake gateway")
        self.sent.append(message)
        return SmsReceipt(message_id=f"sms-fake-{len(self.sent)}", length=message.length)


# -- AI reviewer ---------------------------------------------------------------------------------


class FakeComplianceReviewer:
    """A ``ComplianceReviewer`` that answers with the findings it was given.

    ``unavailable = True`` makes every review raise ``UnavailableError``; ``reviewed`` records
    the (language, variant) pairs it was asked about.
    """

    name = "fake-reviewer"

    def __init__(self, findings: Iterable[AiFinding] = ()) -> None:
        self.findings = tuple(findings)
        self.unavailable = False
        self.reviewed: list[tuple[Language, ContentVariant]] = []

    async def review(
        self, variant: ContentVariant, language: Language, advisor: Advisor
    ) -> ReviewResult:
        if self.unavailable:
            raise UnavailableError("compliance reviewer (fake)", "simulated outage")
        self.reviewed.append((language, variant))
        return ReviewResult(reviewer=self.name, findings=self.findings)
