"""The relational schema: SQLAlchemy Core tables for advisors (personal fields sealed), their
data keys and consents, content packs, deliveries, the audit trail, compliance incidents, and
the AI studio's jobs and response cache.

The migrations in ``migrations/versions`` are the schema of record; this module describes the
same schema for queries and is checked against them by a test (autogenerate finds no
difference). Enumerations are ``String`` columns with CHECK constraints rather than native
PostgreSQL enums, so one schema works on SQLite and PostgreSQL and adding a value is a plain
constraint change instead of an ``ALTER TYPE``.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from projectone.domain.advisor import AdvisorStatus, AdvisorType, Tier
from projectone.domain.ai import AiOutcome, AiStage
from projectone.domain.audit import ActorType, Role
from projectone.domain.consent import ConsentEnd, ConsentPurpose
from projectone.domain.content import ContentStatus, ContentType
from projectone.domain.delivery import Channel, DeliveryStatus, Variant
from projectone.domain.fallback import TriggerReason
from projectone.domain.incident import IncidentSeverity, IncidentStatus, IncidentType
from projectone.domain.language import Language

__all__ = [
    "ADVISORS",
    "AI_CACHE",
    "AI_JOBS",
    "AUDIT_EVENTS",
    "CONSENTS",
    "CONTENT_PACKS",
    "DATA_KEYS",
    "DELIVERIES",
    "ERASED_OR_PERSONAL",
    "FALLBACK_LIBRARY",
    "FALLBACK_SELECTIONS",
    "INBOUND_MESSAGES",
    "INCIDENTS",
    "NAMING_CONVENTION",
    "advisors",
    "ai_cache",
    "ai_jobs",
    "audit_events",
    "consents",
    "content_packs",
    "data_keys",
    "deliveries",
    "enum_check",
    "fallback_library",
    "fallback_selections",
    "inbound_messages",
    "incidents",
    "metadata",
]

# Deterministic constraint names: migrations can drop/alter them by name on every backend, and
# a ConflictError can name the rule that was broken identically on SQLite and PostgreSQL.
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

ADVISORS = "advisors"
CONTENT_PACKS = "content_packs"
DELIVERIES = "deliveries"
AUDIT_EVENTS = "audit_events"
INCIDENTS = "incidents"
FALLBACK_LIBRARY = "fallback_library"
FALLBACK_SELECTIONS = "fallback_selections"
INBOUND_MESSAGES = "inbound_messages"
AI_JOBS = "ai_jobs"
AI_CACHE = "ai_cache"
DATA_KEYS = "data_keys"
CONSENTS = "consents"

#: An advisor row holds all of its personal fields, or (erased) none of them.
ERASED_OR_PERSONAL = (
    "(erased_at IS NULL AND name_sealed IS NOT NULL AND email_sealed IS NOT NULL"
    " AND whatsapp_sealed IS NOT NULL AND email_index IS NOT NULL"
    " AND whatsapp_index IS NOT NULL)"
    " OR (erased_at IS NOT NULL AND name_sealed IS NULL AND email_sealed IS NULL"
    " AND whatsapp_sealed IS NULL AND email_index IS NULL AND whatsapp_index IS NULL)"
)

_DIGITS = "'0123456789'"


def enum_check(column: str, values: type[enum.StrEnum]) -> str:
    """A CHECK expression limiting ``column`` to the values of a domain enum."""
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({allowed})"


def _all_digits(expr: str) -> str:
    # ltrim(x, chars) exists with the same meaning on SQLite and PostgreSQL; neither LIKE nor
    # GLOB/regex is portable, and this is what "only digits" can be written as in both.
    return f"ltrim({expr}, {_DIGITS}) = ''"


advisors = sa.Table(
    ADVISORS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    # Personal fields are sealed (AES-GCM under the advisor's data key, keyring.py); equality
    # lookups go through keyed hashes (HMAC) of the email and the WhatsApp number. All five
    # are NULL once the advisor is erased.
    sa.Column("name_sealed", sa.Text(), nullable=True),
    sa.Column("email_sealed", sa.Text(), nullable=True),
    sa.Column("whatsapp_sealed", sa.Text(), nullable=True),
    sa.Column("email_index", sa.String(64), nullable=True),
    sa.Column("whatsapp_index", sa.String(64), nullable=True),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("registration_no", sa.String(16), nullable=False),
    # An ordered list of language codes: the first is the advisor's preferred language.
    sa.Column("languages", sa.JSON(), nullable=False),
    sa.Column("send_time", sa.Time(), nullable=False),
    sa.Column("tier", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("whatsapp_opt_in_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("processing_withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("registration_no"),
    sa.UniqueConstraint("email_index"),
    sa.UniqueConstraint("whatsapp_index"),
    sa.CheckConstraint(enum_check("type", AdvisorType), name="type"),
    sa.CheckConstraint(enum_check("tier", Tier), name="tier"),
    sa.CheckConstraint(enum_check("status", AdvisorStatus), name="status"),
    # RIA: "INA" + 9 digits; MFD: "ARN-" + 1 to 7 digits (see domain/advisor.py).
    sa.CheckConstraint(
        "(type = 'RIA' AND length(registration_no) = 12"
        " AND substr(registration_no, 1, 3) = 'INA'"
        f" AND {_all_digits('substr(registration_no, 4)')})"
        " OR (type = 'MFD' AND length(registration_no) BETWEEN 5 AND 11"
        " AND substr(registration_no, 1, 4) = 'ARN-'"
        f" AND {_all_digits('substr(registration_no, 5)')})",
        name="registration_no_shape",
    ),
    sa.CheckConstraint(ERASED_OR_PERSONAL, name="personal_unless_erased"),
    sa.CheckConstraint(
        "erased_at IS NULL OR (status = 'cancelled' AND whatsapp_opt_in_at IS NULL)",
        name="erased_is_cancelled",
    ),
    sa.CheckConstraint("length(email_index) = 64", name="email_index_length"),
    sa.CheckConstraint("length(whatsapp_index) = 64", name="whatsapp_index_length"),
    # json_array_length exists on SQLite (JSON1) and on PostgreSQL for the json type.
    sa.CheckConstraint("json_array_length(languages) >= 1", name="languages_not_empty"),
)

data_keys = sa.Table(
    DATA_KEYS,
    metadata,
    # An advisor's id, or for a sender we do not know the id derived from their number's
    # keyed hash (keyring.py). No foreign key: erasing a person deletes this row and keeps
    # theirs.
    sa.Column("subject_id", sa.Uuid(), primary_key=True),
    # The data key wrapped by the master key (KeyStore), base64.
    sa.Column("wrapped_key", sa.Text(), nullable=False),
    sa.Column("master_key_id", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

consents = sa.Table(
    CONSENTS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("policy_version", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_reason", sa.String(16), nullable=True),
    sa.CheckConstraint(enum_check("purpose", ConsentPurpose), name="purpose"),
    sa.CheckConstraint(
        f"end_reason IS NULL OR {enum_check('end_reason', ConsentEnd)}", name="end_reason"
    ),
    sa.CheckConstraint(
        "(ended_at IS NULL AND end_reason IS NULL)"
        " OR (ended_at IS NOT NULL AND end_reason IS NOT NULL AND ended_at >= given_at)",
        name="ended_with_reason",
    ),
    sa.Index(None, "advisor_id", "purpose"),
    # Retention: records ended long enough ago.
    sa.Index(None, "ended_at"),
)

content_packs = sa.Table(
    CONTENT_PACKS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    # NULL for packs of the shared fallback library.
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=True),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),
    # {"en": {"title": ..., "body": ..., "cta": ..., "disclaimer": ...}, "hi": {...}}
    sa.Column("variants", sa.JSON(), nullable=False),
    # The variant languages again, as a list, so queries and the non-empty CHECK can use it.
    sa.Column("languages", sa.JSON(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("parent_id", sa.Uuid(), sa.ForeignKey(f"{CONTENT_PACKS}.id"), nullable=True),
    sa.Column("scheduled_date", sa.Date(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # The workflow's record (domain/approval.py): author, last compliance check, review, and
    # the content hash that was approved (what is sent must still hash to it).
    sa.Column("author_id", sa.String(128), nullable=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("risk_score", sa.Integer(), nullable=True),
    sa.Column("compliance_verdict", sa.String(8), nullable=True),
    sa.Column("rulebook_version", sa.String(64), nullable=True),
    sa.Column("findings", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("requires_human", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("escalated", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("reviewer_id", sa.String(128), nullable=True),
    sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("review_note", sa.Text(), nullable=True),
    sa.Column("approved_hash", sa.String(64), nullable=True),
    sa.CheckConstraint(enum_check("type", ContentType), name="type"),
    sa.CheckConstraint(enum_check("status", ContentStatus), name="status"),
    sa.CheckConstraint("version >= 1", name="version_positive"),
    sa.CheckConstraint("length(content_hash) = 64", name="content_hash_length"),
    sa.CheckConstraint("json_array_length(languages) >= 1", name="languages_not_empty"),
    sa.CheckConstraint(
        "status <> 'scheduled' OR scheduled_date IS NOT NULL", name="scheduled_has_date"
    ),
    sa.CheckConstraint(
        "risk_score IS NULL OR risk_score BETWEEN 0 AND 100", name="risk_score_range"
    ),
    sa.CheckConstraint(
        "compliance_verdict IS NULL OR compliance_verdict IN ('pass', 'review', 'block')",
        name="compliance_verdict",
    ),
    sa.CheckConstraint(
        "approved_hash IS NULL OR length(approved_hash) = 64", name="approved_hash_length"
    ),
    # Nothing is sendable or sent without an approval on record, even if code forgets.
    sa.CheckConstraint(
        "status NOT IN ('approved', 'scheduled', 'delivered') OR approved_hash IS NOT NULL",
        name="approved_has_hash",
    ),
    sa.CheckConstraint(
        "status NOT IN ('approved', 'rejected', 'scheduled', 'delivered')"
        " OR reviewer_id IS NOT NULL",
        name="reviewed_has_reviewer",
    ),
    # The review queue: pending packs by risk and age.
    sa.Index(None, "status", "risk_score"),
    # ContentRepository.sendable_for: an advisor's packs for a date in a given status.
    sa.Index(None, "advisor_id", "scheduled_date", "status"),
    sa.Index(None, "parent_id"),
)

deliveries = sa.Table(
    DELIVERIES,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=False),
    sa.Column("pack_id", sa.Uuid(), sa.ForeignKey(f"{CONTENT_PACKS}.id"), nullable=False),
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("variant", sa.String(16), nullable=False),
    # The domain's ``to``, sealed under the advisor's data key; NULL once they are erased.
    sa.Column("to_sealed", sa.Text(), nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
    # SHA-256 of the WhatsApp text planned (migration 0006); NULL on SMS backups and on
    # deliveries planned before it.
    sa.Column("message_hash", sa.String(64), nullable=True),
    # Written from Delivery.sla_target so SLA reports can filter and group in SQL.
    sa.Column("sla_target", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("provider_message_id", sa.String(255), nullable=True),
    sa.Column("error_code", sa.String(64), nullable=True),
    sa.Column("error_message", sa.Text(), nullable=True),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("failure_class", sa.String(32), nullable=True),
    sa.Column("backup_of", sa.Uuid(), sa.ForeignKey(f"{DELIVERIES}.id"), nullable=True),
    sa.Column("fallback", sa.Boolean(), nullable=False),
    sa.Column("lease_owner", sa.String(128), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    # Message ids of sends beyond the first that the provider reported for this delivery.
    sa.Column("duplicate_message_ids", sa.JSON(), nullable=True),
    # Planning is idempotent: one delivery per advisor, date, channel and variant.
    sa.UniqueConstraint("advisor_id", "date", "channel", "variant"),
    sa.CheckConstraint(enum_check("language", Language), name="language"),
    sa.CheckConstraint(enum_check("channel", Channel), name="channel"),
    sa.CheckConstraint(enum_check("variant", Variant), name="variant"),
    sa.CheckConstraint(enum_check("status", DeliveryStatus), name="status"),
    sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    sa.CheckConstraint("length(content_hash) = 64", name="content_hash_length"),
    sa.CheckConstraint(
        "sent_at IS NULL OR delivered_at IS NULL OR sent_at <= delivered_at",
        name="sent_before_delivered",
    ),
    sa.CheckConstraint(
        "delivered_at IS NULL OR read_at IS NULL OR delivered_at <= read_at",
        name="delivered_before_read",
    ),
    sa.CheckConstraint(
        "sent_at IS NULL OR read_at IS NULL OR sent_at <= read_at", name="sent_before_read"
    ),
    sa.CheckConstraint(
        "status <> 'failed' OR error_code IS NOT NULL", name="failed_has_error_code"
    ),
    sa.CheckConstraint("backup_of IS NULL OR channel = 'sms'", name="backup_is_sms"),
    sa.CheckConstraint(
        "message_hash IS NULL OR length(message_hash) = 64", name="message_hash_length"
    ),
    sa.CheckConstraint("lease_owner IS NULL OR status = 'sending'", name="lease_while_sending"),
    # DeliveryRepository.due/claim_due: queued deliveries in the order they are claimed (the
    # id breaks ties), so a claim reads its batch off the index instead of sorting the queue.
    sa.Index(None, "status", "next_attempt_at", "id"),
    # DeliveryRepository.expired_leases: sending deliveries whose worker is gone. Partial, so
    # that it cannot compete with the index above for a claim, and stays as small as the
    # deliveries in flight; queries name the status in their text (repositories._in_status).
    sa.Index(
        "ix_deliveries_sending_lease_expires_at",
        "lease_expires_at",
        "id",
        postgresql_where=sa.text("status = 'sending'"),
        sqlite_where=sa.text("status = 'sending'"),
    ),
    sa.Index(None, "backup_of"),
    # Reports and keys_for_date/for_date read one morning at a time.
    sa.Index(None, "date"),
    # Status webhooks find the delivery by the provider's message id.
    sa.Index(None, "provider_message_id"),
    sa.Index(None, "pack_id"),
)

fallback_library = sa.Table(
    FALLBACK_LIBRARY,
    metadata,
    # The library's packs are ordinary content packs (shared: no advisor), approved once.
    sa.Column("pack_id", sa.Uuid(), sa.ForeignKey(f"{CONTENT_PACKS}.id"), primary_key=True),
    sa.Column("topic", sa.String(64), nullable=False),
    sa.Column("applicable_months", sa.JSON(), nullable=False),
    sa.Column("expires_on", sa.Date(), nullable=True),
    sa.Column("priority", sa.Integer(), nullable=False),
    sa.Column("engagement", sa.Float(), nullable=False),
    sa.Column("quality", sa.Integer(), nullable=False),
    sa.Column("created_on", sa.Date(), nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.CheckConstraint("priority BETWEEN 0 AND 100", name="priority_range"),
    sa.CheckConstraint("engagement BETWEEN 0 AND 1", name="engagement_range"),
    sa.CheckConstraint("quality BETWEEN 0 AND 100", name="quality_range"),
)

fallback_selections = sa.Table(
    FALLBACK_SELECTIONS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=False),
    sa.Column("date", sa.Date(), nullable=False),
    sa.Column("pack_id", sa.Uuid(), sa.ForeignKey(f"{CONTENT_PACKS}.id"), nullable=False),
    sa.Column("trigger_reason", sa.String(32), nullable=False),
    sa.Column("score", sa.Float(), nullable=False),
    sa.Column("confidence", sa.Float(), nullable=False),
    sa.Column("breakdown", sa.JSON(), nullable=False),
    sa.Column("runner_ups", sa.JSON(), nullable=False),
    sa.Column("considered", sa.Integer(), nullable=False),
    sa.Column("filtered_out", sa.JSON(), nullable=False),
    sa.Column("weights", sa.JSON(), nullable=False),
    sa.Column("algorithm_version", sa.String(64), nullable=False),
    sa.Column("rulebook_version", sa.String(64), nullable=True),
    sa.Column("selected_at", sa.DateTime(timezone=True), nullable=False),
    # One fallback per advisor and morning: re-planning finds it instead of choosing again.
    sa.UniqueConstraint("advisor_id", "date"),
    sa.CheckConstraint(enum_check("trigger_reason", TriggerReason), name="trigger_reason"),
    sa.Index(None, "date"),
)

inbound_messages = sa.Table(
    INBOUND_MESSAGES,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    # Meta redelivers webhooks: the wamid makes recording one idempotent.
    sa.Column("provider_message_id", sa.String(255), nullable=False),
    sa.Column("phone_number_id", sa.String(64), nullable=True),
    # Whose data key seals the number and the text: the advisor's, or for a number we do
    # not know, a subject of its own (keyring.py).
    sa.Column("subject_id", sa.Uuid(), nullable=False),
    sa.Column("from_sealed", sa.Text(), nullable=False),
    sa.Column("from_index", sa.String(64), nullable=False),
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("body_sealed", sa.Text(), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("provider_message_id"),
    sa.Index(None, "advisor_id"),
    sa.Index(None, "subject_id"),
    # Retention: processing logs by age.
    sa.Index(None, "received_at"),
)

audit_events = sa.Table(
    AUDIT_EVENTS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    # Position in the one hash chain; unique, so two writers can never both extend the same
    # head (the second one's insert fails and is retried on the new head).
    sa.Column("sequence", sa.BigInteger(), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_type", sa.String(16), nullable=False),
    sa.Column("actor_id", sa.String(128), nullable=False),
    sa.Column("actor_role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("entity_type", sa.String(32), nullable=False),
    sa.Column("entity_id", sa.String(64), nullable=False),
    sa.Column("old_values", sa.JSON(), nullable=True),
    sa.Column("new_values", sa.JSON(), nullable=True),
    sa.Column("changed_fields", sa.JSON(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    sa.Column("retention_until", sa.Date(), nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("sequence"),
    sa.UniqueConstraint("hash"),
    sa.CheckConstraint("sequence >= 1", name="sequence_positive"),
    sa.CheckConstraint("length(hash) = 64", name="hash_length"),
    sa.CheckConstraint("length(prev_hash) = 64", name="prev_hash_length"),
    sa.CheckConstraint(enum_check("actor_type", ActorType), name="actor_type"),
    sa.CheckConstraint(enum_check("actor_role", Role), name="actor_role"),
    # The history of one pack, advisor or incident.
    sa.Index(None, "entity_type", "entity_id"),
    # Daily digests and retention read by time.
    sa.Index(None, "occurred_at"),
)

incidents = sa.Table(
    INCIDENTS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("description", sa.Text(), nullable=False),
    sa.Column("pack_id", sa.Uuid(), sa.ForeignKey(f"{CONTENT_PACKS}.id"), nullable=True),
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=True),
    sa.Column("assignee_id", sa.String(128), nullable=True),
    sa.Column("resolution_actions", sa.JSON(), nullable=False),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(enum_check("type", IncidentType), name="type"),
    sa.CheckConstraint(enum_check("severity", IncidentSeverity), name="severity"),
    sa.CheckConstraint(enum_check("status", IncidentStatus), name="status"),
    sa.Index(None, "status"),
    sa.Index(None, "pack_id"),
    sa.Index(None, "advisor_id"),
)

ai_jobs = sa.Table(
    AI_JOBS,
    metadata,
    sa.Column("id", sa.Uuid(), primary_key=True),
    # NULL for requests made for no advisor (an admin trying the studio, a library pack).
    sa.Column("advisor_id", sa.Uuid(), sa.ForeignKey(f"{ADVISORS}.id"), nullable=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("prompt_version", sa.String(64), nullable=False),
    # What went in and came out, as SHA-256 digests: the text itself is not kept.
    sa.Column("input_hash", sa.String(64), nullable=False),
    sa.Column("output_hash", sa.String(64), nullable=True),
    sa.Column("input_tokens", sa.Integer(), nullable=False),
    sa.Column("output_tokens", sa.Integer(), nullable=False),
    sa.Column("latency_ms", sa.Integer(), nullable=False),
    # INR to a hundredth of a paisa. SQLite keeps it as REAL (exact per value at this size);
    # sums are taken over whole ten-thousandths there (repositories.py) to stay exact.
    sa.Column("cost_inr", sa.Numeric(14, 4), nullable=False),
    sa.Column("cache_hit", sa.Boolean(), nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint(enum_check("stage", AiStage), name="stage"),
    sa.CheckConstraint(enum_check("outcome", AiOutcome), name="outcome"),
    sa.CheckConstraint("input_tokens >= 0", name="input_tokens_non_negative"),
    sa.CheckConstraint("output_tokens >= 0", name="output_tokens_non_negative"),
    sa.CheckConstraint("latency_ms >= 0", name="latency_ms_non_negative"),
    sa.CheckConstraint("cost_inr >= 0", name="cost_inr_non_negative"),
    sa.CheckConstraint("length(input_hash) = 64", name="input_hash_length"),
    sa.CheckConstraint(
        "output_hash IS NULL OR length(output_hash) = 64", name="output_hash_length"
    ),
    # AiJobRepository.count_for: an advisor's calls of one stage today (the daily quota).
    sa.Index(None, "advisor_id", "stage", "created_at"),
    # AiJobRepository.spend/usage: a month's jobs.
    sa.Index(None, "created_at"),
)

ai_cache = sa.Table(
    AI_CACHE,
    metadata,
    # fingerprint(): SHA-256 of the stage, model, prompt version and inputs.
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("stage", sa.String(32), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("prompt_version", sa.String(64), nullable=False),
    sa.Column("document", sa.JSON(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    # Whose request it answered: erasing the advisor deletes their answers (no foreign key,
    # the cache is disposable).
    sa.Column("advisor_id", sa.Uuid(), nullable=True),
    sa.CheckConstraint(enum_check("stage", AiStage), name="stage"),
    # AiCache.purge: expired answers.
    sa.Index(None, "expires_at"),
    sa.Index(None, "advisor_id"),
)
