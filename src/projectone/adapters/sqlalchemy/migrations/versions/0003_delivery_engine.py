"""Delivery engine: leased work queue, retries, SMS backups, the fallback library and its
selections, inbound WhatsApp messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:30:00

Written by hand and frozen, like 0001 and 0002. Existing deliveries become due at their
scheduled time (``next_attempt_at = scheduled_for``); a delivery left in ``sending`` by the
walking skeleton's dispatcher has no lease, which workers read as an expired one: its outcome
is unknown and the send policy decides (DESIGN.md §3.4).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TRIGGERS = "'no_content', 'compliance_failure', 'approval_delay', 'system_fallback'"


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("failure_class", sa.String(32), nullable=True))
        batch.add_column(sa.Column("backup_of", sa.Uuid(), nullable=True))
        batch.add_column(
            sa.Column("fallback", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("lease_owner", sa.String(128), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("duplicate_message_ids", sa.JSON(), nullable=True))
    op.execute("UPDATE deliveries SET next_attempt_at = scheduled_for")
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("next_attempt_at", nullable=False)
        batch.alter_column("fallback", server_default=None)
        batch.create_foreign_key(
            op.f("fk_deliveries_backup_of_deliveries"), "deliveries", ["backup_of"], ["id"]
        )
        batch.create_check_constraint(
            op.f("ck_deliveries_backup_is_sms"),
            "backup_of IS NULL OR channel = 'sms'",
        )
        batch.create_check_constraint(
            op.f("ck_deliveries_lease_while_sending"),
            "lease_owner IS NULL OR status = 'sending'",
        )
        batch.drop_index("ix_deliveries_status_scheduled_for")
        batch.create_index(
            op.f("ix_deliveries_status_next_attempt_at"), ["status", "next_attempt_at"]
        )
        batch.create_index(
            op.f("ix_deliveries_status_lease_expires_at"), ["status", "lease_expires_at"]
        )
        batch.create_index(op.f("ix_deliveries_backup_of"), ["backup_of"])

    op.create_table(
        "fallback_library",
        sa.Column("pack_id", sa.Uuid(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("applicable_months", sa.JSON(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("engagement", sa.Float(), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("pack_id", name=op.f("pk_fallback_library")),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["content_packs.id"],
            name=op.f("fk_fallback_library_pack_id_content_packs"),
        ),
        sa.CheckConstraint(
            "priority BETWEEN 0 AND 100", name=op.f("ck_fallback_library_priority_range")
        ),
        sa.CheckConstraint(
            "engagement BETWEEN 0 AND 1", name=op.f("ck_fallback_library_engagement_range")
        ),
        sa.CheckConstraint(
            "quality BETWEEN 0 AND 100", name=op.f("ck_fallback_library_quality_range")
        ),
    )
    op.create_table(
        "fallback_selections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("pack_id", sa.Uuid(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fallback_selections")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_fallback_selections_advisor_id_advisors")
        ),
        sa.ForeignKeyConstraint(
            ["pack_id"],
            ["content_packs.id"],
            name=op.f("fk_fallback_selections_pack_id_content_packs"),
        ),
        sa.UniqueConstraint(
            "advisor_id", "date", name=op.f("uq_fallback_selections_advisor_id_date")
        ),
        sa.CheckConstraint(
            f"trigger_reason IN ({_TRIGGERS})", name=op.f("ck_fallback_selections_trigger_reason")
        ),
    )
    op.create_index(op.f("ix_fallback_selections_date"), "fallback_selections", ["date"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("provider_message_id", sa.String(255), nullable=False),
        sa.Column("phone_number_id", sa.String(64), nullable=True),
        sa.Column("from_number", sa.String(32), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_inbound_messages_advisor_id_advisors")
        ),
        sa.UniqueConstraint(
            "provider_message_id", name=op.f("uq_inbound_messages_provider_message_id")
        ),
    )
    op.create_index(op.f("ix_inbound_messages_advisor_id"), "inbound_messages", ["advisor_id"])


def downgrade() -> None:
    op.drop_table("inbound_messages")
    op.drop_table("fallback_selections")
    op.drop_table("fallback_library")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_index(op.f("ix_deliveries_backup_of"))
        batch.drop_index(op.f("ix_deliveries_status_lease_expires_at"))
        batch.drop_index(op.f("ix_deliveries_status_next_attempt_at"))
        batch.create_index("ix_deliveries_status_scheduled_for", ["status", "scheduled_for"])
        batch.drop_constraint(op.f("ck_deliveries_lease_while_sending"), type_="check")
        batch.drop_constraint(op.f("ck_deliveries_backup_is_sms"), type_="check")
        batch.drop_constraint(op.f("fk_deliveries_backup_of_deliveries"), type_="foreignkey")
        batch.drop_column("duplicate_message_ids")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
        batch.drop_column("fallback")
        batch.drop_column("backup_of")
        batch.drop_column("failure_class")
        batch.drop_column("next_attempt_at")
