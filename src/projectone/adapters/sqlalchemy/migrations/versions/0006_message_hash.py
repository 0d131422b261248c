"""Deliveries carry the hash of the text they were planned with.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 04:00:00

``deliveries.message_hash`` is the SHA-256 of the WhatsApp text a delivery was planned with.
The worker then reads one language of a pack, not the whole pack, and checks it against this
hash instead of re-hashing every language. The column is nullable and is not backfilled:
deliveries planned before it (and SMS backups) are still checked against the whole pack, as
before. Downgrading drops the column; the older worker never needed it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("message_hash", sa.String(64), nullable=True))
        batch.create_check_constraint(
            op.f("ck_deliveries_message_hash_length"),
            "message_hash IS NULL OR length(message_hash) = 64",
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint(op.f("ck_deliveries_message_hash_length"), type_="check")
        batch.drop_column("message_hash")
