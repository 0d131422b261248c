"""Queue indexes a claim can read in order, whatever PostgreSQL believes about the queue.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 06:00:00

Workers claim ``status = 'queued' AND next_attempt_at <= now ORDER BY next_attempt_at, id
LIMIT n``. The old index (status, next_attempt_at) lacked the id tie-break, and a morning puts
thousands of deliveries on the same minute (06:00 is everyone's default send time), so
PostgreSQL read every due row and sorted them all to keep the first n: 13–26 ms per batch of 200
out of 20,000 due, once per batch, work growing with the square of the morning. It did so
whenever its statistics said few rows were queued, which is the rule: yesterday's deliveries
all left the queue, and today's are planned shortly before they are due. It could even read
the queue through the lease index (status, lease_expires_at) and sort that.

Now (status, next_attempt_at, id) gives the claim its rows in order, so it stops after n, and
the lease index covers only what it is for: ``(lease_expires_at, id) WHERE status =
'sending'``, which the repository's queries name with the status written into their text.
A delivery leaving ``sending`` no longer adds an entry to it either.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SENDING = sa.text("status = 'sending'")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.create_index(
            op.f("ix_deliveries_status_next_attempt_at_id"), ["status", "next_attempt_at", "id"]
        )
        batch.create_index(
            op.f("ix_deliveries_sending_lease_expires_at"),
            ["lease_expires_at", "id"],
            postgresql_where=_SENDING,
            sqlite_where=_SENDING,
        )
        batch.drop_index(op.f("ix_deliveries_status_next_attempt_at"))
        batch.drop_index(op.f("ix_deliveries_status_lease_expires_at"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.create_index(
            op.f("ix_deliveries_status_next_attempt_at"), ["status", "next_attempt_at"]
        )
        batch.create_index(
            op.f("ix_deliveries_status_lease_expires_at"), ["status", "lease_expires_at"]
        )
        batch.drop_index(op.f("ix_deliveries_status_next_attempt_at_id"))
        batch.drop_index(op.f("ix_deliveries_sending_lease_expires_at"))
