"""Revision 0005 on a database seeded before it, in plaintext: every personal field comes out
sealed (nothing readable left in the tables), the application reads it all back, consents are
imported, and downgrading puts the plaintext back for the older code."""

from __future__ import annotations

import datetime as dt
import sqlite3
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from projectone.adapters.sqlalchemy import (
    SqlAlchemyUnitOfWorkFactory,
    create_engine,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from projectone.domain.consent import ConsentPurpose
from projectone.domain.content import ContentVariant, content_hash
from projectone.domain.errors import KeyStoreError
from projectone.domain.language import Language
from projectone.testing.keys import fixed_key_store

NOW = dt.datetime(2026, 11, 20, 0, 30, tzinfo=dt.UTC)
VARIANTS = {Language.EN: ContentVariant(title="SIP", body="Invest every month.")}
PRIYA = ("Priya Raman", "priya.raman@example.in", "+919812345678")
RAHUL = ("Rahul Shah", "rahul.shah@example.in", "+919887654321")
STRANGER = "+919700011122"


def _binds(**types: Any) -> list[sa.BindParameter[Any]]:
    return [sa.bindparam(name, type_=kind) for name, kind in types.items()]


async def _seed_at_0004(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    ids = {name: uuid.uuid4() for name in ("priya", "rahul", "pack", "delivery", "in1", "in2")}
    await upgrade(engine, "0004")
    async with engine.begin() as conn:
        for key, (name, email, phone), opted in (("priya", PRIYA, True), ("rahul", RAHUL, False)):
            await conn.execute(
                sa.text(
                    "INSERT INTO advisors (id, name, type, registration_no, email,"
                    " whatsapp_number, languages, send_time, tier, status, whatsapp_opt_in_at,"
                    " created_at) VALUES (:id, :name, 'MFD', :reg, :email, :phone, :languages,"
                    " :send_time, 'basic', 'active', :opt_in, :now)"
                ).bindparams(
                    *_binds(
                        id=sa.Uuid(),
                        languages=sa.JSON(),
                        now=sa.DateTime(timezone=True),
                        opt_in=sa.DateTime(timezone=True),
                        send_time=sa.Time(),
                    )
                ),
                {
                    "id": ids[key],
                    "name": name,
                    "reg": f"ARN-{len(key)}{len(name)}",
                    "email": email,
                    "phone": phone,
                    "languages": ["en"],
                    "send_time": dt.time(6, 0),
                    "opt_in": NOW if opted else None,
                    "now": NOW,
                },
            )
        await conn.execute(
            sa.text(
                "INSERT INTO content_packs (id, advisor_id, topic, type, variants, languages,"
                " content_hash, status, version, created_at) VALUES (:id, :advisor, 'sip',"
                " 'daily_post', :variants, :languages, :hash, 'draft', 1, :now)"
            ).bindparams(
                *_binds(
                    id=sa.Uuid(),
                    advisor=sa.Uuid(),
                    variants=sa.JSON(),
                    languages=sa.JSON(),
                    now=sa.DateTime(timezone=True),
                )
            ),
            {
                "id": ids["pack"],
                "advisor": ids["priya"],
                "variants": {"en": VARIANTS[Language.EN].as_dict()},
                "languages": ["en"],
                "hash": content_hash(VARIANTS),
                "now": NOW,
            },
        )
        await conn.execute(
            sa.text(
                "INSERT INTO deliveries (id, advisor_id, pack_id, date, language, channel, variant,"
                " to_number, content_hash, scheduled_for, sla_target, status, attempts,"
                " queued_at, next_attempt_at, fallback) VALUES (:id, :advisor, :pack, :date,"
                " 'en', 'whatsapp', 'post', :phone, :hash, :now, :now, 'queued', 0, :now, :now,"
                " :fallback)"
            ).bindparams(
                *_binds(
                    id=sa.Uuid(),
                    advisor=sa.Uuid(),
                    pack=sa.Uuid(),
                    date=sa.Date(),
                    now=sa.DateTime(timezone=True),
                    fallback=sa.Boolean(),
                )
            ),
            {
                "id": ids["delivery"],
                "advisor": ids["priya"],
                "pack": ids["pack"],
                "date": dt.date(2026, 11, 21),
                "phone": PRIYA[2],
                "hash": content_hash(VARIANTS),
                "now": NOW,
                "fallback": False,
            },
        )
        for key, advisor, sender, body in (
            ("in1", ids["priya"], PRIYA[2], "Please call me, Priya Raman"),
            ("in2", None, STRANGER, "who is this? mail me at someone@example.com"),
        ):
            await conn.execute(
                sa.text(
                    "INSERT INTO inbound_messages (id, provider_message_id, from_number,"
                    " advisor_id, type, body, sent_at, received_at) VALUES (:id, :wamid, :sender,"
                    " :advisor, 'text', :body, :now, :now)"
                ).bindparams(
                    *_binds(id=sa.Uuid(), advisor=sa.Uuid(), now=sa.DateTime(timezone=True))
                ),
                {
                    "id": ids[key],
                    "wamid": f"wamid.{key}",
                    "sender": sender,
                    "advisor": advisor,
                    "body": body,
                    "now": NOW,
                },
            )
    return ids


async def _table_text(engine: AsyncEngine) -> str:
    """Every row of the tables that held personal data, as text."""
    chunks: list[str] = []
    async with engine.connect() as conn:
        for table in ("advisors", "deliveries", "inbound_messages", "consents", "data_keys"):
            rows = (await conn.execute(sa.text(f"SELECT * FROM {table}"))).all()
            chunks.extend(repr(tuple(row)) for row in rows)
    return "\n".join(chunks)


async def test_existing_plaintext_is_sealed_and_reads_back(engine: AsyncEngine) -> None:
    ids = await _seed_at_0004(engine)
    await upgrade(engine, key_store=fixed_key_store())
    assert await current_revision(engine) == head_revision()

    text = await _table_text(engine)
    for name, email, phone in (PRIYA, RAHUL):
        for form in (name, email, phone, phone.removeprefix("+"), phone[-10:]):
            assert form not in text, form
    assert STRANGER[-10:] not in text
    assert "someone@example.com" not in text

    uow_factory = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
    async with uow_factory() as uow:
        priya = await uow.advisors.get(ids["priya"])
        rahul = await uow.advisors.get(ids["rahul"])
        assert (priya.name, priya.email, priya.whatsapp_number) == PRIYA
        assert (rahul.name, rahul.email, rahul.whatsapp_number) == RAHUL
        assert await uow.advisors.ids_by_whatsapp([PRIYA[2], STRANGER]) == {PRIYA[2]: priya.id}
        delivery = await uow.deliveries.get(ids["delivery"])
        assert delivery.to == PRIYA[2]
        (message,) = await uow.inbound.for_advisor(ids["priya"])
        assert message.body == "Please call me, Priya Raman"
        consents = {
            advisor: {r.purpose for r in await uow.consents.for_advisor(advisor)}
            for advisor in (ids["priya"], ids["rahul"])
        }
        assert [r.channel for r in await uow.consents.for_advisor(ids["priya"])] == [
            "import",
            "import",
        ]
    assert consents == {
        ids["priya"]: {ConsentPurpose.PROCESSING, ConsentPurpose.WHATSAPP_OPTIN},
        ids["rahul"]: {ConsentPurpose.PROCESSING},
    }


def _vacuumed_file(url: str) -> bytes:
    # docs/privacy.md: vacuum after upgrading a database that held personal data.
    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        conn.execute("VACUUM")
    conn.close()
    return Path(path).read_bytes()


def _pg_dump(url: str) -> bytes:
    return subprocess.run(
        ["pg_dump", "--data-only", url.replace("+psycopg", "")],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


async def test_the_vacuumed_sqlite_file_holds_none_of_it(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        await _seed_at_0004(engine)
        await upgrade(engine, key_store=fixed_key_store())
    finally:
        await engine.dispose()
    raw = _vacuumed_file(sqlite_url)
    for name, email, phone in (PRIYA, RAHUL):
        for form in (name, email, phone, phone.removeprefix("+")):
            assert form.encode() not in raw, form


@pytest.mark.postgres
async def test_the_postgresql_dump_holds_none_of_it(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await _seed_at_0004(engine)
        await upgrade(engine, key_store=fixed_key_store())
    finally:
        await engine.dispose()
    dump = _pg_dump(postgres_url)
    for name, email, phone in (PRIYA, RAHUL):
        for form in (name, email, phone, phone.removeprefix("+")):
            assert form.encode() not in dump, form


async def test_a_downgrade_with_the_wrong_master_key_changes_nothing(
    engine: AsyncEngine,
) -> None:
    ids = await _seed_at_0004(engine)
    other = fixed_key_store("another deployment")
    await upgrade(engine, key_store=other)
    # downgrade() takes the key from the environment: the tests' key, not the one used.
    with pytest.raises(KeyStoreError, match="does not open"):
        await downgrade(engine, "0004")
    assert await current_revision(engine) == head_revision()
    async with SqlAlchemyUnitOfWorkFactory(engine, other)() as uow:
        assert (await uow.advisors.get(ids["priya"])).email == PRIYA[1]


async def test_downgrading_puts_the_plaintext_back(engine: AsyncEngine) -> None:
    ids = await _seed_at_0004(engine)
    await upgrade(engine, key_store=fixed_key_store())
    await downgrade(engine, "0004")
    async with engine.connect() as conn:
        rows = (
            await conn.execute(sa.text("SELECT name, email, whatsapp_number FROM advisors"))
        ).all()
        (to,) = (await conn.execute(sa.text("SELECT to_number FROM deliveries"))).one()
    assert sorted(tuple(r) for r in rows) == sorted([PRIYA, RAHUL])
    assert to == PRIYA[2]
    await upgrade(engine, key_store=fixed_key_store())
    async with SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())() as uow:
        assert (await uow.advisors.get(ids["rahul"])).email == RAHUL[1]
