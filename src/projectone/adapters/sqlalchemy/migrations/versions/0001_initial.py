"""Initial schema: advisors, content packs, deliveries.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Written by hand and frozen: it spells out names, values and constraints instead of importing
``tables.py``, so later edits to the tables cannot change what this revision creates. Names are
wrapped in ``op.f`` (final) so the target metadata's naming convention does not rename them.
A test checks that the migrated schema and ``tables.metadata`` agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DIGITS = "'0123456789'"


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "advisors",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("registration_no", sa.String(16), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("whatsapp_number", sa.String(16), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("send_time", sa.Time(), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("whatsapp_opt_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_advisors")),
        sa.UniqueConstraint("registration_no", name=op.f("uq_advisors_registration_no")),
        sa.UniqueConstraint("email", name=op.f("uq_advisors_email")),
        sa.UniqueConstraint("whatsapp_number", name=op.f("uq_advisors_whatsapp_number")),
        sa.CheckConstraint(_in("type", "RIA", "MFD"), name=op.f("ck_advisors_type")),
        sa.CheckConstraint(_in("tier", "basic", "standard", "pro"), name=op.f("ck_advisors_tier")),
        sa.CheckConstraint(
            _in("status", "pending", "active", "suspended", "cancelled"),
            name=op.f("ck_advisors_status"),
        ),
        sa.CheckConstraint("length(name) BETWEEN 1 AND 200", name=op.f("ck_advisors_name_length")),
        sa.CheckConstraint(
            "(type = 'RIA' AND length(registration_no) = 12"
            " AND substr(registration_no, 1, 3) = 'INA'"
            f" AND ltrim(substr(registration_no, 4), {_DIGITS}) = '')"
            " OR (type = 'MFD' AND length(registration_no) BETWEEN 5 AND 11"
            " AND substr(registration_no, 1, 4) = 'ARN-'"
            f" AND ltrim(substr(registration_no, 5), {_DIGITS}) = '')",
            name=op.f("ck_advisors_registration_no_shape"),
        ),
        sa.CheckConstraint("email LIKE '%_@_%._%'", name=op.f("ck_advisors_email_shape")),
        sa.CheckConstraint(
            "length(whatsapp_number) BETWEEN 9 AND 16"
            " AND substr(whatsapp_number, 1, 1) = '+'"
            " AND substr(whatsapp_number, 2, 1) <> '0'"
            f" AND ltrim(substr(whatsapp_number, 2), {_DIGITS}) = ''",
            name=op.f("ck_advisors_whatsapp_number_shape"),
        ),
        sa.CheckConstraint(
            "json_array_length(languages) >= 1", name=op.f("ck_advisors_languages_not_empty")
        ),
    )

    op.create_table(
        "content_packs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("variants", sa.JSON(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("scheduled_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_packs")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_content_packs_advisor_id_advisors")
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["content_packs.id"],
            name=op.f("fk_content_packs_parent_id_content_packs"),
        ),
        sa.CheckConstraint(
            _in("type", "daily_post", "market_update", "educational", "promotional"),
            name=op.f("ck_content_packs_type"),
        ),
        sa.CheckConstraint(
            _in(
                "status",
                "draft",
                "pending_review",
                "approved",
                "rejected",
                "scheduled",
                "delivered",
                "archived",
            ),
            name=op.f("ck_content_packs_status"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_content_packs_version_positive")),
        sa.CheckConstraint(
            "length(content_hash) = 64", name=op.f("ck_content_packs_content_hash_length")
        ),
        sa.CheckConstraint(
            "json_array_length(languages) >= 1", name=op.f("ck_content_packs_languages_not_empty")
        ),
        sa.CheckConstraint(
            "status <> 'scheduled' OR scheduled_date IS NOT NULL",
            name=op.f("ck_content_packs_scheduled_has_date"),
        ),
    )
    op.create_index(
        op.f("ix_content_packs_advisor_id_scheduled_date_status"),
        "content_packs",
        ["advisor_id", "scheduled_date", "status"],
    )
    op.create_index(op.f("ix_content_packs_parent_id"), "content_packs", ["parent_id"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=False),
        sa.Column("pack_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("variant", sa.String(16), nullable=False),
        sa.Column("to_number", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_deliveries_advisor_id_advisors")
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"], ["content_packs.id"], name=op.f("fk_deliveries_pack_id_content_packs")
        ),
        sa.UniqueConstraint(
            "advisor_id",
            "date",
            "channel",
            "variant",
            name=op.f("uq_deliveries_advisor_id_date_channel_variant"),
        ),
        sa.CheckConstraint(_in("language", "en", "hi", "mr"), name=op.f("ck_deliveries_language")),
        sa.CheckConstraint(_in("channel", "whatsapp", "sms"), name=op.f("ck_deliveries_channel")),
        sa.CheckConstraint(_in("variant", "post", "status"), name=op.f("ck_deliveries_variant")),
        sa.CheckConstraint(
            _in("status", "queued", "sending", "sent", "delivered", "read", "failed", "expired"),
            name=op.f("ck_deliveries_status"),
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_deliveries_attempts_non_negative")),
        sa.CheckConstraint(
            "length(content_hash) = 64", name=op.f("ck_deliveries_content_hash_length")
        ),
        sa.CheckConstraint(
            "sent_at IS NULL OR delivered_at IS NULL OR sent_at <= delivered_at",
            name=op.f("ck_deliveries_sent_before_delivered"),
        ),
        sa.CheckConstraint(
            "delivered_at IS NULL OR read_at IS NULL OR delivered_at <= read_at",
            name=op.f("ck_deliveries_delivered_before_read"),
        ),
        sa.CheckConstraint(
            "sent_at IS NULL OR read_at IS NULL OR sent_at <= read_at",
            name=op.f("ck_deliveries_sent_before_read"),
        ),
        sa.CheckConstraint(
            "status <> 'failed' OR error_code IS NOT NULL",
            name=op.f("ck_deliveries_failed_has_error_code"),
        ),
    )
    op.create_index(
        op.f("ix_deliveries_status_scheduled_for"), "deliveries", ["status", "scheduled_for"]
    )
    op.create_index(op.f("ix_deliveries_date"), "deliveries", ["date"])
    op.create_index(
        op.f("ix_deliveries_provider_message_id"), "deliveries", ["provider_message_id"]
    )
    op.create_index(op.f("ix_deliveries_pack_id"), "deliveries", ["pack_id"])


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("content_packs")
    op.drop_table("advisors")
