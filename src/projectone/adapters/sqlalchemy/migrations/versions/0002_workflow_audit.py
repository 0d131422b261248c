"""Content workflow and audit trail: review fields on packs, audit events, incidents.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:00:00

Written by hand and frozen, like 0001. Packs stored as approved, scheduled or delivered before
this revision (the walking skeleton's ``seed`` wrote them so) get their current content hash
as the approved hash and ``migration:0002`` as reviewer, so the new CHECK constraints hold and
the record says plainly that no human review is on file for them.

Audit events are append-only: a trigger refuses UPDATE and DELETE (and TRUNCATE on
PostgreSQL). That stops mistakes and casual tampering by the application's own role; a
database owner can still disable triggers, which the hash chain and external digests catch.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL_REVIEWER = "migration:0002"

_PG_APPEND_ONLY = """
CREATE FUNCTION projectone_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def upgrade() -> None:
    # 1. New columns, without constraints (existing rows are filled in first).
    with op.batch_alter_table("content_packs") as batch:
        batch.add_column(sa.Column("author_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("risk_score", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("compliance_verdict", sa.String(8), nullable=True))
        batch.add_column(sa.Column("rulebook_version", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("findings", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(
            sa.Column("requires_human", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("escalated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("reviewer_id", sa.String(128), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("approved_hash", sa.String(64), nullable=True))

    # 2. Packs approved before the workflow existed.
    op.execute(
        sa.text(
            "UPDATE content_packs SET approved_hash = content_hash, reviewer_id = :reviewer"
            " WHERE status IN ('approved', 'scheduled', 'delivered')"
        ).bindparams(reviewer=_BACKFILL_REVIEWER)
    )
    op.execute(
        sa.text(
            "UPDATE content_packs SET reviewer_id = :reviewer"
            " WHERE status = 'rejected' AND reviewer_id IS NULL"
        ).bindparams(reviewer=_BACKFILL_REVIEWER)
    )

    # 3. The constraints (SQLite rebuilds the table here; migrate.upgrade switches its foreign
    # keys off around the transaction for that).
    with op.batch_alter_table("content_packs") as batch:
        batch.create_check_constraint(
            op.f("ck_content_packs_risk_score_range"),
            "risk_score IS NULL OR risk_score BETWEEN 0 AND 100",
        )
        batch.create_check_constraint(
            op.f("ck_content_packs_compliance_verdict"),
            "compliance_verdict IS NULL OR compliance_verdict IN ('pass', 'review', 'block')",
        )
        batch.create_check_constraint(
            op.f("ck_content_packs_approved_hash_length"),
            "approved_hash IS NULL OR length(approved_hash) = 64",
        )
        batch.create_check_constraint(
            op.f("ck_content_packs_approved_has_hash"),
            "status NOT IN ('approved', 'scheduled', 'delivered') OR approved_hash IS NOT NULL",
        )
        batch.create_check_constraint(
            op.f("ck_content_packs_reviewed_has_reviewer"),
            "status NOT IN ('approved', 'rejected', 'scheduled', 'delivered')"
            " OR reviewer_id IS NOT NULL",
        )
        batch.create_index(op.f("ix_content_packs_status_risk_score"), ["status", "risk_score"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Uuid(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("sequence", name=op.f("uq_audit_events_sequence")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_audit_events_sequence_positive")),
        sa.CheckConstraint("length(hash) = 64", name=op.f("ck_audit_events_hash_length")),
        sa.CheckConstraint("length(prev_hash) = 64", name=op.f("ck_audit_events_prev_hash_length")),
        sa.CheckConstraint(
            "actor_type IN ('user', 'system', 'service')",
            name=op.f("ck_audit_events_actor_type"),
        ),
        sa.CheckConstraint(
            "actor_role IN ('advisor', 'admin', 'compliance_officer', 'system')",
            name=op.f("ck_audit_events_actor_role"),
        ),
    )
    op.create_index(
        op.f("ix_audit_events_entity_type_entity_id"), "audit_events", ["entity_type", "entity_id"]
    )
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])

    op.create_table(
        "incidents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("pack_id", sa.Uuid(), nullable=True),
        sa.Column("advisor_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.String(128), nullable=True),
        sa.Column("resolution_actions", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.ForeignKeyConstraint(
            ["pack_id"], ["content_packs.id"], name=op.f("fk_incidents_pack_id_content_packs")
        ),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_incidents_advisor_id_advisors")
        ),
        sa.CheckConstraint(
            "type IN ('critical_finding', 'admin_report', 'delivery_integrity', 'data_breach')",
            name=op.f("ck_incidents_type"),
        ),
        sa.CheckConstraint(
            "severity IN ('low', 'medium', 'high', 'critical')",
            name=op.f("ck_incidents_severity"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'investigating', 'escalated', 'resolved', 'closed')",
            name=op.f("ck_incidents_status"),
        ),
    )
    op.create_index(op.f("ix_incidents_status"), "incidents", ["status"])
    op.create_index(op.f("ix_incidents_pack_id"), "incidents", ["pack_id"])
    op.create_index(op.f("ix_incidents_advisor_id"), "incidents", ["advisor_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events"
            " FOR EACH ROW EXECUTE FUNCTION projectone_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events"
            " FOR EACH STATEMENT EXECUTE FUNCTION projectone_audit_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} ON audit_events"
                f" BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {event} refused');"
                " END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION projectone_audit_append_only()")
    op.drop_table("incidents")
    op.drop_table("audit_events")
    with op.batch_alter_table("content_packs") as batch:
        batch.drop_index(op.f("ix_content_packs_status_risk_score"))
        for name in (
            "reviewed_has_reviewer",
            "approved_has_hash",
            "approved_hash_length",
            "compliance_verdict",
            "risk_score_range",
        ):
            batch.drop_constraint(op.f(f"ck_content_packs_{name}"), type_="check")
        for column in (
            "approved_hash",
            "review_note",
            "reviewed_at",
            "reviewer_id",
            "escalated",
            "requires_human",
            "findings",
            "rulebook_version",
            "compliance_verdict",
            "risk_score",
            "submitted_at",
            "author_id",
        ):
            batch.drop_column(column)
