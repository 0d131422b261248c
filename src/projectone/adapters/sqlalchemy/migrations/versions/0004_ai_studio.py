"""AI content studio: the record of AI jobs and the response cache.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00

Written by hand and frozen, like the revisions before it: the CHECK expressions spell out the
enum values as they are today rather than reading the domain enums, so a later change to an
enum needs a revision of its own. Two new tables and nothing else: downgrading drops them
with the jobs and answers they hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STAGES = "'generation', 'compliance_check'"
_OUTCOMES = "'succeeded', 'unavailable', 'invalid', 'refused', 'rejected'"


def upgrade() -> None:
    op.create_table(
        "ai_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("output_hash", sa.String(64), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("cost_inr", sa.Numeric(14, 4), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_jobs")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_ai_jobs_advisor_id_advisors")
        ),
        sa.CheckConstraint(f"stage IN ({_STAGES})", name=op.f("ck_ai_jobs_stage")),
        sa.CheckConstraint(f"outcome IN ({_OUTCOMES})", name=op.f("ck_ai_jobs_outcome")),
        sa.CheckConstraint("input_tokens >= 0", name=op.f("ck_ai_jobs_input_tokens_non_negative")),
        sa.CheckConstraint(
            "output_tokens >= 0", name=op.f("ck_ai_jobs_output_tokens_non_negative")
        ),
        sa.CheckConstraint("latency_ms >= 0", name=op.f("ck_ai_jobs_latency_ms_non_negative")),
        sa.CheckConstraint("cost_inr >= 0", name=op.f("ck_ai_jobs_cost_inr_non_negative")),
        sa.CheckConstraint("length(input_hash) = 64", name=op.f("ck_ai_jobs_input_hash_length")),
        sa.CheckConstraint(
            "output_hash IS NULL OR length(output_hash) = 64",
            name=op.f("ck_ai_jobs_output_hash_length"),
        ),
    )
    op.create_index(
        op.f("ix_ai_jobs_advisor_id_stage_created_at"),
        "ai_jobs",
        ["advisor_id", "stage", "created_at"],
    )
    op.create_index(op.f("ix_ai_jobs_created_at"), "ai_jobs", ["created_at"])
    op.create_table(
        "ai_cache",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ai_cache")),
        sa.CheckConstraint(f"stage IN ({_STAGES})", name=op.f("ck_ai_cache_stage")),
    )
    op.create_index(op.f("ix_ai_cache_expires_at"), "ai_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_ai_cache_expires_at"), table_name="ai_cache")
    op.drop_table("ai_cache")
    op.drop_index(op.f("ix_ai_jobs_created_at"), table_name="ai_jobs")
    op.drop_index(op.f("ix_ai_jobs_advisor_id_stage_created_at"), table_name="ai_jobs")
    op.drop_table("ai_jobs")
