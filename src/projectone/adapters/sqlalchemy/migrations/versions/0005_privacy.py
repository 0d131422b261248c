"""Privacy: personal data sealed per person, data keys, consents, audit retention.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 12:00:00

Moves every plaintext personal field into its sealed form: each advisor gets a data key
(wrapped by the master key), their name, email and WhatsApp number are sealed with it and the
email and number get keyed hashes for lookups; the number on each delivery and the number and
text of each inbound message are sealed the same way. The plaintext columns are dropped.
Existing advisors get the consent records their accounts imply (processing since registration,
WhatsApp since their opt-in), on channel ``import``.

The master key comes from ``config.attributes["key_store"]`` (a ``LocalKeyStore``, as
``projectone db upgrade`` passes) or else from the environment, as the application loads it.
It is only needed when there are rows to move. Dropped columns leave their old values in free
pages until the database is vacuumed: run ``VACUUM`` (SQLite) or ``VACUUM FULL`` (PostgreSQL)
after upgrading a database that held personal data (docs/privacy.md).

The audit trail's delete trigger is relaxed to what retention needs: an event may be deleted
once its ``retention_until`` day has come, never before; updates stay refused.

Downgrading opens every sealed value back into plaintext columns (it is the rollback of a
deploy, and the older code reads nothing else) and so needs the same master key; it is refused
once any advisor was erased, since their data cannot be put back.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from projectone.adapters.local_keys import LocalKeyStore, load_key_store
from projectone.adapters.sqlalchemy.keyring import (
    blind,
    normalize_email,
    normalize_phone,
    open_sealed,
    seal,
    sender_subject,
)

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PURPOSES = "'processing', 'marketing', 'analytics', 'third_party_sharing', 'whatsapp_optin'"
_ENDS = "'withdrawn', 'superseded', 'erased'"
_PERSONAL = (
    "(erased_at IS NULL AND name_sealed IS NOT NULL AND email_sealed IS NOT NULL"
    " AND whatsapp_sealed IS NOT NULL AND email_index IS NOT NULL"
    " AND whatsapp_index IS NOT NULL)"
    " OR (erased_at IS NOT NULL AND name_sealed IS NULL AND email_sealed IS NULL"
    " AND whatsapp_sealed IS NULL AND email_index IS NULL AND whatsapp_index IS NULL)"
)
_IMPORTED_POLICY = "pre-0005"

_PG_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION projectone_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- UTC, as retention_until is computed: CURRENT_DATE would follow the session's zone.
    IF TG_OP = 'DELETE' AND OLD.retention_until <= (now() AT TIME ZONE 'UTC')::date THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
_PG_APPEND_ONLY_0002 = """
CREATE OR REPLACE FUNCTION projectone_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""


def _key_store() -> LocalKeyStore:
    given = context.config.attributes.get("key_store")
    if isinstance(given, LocalKeyStore):
        return given
    return load_key_store(
        os.environ.get("PROJECTONE_PRIVACY_MASTER_KEY"),
        os.environ.get("PROJECTONE_PRIVACY_MASTER_KEY_FILE"),
    )


class _Keys:
    """Data keys created for the rows being moved, inserted as they are made."""

    def __init__(self, bind: sa.Connection, store: LocalKeyStore, now: dt.datetime) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aesgcm = AESGCM
        self._bind = bind
        self._store = store
        self._now = now
        self._ciphers: dict[uuid.UUID, Any] = {}
        self.lookup = store.lookup_key_now()

    def cipher(self, subject: uuid.UUID) -> Any:
        if subject not in self._ciphers:
            key = self._aesgcm.generate_key(bit_length=256)
            wrapped = self._store.wrap_now(key, str(subject))
            self._bind.execute(
                _data_keys.insert().values(
                    subject_id=subject,
                    wrapped_key=base64.b64encode(wrapped).decode("ascii"),
                    master_key_id=self._store.key_id,
                    created_at=self._now,
                )
            )
            self._ciphers[subject] = self._aesgcm(key)
        return self._ciphers[subject]


