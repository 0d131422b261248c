"""Explicit conversions between table rows and domain objects (no ORM classes).

Datetimes: every timestamp is written as UTC. PostgreSQL stores ``timestamptz`` and returns an
aware value; SQLite has no timestamp type and SQLAlchemy stores the wall-clock digits without
an offset, so writing anything but UTC would make the stored text ambiguous and break ordering
and comparisons done in SQL. Values read back are therefore made aware in UTC either way.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from projectone.adapters.sqlalchemy.keyring import open_sealed, seal
from projectone.domain.advisor import Advisor
from projectone.domain.ai import AiJob, CachedAnswer, TokenUsage
from projectone.domain.audit import Actor, AuditEvent
from projectone.domain.consent import ConsentRecord
from projectone.domain.content import ContentPack, ContentVariant, VariantSnapshot
from projectone.domain.delivery import Delivery
from projectone.domain.errors import KeyStoreError
from projectone.domain.fallback import (
    LibraryEntry,
    ScoreBreakdown,
    Selection,
    SelectionRecord,
    Weights,
)
from projectone.domain.inbound import InboundMessage
from projectone.domain.incident import Incident
from projectone.domain.language import Language
from projectone.domain.pii import mask_pii

__all__ = [
    "COST_QUANTUM",
    "advisor_from_row",
    "advisor_to_row",
    "ai_job_from_row",
    "ai_job_to_row",
    "audit_event_from_row",
    "audit_event_to_row",
    "cached_answer_from_row",
    "cached_answer_to_row",
    "consent_from_row",
    "consent_to_row",
    "cost_from_db",
    "cost_to_db",
    "delivery_from_row",
    "delivery_to_row",
    "from_db_time",
    "inbound_from_row",
    "inbound_to_row",
    "incident_from_row",
    "incident_to_row",
    "library_entry_from_row",
    "library_entry_to_row",
    "pack_from_row",
    "pack_to_row",
    "selection_from_row",
    "selection_to_row",
    "to_db_time",
    "variant_snapshot_from_row",
]


def to_db_time(value: dt.datetime) -> dt.datetime:
    """``value`` (timezone-aware) as UTC, the only zone the database ever sees."""
    return value.astimezone(dt.UTC)


def _to_db_optional(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else to_db_time(value)


def from_db_time(value: dt.datetime) -> dt.datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _from_db_optional(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else from_db_time(value)


def advisor_to_row(
    advisor: Advisor, cipher: AESGCM, email_index: str, whatsapp_index: str
) -> dict[str, Any]:
    """The row of ``advisor``, its personal fields sealed with ``cipher`` (its data key)."""
    subject = advisor.id
    return {
        "id": advisor.id,
        "name_sealed": seal(cipher, subject, "name", advisor.name),
        "email_sealed": seal(cipher, subject, "email", advisor.email),
        "whatsapp_sealed": seal(cipher, subject, "whatsapp_number", advisor.whatsapp_number),
        "email_index": email_index,
        "whatsapp_index": whatsapp_index,
        "type": advisor.type.value,
        "registration_no": advisor.registration_no,
        "languages": [language.value for language in advisor.languages],
        "send_time": advisor.send_time,
        "tier": advisor.tier.value,
        "status": advisor.status.value,
        "whatsapp_opt_in_at": _to_db_optional(advisor.whatsapp_opt_in_at),
        "processing_withdrawn_at": _to_db_optional(advisor.processing_withdrawn_at),
        "created_at": to_db_time(advisor.created_at),
    }


def advisor_from_row(row: Mapping[Any, Any], cipher: AESGCM) -> Advisor:
    """The advisor of a row that is not erased (the caller checks ``erased_at``)."""
    subject = row["id"]
    return Advisor(
        id=subject,
        name=open_sealed(cipher, subject, "name", row["name_sealed"]),
        type=row["type"],
        registration_no=row["registration_no"],
        email=open_sealed(cipher, subject, "email", row["email_sealed"]),
        whatsapp_number=open_sealed(cipher, subject, "whatsapp_number", row["whatsapp_sealed"]),
        languages=row["languages"],
        send_time=row["send_time"],
        tier=row["tier"],
        status=row["status"],
        whatsapp_opt_in_at=_from_db_optional(row["whatsapp_opt_in_at"]),
        processing_withdrawn_at=_from_db_optional(row["processing_withdrawn_at"]),
        created_at=from_db_time(row["created_at"]),
    )


def pack_to_row(pack: ContentPack) -> dict[str, Any]:
    return {
        "id": pack.id,
        "advisor_id": pack.advisor_id,
        "topic": pack.topic,
        "type": pack.type.value,
        "variants": {lang.value: variant.as_dict() for lang, variant in pack.variants.items()},
        "languages": [language.value for language in pack.languages],
        # Stored (not only recomputed) so delivery can compare against what was approved and
        # reports can group by it without loading every variant.
        "content_hash": pack.content_hash,
        "status": pack.status.value,
        "version": pack.version,
        "parent_id": pack.parent_id,
        "scheduled_date": pack.scheduled_date,
        "created_at": to_db_time(pack.created_at),
        "author_id": pack.author_id,
        "submitted_at": _to_db_optional(pack.submitted_at),
        "risk_score": pack.risk_score,
        "compliance_verdict": pack.compliance_verdict,
        "rulebook_version": pack.rulebook_version,
        "findings": list(pack.findings),
        "requires_human": pack.requires_human,
        "escalated": pack.escalated,
        "reviewer_id": pack.reviewer_id,
        "reviewed_at": _to_db_optional(pack.reviewed_at),
        "review_note": pack.review_note,
        "approved_hash": pack.approved_hash,
    }


def pack_from_row(row: Mapping[Any, Any]) -> ContentPack:
    variants = {
        Language(lang): ContentVariant(**fields) for lang, fields in row["variants"].items()
    }
    return ContentPack(
        id=row["id"],
        advisor_id=row["advisor_id"],
        topic=row["topic"],
        type=row["type"],
        variants=variants,
        status=row["status"],
        version=row["version"],
        parent_id=row["parent_id"],
        scheduled_date=row["scheduled_date"],
        created_at=from_db_time(row["created_at"]),
        author_id=row["author_id"],
        submitted_at=_from_db_optional(row["submitted_at"]),
        risk_score=row["risk_score"],
        compliance_verdict=row["compliance_verdict"],
        rulebook_version=row["rulebook_version"],
        findings=tuple(row["findings"]),
        requires_human=bool(row["requires_human"]),
        escalated=bool(row["escalated"]),
        reviewer_id=row["reviewer_id"],
        reviewed_at=_from_db_optional(row["reviewed_at"]),
        review_note=row["review_note"],
        approved_hash=row["approved_hash"],
    )


def delivery_to_row(delivery: Delivery, cipher: AESGCM | None) -> dict[str, Any]:
    """The row of ``delivery``, its number sealed with ``cipher`` (the advisor's data key;
    ``None`` only for a row the database will refuse: an advisor that does not exist)."""
    return {
        "advisor_id": delivery.advisor_id,
        "pack_id": delivery.pack_id,
        "date": delivery.date,
        "language": delivery.language.value,
        "channel": delivery.channel.value,
        "variant": delivery.variant.value,
        "to_sealed": None
        if cipher is None
        else seal(cipher, delivery.advisor_id, "to", delivery.to),
        "content_hash": delivery.content_hash,
        "message_hash": delivery.message_hash,
        "scheduled_for": to_db_time(delivery.scheduled_for),
        "sla_target": to_db_time(delivery.sla_target),
        "queued_at": to_db_time(delivery.queued_at),
        "backup_of": delivery.backup_of,
        "fallback": delivery.fallback,
        **delivery_state_to_row(delivery),
    }


def delivery_state_to_row(delivery: Delivery) -> dict[str, Any]:
    """The id and the state columns (``STATE_FIELDS``) of ``delivery``: what an outcome writes."""
    return {
        "id": delivery.id,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "provider_message_id": delivery.provider_message_id,
        "error_code": delivery.error_code,
        # Providers quote the recipient in their errors ("+91… is not a WhatsApp user").
        "error_message": None
        if delivery.error_message is None
        else mask_pii(delivery.error_message),
        "sent_at": _to_db_optional(delivery.sent_at),
        "delivered_at": _to_db_optional(delivery.delivered_at),
        "read_at": _to_db_optional(delivery.read_at),
        "failed_at": _to_db_optional(delivery.failed_at),
        "next_attempt_at": to_db_time(delivery.next_attempt_at),
        "failure_class": delivery.failure_class,
        "lease_owner": delivery.lease_owner,
        "lease_expires_at": _to_db_optional(delivery.lease_expires_at),
        "duplicate_message_ids": list(delivery.duplicate_message_ids) or None,
    }


def delivery_from_row(
    row: Mapping[Any, Any], cipher: AESGCM | None, *, unreadable_as_empty: bool = False
) -> Delivery:
    """The delivery of a row; ``to`` is empty when the advisor was erased (no number, no key).

    A sealed number without its data key raises ``KeyStoreError``, unless
    ``unreadable_as_empty``: then ``to`` is empty too, for a caller that refuses to send to an
    empty number and must not fail a whole batch for one such row (the worker's claims).
    """
    sealed = row["to_sealed"]
    if sealed is None or (cipher is None and unreadable_as_empty):
        to = ""
    elif cipher is None:
        # Fail closed: a number that cannot be read is never sent to as "".
        raise KeyStoreError("no data key for a delivery's number", row["advisor_id"])
    else:
        to = open_sealed(cipher, row["advisor_id"], "to", sealed)
    # sla_target is derived by the domain; the stored copy exists for SQL reports only.
    return Delivery(
        id=row["id"],
        advisor_id=row["advisor_id"],
        pack_id=row["pack_id"],
        date=row["date"],
        language=row["language"],
        channel=row["channel"],
        variant=row["variant"],
        to=to,
        content_hash=row["content_hash"],
        message_hash=row["message_hash"],
        scheduled_for=from_db_time(row["scheduled_for"]),
        status=row["status"],
        attempts=row["attempts"],
        provider_message_id=row["provider_message_id"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        queued_at=from_db_time(row["queued_at"]),
        sent_at=_from_db_optional(row["sent_at"]),
        delivered_at=_from_db_optional(row["delivered_at"]),
        read_at=_from_db_optional(row["read_at"]),
        failed_at=_from_db_optional(row["failed_at"]),
        next_attempt_at=from_db_time(row["next_attempt_at"]),
        failure_class=row["failure_class"],
        backup_of=row["backup_of"],
        fallback=bool(row["fallback"]),
        lease_owner=row["lease_owner"],
        lease_expires_at=_from_db_optional(row["lease_expires_at"]),
        duplicate_message_ids=tuple(row["duplicate_message_ids"] or ()),
    )


def audit_event_to_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "sequence": event.sequence,
        "occurred_at": to_db_time(event.occurred_at),
        "actor_type": event.actor.type.value,
        "actor_id": event.actor.id,
        "actor_role": event.actor.role.value,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "old_values": None if event.old_values is None else dict(event.old_values),
        "new_values": None if event.new_values is None else dict(event.new_values),
        "changed_fields": list(event.changed_fields),
        "reason": event.reason,
        "request_id": event.request_id,
        "retention_until": event.retention_until,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def audit_event_from_row(row: Mapping[Any, Any]) -> AuditEvent:
    return AuditEvent(
        id=row["id"],
        sequence=int(row["sequence"]),
        occurred_at=from_db_time(row["occurred_at"]),
        actor=Actor(type=row["actor_type"], id=row["actor_id"], role=row["actor_role"]),
        action=row["action"],
        entity_type=row["entity_type"],
        entity_id=row["entity_id"],
        old_values=row["old_values"],
        new_values=row["new_values"],
        changed_fields=tuple(row["changed_fields"]),
        reason=row["reason"],
        request_id=row["request_id"],
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def incident_to_row(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.id,
        "type": incident.type.value,
        "severity": incident.severity.value,
        "status": incident.status.value,
        "title": incident.title,
        "description": incident.description,
        "pack_id": incident.pack_id,
        "advisor_id": incident.advisor_id,
        "assignee_id": incident.assignee_id,
        "resolution_actions": list(incident.resolution_actions),
        "opened_at": to_db_time(incident.opened_at),
        "updated_at": to_db_time(incident.updated_at),
        "resolved_at": _to_db_optional(incident.resolved_at),
        "closed_at": _to_db_optional(incident.closed_at),
    }


def incident_from_row(row: Mapping[Any, Any]) -> Incident:
    return Incident(
        id=row["id"],
        type=row["type"],
        severity=row["severity"],
        status=row["status"],
        title=row["title"],
        description=row["description"],
        pack_id=row["pack_id"],
        advisor_id=row["advisor_id"],
        assignee_id=row["assignee_id"],
        resolution_actions=tuple(row["resolution_actions"]),
        opened_at=from_db_time(row["opened_at"]),
        updated_at=from_db_time(row["updated_at"]),
        resolved_at=_from_db_optional(row["resolved_at"]),
        closed_at=_from_db_optional(row["closed_at"]),
    )


def library_entry_to_row(entry: LibraryEntry) -> dict[str, Any]:
    return {
        "pack_id": entry.pack_id,
        "topic": entry.topic,
        # A sorted list: JSON has no sets, and equal entries store equal text.
        "applicable_months": sorted(entry.applicable_months),
        "expires_on": entry.expires_on,
        "priority": entry.priority,
        "engagement": entry.engagement,
        "quality": entry.quality,
        "created_on": entry.created_on,
        "active": entry.active,
    }


def library_entry_from_row(row: Mapping[Any, Any]) -> LibraryEntry:
    return LibraryEntry(
        pack_id=row["pack_id"],
        topic=row["topic"],
        applicable_months=row["applicable_months"],
        expires_on=row["expires_on"],
        priority=row["priority"],
        engagement=row["engagement"],
        quality=row["quality"],
        created_on=row["created_on"],
        active=bool(row["active"]),
    )


def selection_to_row(record: SelectionRecord) -> dict[str, Any]:
    s = record.selection
    return {
        "id": record.id,
        "advisor_id": s.advisor_id,
        "date": s.date,
        "pack_id": s.pack_id,
        "trigger_reason": s.trigger_reason.value,
        "score": s.score,
        "confidence": s.confidence,
        "breakdown": s.breakdown.as_dict(),
        # [[pack id, score], ...] best first; JSON floats round-trip exactly (shortest repr).
        "runner_ups": [[str(pack_id), points] for pack_id, points in s.runner_ups],
        "considered": s.considered,
        "filtered_out": dict(s.filtered_out),
        "weights": attrs.asdict(s.weights),
        "algorithm_version": s.algorithm_version,
        "rulebook_version": record.rulebook_version,
        "selected_at": to_db_time(record.selected_at),
    }


def selection_from_row(row: Mapping[Any, Any]) -> SelectionRecord:
    selection = Selection(
        advisor_id=row["advisor_id"],
        date=row["date"],
        pack_id=row["pack_id"],
        score=row["score"],
        breakdown=ScoreBreakdown(**row["breakdown"]),
        runner_ups=[(uuid.UUID(pack_id), points) for pack_id, points in row["runner_ups"]],
        confidence=row["confidence"],
        algorithm_version=row["algorithm_version"],
        trigger_reason=row["trigger_reason"],
        considered=row["considered"],
        filtered_out=row["filtered_out"],
        weights=Weights(**row["weights"]),
    )
    return SelectionRecord(
        id=row["id"],
        selection=selection,
        rulebook_version=row["rulebook_version"],
        selected_at=from_db_time(row["selected_at"]),
    )


def inbound_to_row(
    message: InboundMessage, subject: uuid.UUID, cipher: AESGCM, from_index: str
) -> dict[str, Any]:
    """The row of ``message``, its number and text sealed under ``subject``'s data key."""
    return {
        "id": message.id,
        "provider_message_id": message.provider_message_id,
        "phone_number_id": message.phone_number_id,
        "subject_id": subject,
        "from_sealed": seal(cipher, subject, "from", message.from_number),
        "from_index": from_index,
        "advisor_id": message.advisor_id,
        "type": message.type,
        "body_sealed": None
        if message.body is None
        else seal(cipher, subject, "body", message.body),
        "sent_at": to_db_time(message.sent_at),
        "received_at": to_db_time(message.received_at),
    }


def inbound_from_row(row: Mapping[Any, Any], cipher: AESGCM) -> InboundMessage:
    subject = row["subject_id"]
    body = row["body_sealed"]
    return InboundMessage(
        id=row["id"],
        provider_message_id=row["provider_message_id"],
        phone_number_id=row["phone_number_id"],
        from_number=open_sealed(cipher, subject, "from", row["from_sealed"]),
        advisor_id=row["advisor_id"],
        type=row["type"],
        body=None if body is None else open_sealed(cipher, subject, "body", body),
        sent_at=from_db_time(row["sent_at"]),
        received_at=from_db_time(row["received_at"]),
    )


def consent_to_row(record: ConsentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "advisor_id": record.advisor_id,
        "purpose": record.purpose.value,
        "policy_version": record.policy_version,
        "channel": record.channel,
        "given_at": to_db_time(record.given_at),
        "ended_at": _to_db_optional(record.ended_at),
        "end_reason": None if record.end_reason is None else record.end_reason.value,
    }


def consent_from_row(row: Mapping[Any, Any]) -> ConsentRecord:
    return ConsentRecord(
        id=row["id"],
        advisor_id=row["advisor_id"],
        purpose=row["purpose"],
        policy_version=row["policy_version"],
        channel=row["channel"],
        given_at=from_db_time(row["given_at"]),
        ended_at=_from_db_optional(row["ended_at"]),
        end_reason=row["end_reason"],
    )


#: ``ai_jobs.cost_inr`` is ``Numeric(14, 4)``: rupees to a hundredth of a paisa.
COST_QUANTUM = Decimal("0.0001")


def cost_to_db(value: Decimal) -> Decimal:
    """``value`` at the column's scale, rounded half up as PostgreSQL's ``numeric`` rounds, so
    every backend stores (and the fakes keep) the same amount."""
    return value.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def cost_from_db(value: Decimal | float | int | str | None) -> Decimal:
    """A stored cost, or a sum of them, as a ``Decimal`` with exactly four places (``None``,
    an empty sum, is zero). PostgreSQL hands back ``Decimal``; SQLite's REAL reaches here
    already turned into a ``Decimal`` by SQLAlchemy, at the column's scale."""
    if value is None:
        return Decimal(0).quantize(COST_QUANTUM)
    return Decimal(value).quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


def ai_job_to_row(job: AiJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "advisor_id": job.advisor_id,
        "stage": job.stage.value,
        "model": job.model,
        "prompt_version": job.prompt_version,
        "input_hash": job.input_hash,
        "output_hash": job.output_hash,
        "input_tokens": job.usage.input_tokens,
        "output_tokens": job.usage.output_tokens,
        "latency_ms": job.latency_ms,
        "cost_inr": cost_to_db(job.cost_inr),
        "cache_hit": job.cache_hit,
        "outcome": job.outcome.value,
        "error": job.error,
        "created_at": to_db_time(job.created_at),
    }


def ai_job_from_row(row: Mapping[Any, Any]) -> AiJob:
    return AiJob(
        id=row["id"],
        advisor_id=row["advisor_id"],
        stage=row["stage"],
        model=row["model"],
        prompt_version=row["prompt_version"],
        input_hash=row["input_hash"],
        output_hash=row["output_hash"],
        usage=TokenUsage(int(row["input_tokens"]), int(row["output_tokens"])),
        latency_ms=int(row["latency_ms"]),
        cost_inr=cost_from_db(row["cost_inr"]),
        cache_hit=bool(row["cache_hit"]),
        outcome=row["outcome"],
        error=row["error"],
        created_at=from_db_time(row["created_at"]),
    )


def cached_answer_to_row(answer: CachedAnswer) -> dict[str, Any]:
    return {
        "key": answer.key,
        "stage": answer.stage.value,
        "model": answer.model,
        "prompt_version": answer.prompt_version,
        "document": dict(answer.document),
        "created_at": to_db_time(answer.created_at),
        "expires_at": to_db_time(answer.expires_at),
        "advisor_id": answer.advisor_id,
    }


def cached_answer_from_row(row: Mapping[Any, Any]) -> CachedAnswer:
    return CachedAnswer(
        key=row["key"],
        stage=row["stage"],
        model=row["model"],
        prompt_version=row["prompt_version"],
        document=row["document"],
        created_at=from_db_time(row["created_at"]),
        expires_at=from_db_time(row["expires_at"]),
        advisor_id=row["advisor_id"],
    )


def variant_snapshot_from_row(row: Mapping[Any, Any], language: Language) -> VariantSnapshot:
    """A row of ``id, status, approved_hash, variant`` (one language's fields, or ``None``
    when the pack has no such language) as a ``VariantSnapshot``."""
    fields = row["variant"]
    return VariantSnapshot(
        pack_id=row["id"],
        language=language,
        status=row["status"],
        approved_hash=row["approved_hash"],
        variant=None if fields is None else ContentVariant(**fields),
    )