_meta = sa.MetaData()
_data_keys = sa.Table(
    "data_keys",
    _meta,
    sa.Column("subject_id", sa.Uuid()),
    sa.Column("wrapped_key", sa.Text()),
    sa.Column("master_key_id", sa.String(32)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
_advisors = sa.Table(
    "advisors",
    _meta,
    sa.Column("id", sa.Uuid()),
    sa.Column("erased_at", sa.DateTime(timezone=True)),
    sa.Column("name", sa.String(200)),
    sa.Column("email", sa.String(254)),
    sa.Column("whatsapp_number", sa.String(16)),
    sa.Column("name_sealed", sa.Text()),
    sa.Column("email_sealed", sa.Text()),
    sa.Column("whatsapp_sealed", sa.Text()),
    sa.Column("email_index", sa.String(64)),
    sa.Column("whatsapp_index", sa.String(64)),
    sa.Column("whatsapp_opt_in_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
_consents = sa.Table(
    "consents",
    _meta,
    sa.Column("id", sa.Uuid()),
    sa.Column("advisor_id", sa.Uuid()),
    sa.Column("purpose", sa.String(32)),
    sa.Column("policy_version", sa.String(32)),
    sa.Column("channel", sa.String(32)),
    sa.Column("given_at", sa.DateTime(timezone=True)),
)
_deliveries = sa.Table(
    "deliveries",
    _meta,
    sa.Column("id", sa.Uuid()),
    sa.Column("advisor_id", sa.Uuid()),
    sa.Column("to_number", sa.String(16)),
    sa.Column("to_sealed", sa.Text()),
)
_inbound = sa.Table(
    "inbound_messages",
    _meta,
    sa.Column("id", sa.Uuid()),
    sa.Column("advisor_id", sa.Uuid()),
    sa.Column("from_number", sa.String(32)),
    sa.Column("body", sa.Text()),
    sa.Column("subject_id", sa.Uuid()),
    sa.Column("from_sealed", sa.Text()),
    sa.Column("from_index", sa.String(64)),
    sa.Column("body_sealed", sa.Text()),
)


def _create_tables() -> None:
    op.create_table(
        "data_keys",
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped_key", sa.Text(), nullable=False),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject_id", name=op.f("pk_data_keys")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("advisor_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.ForeignKeyConstraint(
            ["advisor_id"], ["advisors.id"], name=op.f("fk_consents_advisor_id_advisors")
        ),
        sa.CheckConstraint(f"purpose IN ({_PURPOSES})", name=op.f("ck_consents_purpose")),
        sa.CheckConstraint(
            f"end_reason IS NULL OR end_reason IN ({_ENDS})", name=op.f("ck_consents_end_reason")
        ),
        sa.CheckConstraint(
            "(ended_at IS NULL AND end_reason IS NULL)"
            " OR (ended_at IS NOT NULL AND end_reason IS NOT NULL AND ended_at >= given_at)",
            name=op.f("ck_consents_ended_with_reason"),
        ),
    )
    op.create_index(op.f("ix_consents_advisor_id_purpose"), "consents", ["advisor_id", "purpose"])
    op.create_index(op.f("ix_consents_ended_at"), "consents", ["ended_at"])


def _move_advisors(bind: sa.Connection, keys: _Keys) -> None:
    rows = bind.execute(
        sa.select(
            _advisors.c.id,
            _advisors.c.name,
            _advisors.c.email,
            _advisors.c.whatsapp_number,
            _advisors.c.whatsapp_opt_in_at,
            _advisors.c.created_at,
        )
    ).all()
    for advisor_id, name, email, number, opt_in, created_at in rows:
        cipher = keys.cipher(advisor_id)
        bind.execute(
            _advisors.update()
            .where(_advisors.c.id == advisor_id)
            .values(
                name_sealed=seal(cipher, advisor_id, "name", name),
                email_sealed=seal(cipher, advisor_id, "email", email),
                whatsapp_sealed=seal(cipher, advisor_id, "whatsapp_number", number),
                email_index=blind(keys.lookup, "email", normalize_email(email)),
                whatsapp_index=blind(keys.lookup, "phone", normalize_phone(number)),
            )
        )
        given = [("processing", created_at)]
        if opt_in is not None:
            given.append(("whatsapp_optin", opt_in))
        for purpose, at in given:
            bind.execute(
                _consents.insert().values(
                    id=uuid.uuid5(advisor_id, purpose),
                    advisor_id=advisor_id,
                    purpose=purpose,
                    policy_version=_IMPORTED_POLICY,
                    channel="import",
                    given_at=at,
                )
            )


def _move_deliveries(bind: sa.Connection, keys: _Keys) -> None:
    rows = bind.execute(
        sa.select(_deliveries.c.id, _deliveries.c.advisor_id, _deliveries.c.to_number)
    ).all()
    for delivery_id, advisor_id, number in rows:
        sealed = seal(keys.cipher(advisor_id), advisor_id, "to", number)
        bind.execute(
            _deliveries.update().where(_deliveries.c.id == delivery_id).values(to_sealed=sealed)
        )


def _move_inbound(bind: sa.Connection, keys: _Keys) -> None:
    rows = bind.execute(
        sa.select(_inbound.c.id, _inbound.c.advisor_id, _inbound.c.from_number, _inbound.c.body)
    ).all()
    for message_id, advisor_id, number, body in rows:
        index = blind(keys.lookup, "phone", normalize_phone(number))
        subject = advisor_id if advisor_id is not None else sender_subject(index)
        cipher = keys.cipher(subject)
        bind.execute(
            _inbound.update()
            .where(_inbound.c.id == message_id)
            .values(
                subject_id=subject,
                from_sealed=seal(cipher, subject, "from", number),
                from_index=index,
                body_sealed=None if body is None else seal(cipher, subject, "body", body),
            )
        )


def upgrade() -> None:
    bind = op.get_bind()
    _create_tables()
    with op.batch_alter_table("advisors") as batch:
        for name in ("name_sealed", "email_sealed", "whatsapp_sealed"):
            batch.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch.add_column(sa.Column("email_index", sa.String(64), nullable=True))
        batch.add_column(sa.Column("whatsapp_index", sa.String(64), nullable=True))
        batch.add_column(
            sa.Column("processing_withdrawn_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("to_sealed", sa.Text(), nullable=True))
    with op.batch_alter_table("ai_cache") as batch:
        batch.add_column(sa.Column("advisor_id", sa.Uuid(), nullable=True))
        batch.create_index(op.f("ix_ai_cache_advisor_id"), ["advisor_id"])
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("subject_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("from_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("from_index", sa.String(64), nullable=True))
        batch.add_column(sa.Column("body_sealed", sa.Text(), nullable=True))

    has_rows = any(
        bind.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None
        for table in (_advisors, _inbound)
    )
    if has_rows:
        keys = _Keys(bind, _key_store(), dt.datetime.now(dt.UTC))
        _move_advisors(bind, keys)
        _move_deliveries(bind, keys)
        _move_inbound(bind, keys)

    with op.batch_alter_table("advisors") as batch:
        batch.drop_constraint(op.f("uq_advisors_email"), type_="unique")
        batch.drop_constraint(op.f("uq_advisors_whatsapp_number"), type_="unique")
        batch.drop_constraint(op.f("ck_advisors_name_length"), type_="check")
        batch.drop_constraint(op.f("ck_advisors_email_shape"), type_="check")
        batch.drop_constraint(op.f("ck_advisors_whatsapp_number_shape"), type_="check")
        batch.drop_column("name")
        batch.drop_column("email")
        batch.drop_column("whatsapp_number")
        batch.create_unique_constraint(op.f("uq_advisors_email_index"), ["email_index"])
        batch.create_unique_constraint(op.f("uq_advisors_whatsapp_index"), ["whatsapp_index"])
        batch.create_check_constraint(op.f("ck_advisors_personal_unless_erased"), _PERSONAL)
        batch.create_check_constraint(
            op.f("ck_advisors_erased_is_cancelled"),
            "erased_at IS NULL OR (status = 'cancelled' AND whatsapp_opt_in_at IS NULL)",
        )
        batch.create_check_constraint(
            op.f("ck_advisors_email_index_length"), "length(email_index) = 64"
        )
        batch.create_check_constraint(
            op.f("ck_advisors_whatsapp_index_length"), "length(whatsapp_index) = 64"
        )
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("to_number")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("from_number")
        batch.drop_column("body")
        batch.alter_column("subject_id", existing_type=sa.Uuid(), nullable=False)
        batch.alter_column("from_sealed", existing_type=sa.Text(), nullable=False)
        batch.alter_column("from_index", existing_type=sa.String(64), nullable=False)
        batch.create_index(op.f("ix_inbound_messages_subject_id"), ["subject_id"])
        batch.create_index(op.f("ix_inbound_messages_received_at"), ["received_at"])

    if bind.dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
    else:
        op.execute("DROP TRIGGER audit_events_no_delete")
        op.execute(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
            " WHEN OLD.retention_until > date('now')"
            " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END"
        )


def _open_all(bind: sa.Connection, store: LocalKeyStore) -> dict[uuid.UUID, Any]:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    ciphers: dict[uuid.UUID, Any] = {}
    for subject, wrapped in bind.execute(
        sa.select(_data_keys.c.subject_id, _data_keys.c.wrapped_key)
    ).all():
        key = store.unwrap_now(base64.b64decode(wrapped), str(subject))
        ciphers[subject] = AESGCM(key)
    return ciphers


def _restore_plaintext(bind: sa.Connection) -> None:
    """Open every sealed value back into the 0004 columns (a downgrade is a rollback of a
    deploy: the older code can only read plaintext)."""
    erased = bind.execute(
        sa.select(sa.literal(1)).select_from(_advisors).where(_advisors.c.erased_at.is_not(None))
    ).first()
    if erased is not None:
        raise RuntimeError(
            "revision 0005 cannot be undone: erased advisors have no personal data to put back"
        )
    if bind.execute(sa.select(sa.literal(1)).select_from(_data_keys).limit(1)).first() is None:
        return
    ciphers = _open_all(bind, _key_store())
    for advisor_id, name, email, number in bind.execute(
        sa.select(
            _advisors.c.id,
            _advisors.c.name_sealed,
            _advisors.c.email_sealed,
            _advisors.c.whatsapp_sealed,
        )
    ).all():
        cipher = ciphers[advisor_id]
        bind.execute(
            _advisors.update()
            .where(_advisors.c.id == advisor_id)
            .values(
                name=open_sealed(cipher, advisor_id, "name", name),
                email=open_sealed(cipher, advisor_id, "email", email),
                whatsapp_number=open_sealed(cipher, advisor_id, "whatsapp_number", number),
            )
        )
    for delivery_id, advisor_id, sealed in bind.execute(
        sa.select(_deliveries.c.id, _deliveries.c.advisor_id, _deliveries.c.to_sealed)
    ).all():
        bind.execute(
            _deliveries.update()
            .where(_deliveries.c.id == delivery_id)
            .values(to_number=open_sealed(ciphers[advisor_id], advisor_id, "to", sealed))
        )
    for message_id, subject, sealed, body in bind.execute(
        sa.select(
            _inbound.c.id, _inbound.c.subject_id, _inbound.c.from_sealed, _inbound.c.body_sealed
        )
    ).all():
        cipher = ciphers[subject]
        bind.execute(
            _inbound.update()
            .where(_inbound.c.id == message_id)
            .values(
                from_number=open_sealed(cipher, subject, "from", sealed),
                body=None if body is None else open_sealed(cipher, subject, "body", body),
            )
        )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY_0002)
    else:
        op.execute("DROP TRIGGER audit_events_no_delete")
        op.execute(
            "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events"
            " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END"
        )
    with op.batch_alter_table("advisors") as batch:
        batch.add_column(sa.Column("name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("whatsapp_number", sa.String(16), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("to_number", sa.String(16), nullable=True))
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("from_number", sa.String(32), nullable=True))
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
    _restore_plaintext(bind)
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index(op.f("ix_inbound_messages_received_at"))
        batch.drop_index(op.f("ix_inbound_messages_subject_id"))
        batch.drop_column("body_sealed")
        batch.drop_column("from_index")
        batch.drop_column("from_sealed")
        batch.drop_column("subject_id")
        batch.alter_column("from_number", existing_type=sa.String(32), nullable=False)
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("to_sealed")
        batch.alter_column("to_number", existing_type=sa.String(16), nullable=False)
    with op.batch_alter_table("advisors") as batch:
        batch.drop_constraint(op.f("ck_advisors_whatsapp_index_length"), type_="check")
        batch.drop_constraint(op.f("ck_advisors_email_index_length"), type_="check")
        batch.drop_constraint(op.f("ck_advisors_erased_is_cancelled"), type_="check")
        batch.drop_constraint(op.f("ck_advisors_personal_unless_erased"), type_="check")
        batch.drop_constraint(op.f("uq_advisors_whatsapp_index"), type_="unique")
        batch.drop_constraint(op.f("uq_advisors_email_index"), type_="unique")
        for name in (
            "erased_at",
            "processing_withdrawn_at",
            "whatsapp_index",
            "email_index",
            "whatsapp_sealed",
            "email_sealed",
            "name_sealed",
        ):
            batch.drop_column(name)
        batch.alter_column("name", existing_type=sa.String(200), nullable=False)
        batch.alter_column("email", existing_type=sa.String(254), nullable=False)
        batch.alter_column("whatsapp_number", existing_type=sa.String(16), nullable=False)
        batch.create_unique_constraint(op.f("uq_advisors_email"), ["email"])
        batch.create_unique_constraint(op.f("uq_advisors_whatsapp_number"), ["whatsapp_number"])
        batch.create_check_constraint(
            op.f("ck_advisors_name_length"), "length(name) BETWEEN 1 AND 200"
        )
        batch.create_check_constraint(op.f("ck_advisors_email_shape"), "email LIKE '%_@_%._%'")
        batch.create_check_constraint(
            op.f("ck_advisors_whatsapp_number_shape"),
            "length(whatsapp_number) BETWEEN 9 AND 16"
            " AND substr(whatsapp_number, 1, 1) = '+'"
            " AND substr(whatsapp_number, 2, 1) <> '0'"
            " AND ltrim(substr(whatsapp_number, 2), '0123456789') = ''",
        )
    with op.batch_alter_table("ai_cache") as batch:
        batch.drop_index(op.f("ix_ai_cache_advisor_id"))
        batch.drop_column("advisor_id")
    op.drop_index(op.f("ix_consents_ended_at"), table_name="consents")
    op.drop_index(op.f("ix_consents_advisor_id_purpose"), table_name="consents")
    op.drop_table("consents")
    op.drop_table("data_keys")
