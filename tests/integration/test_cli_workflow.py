"""``projectone content`` and ``projectone audit`` as real processes, on SQLite and PostgreSQL.

The database is prepared through the library (an advisor and packs in review), then the
commands act on it; tampering is done with plain SQL, as someone with database access would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import build_container, resolve, shutdown
from projectone.domain import Language
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.content import ContentVariant
from projectone.settings import Settings
from projectone.testing.demo_data import demo_advisors
from tests.integration.test_cli import run

REG = "INA000012345"
BEST = ContentVariant(
    title="Small steps, steady habit",
    body="Our SIP plan is the best way to save every month.",
    cta="Reply SIP to review your plan with me.",
    disclaimer=(
        "Investment in securities market are subject to market risks. Read all the related "
        "documents carefully before investing. Registration granted by SEBI, membership of "
        "BASL and certification from NISM in no way guarantee performance of the intermediary "
        f"or provide any assurance of returns to investors. SEBI Reg. No. {REG}"
    ),
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


async def _prepare(url: str, n_packs: int) -> tuple[str, list[uuid.UUID]]:
    """An RIA advisor with ``n_packs`` packs waiting for review; returns the author's id."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    container = build_container(Settings(database_url=url))
    try:
        catalog = await resolve(container.catalog)
        workflow = await resolve(container.workflow)
        workflow.auto_approve = {}
        now = dt.datetime.now(dt.UTC)
        (advisor,) = demo_advisors(1, ids=container.ids(), now=now)
        advisor = attrs.evolve(advisor, type="RIA", registration_no=REG)
        await catalog.register([advisor])
        author = Actor(type=ActorType.USER, id=f"advisor:{advisor.id}", role=Role.ADVISOR)
        ids = []
        for _ in range(n_packs):
            pack = await workflow.create_draft(
                author, advisor_id=advisor.id, topic="sip", variants={Language.EN: BEST}
            )
            await workflow.submit(pack.id, author)
            ids.append(pack.id)
        return author.id, ids
    finally:
        await shutdown(container)


def _sql(url: str, *statements: str) -> None:
    async def go() -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as conn:
                for statement in statements:
                    await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    asyncio.run(go())


def _allow_tampering(url: str) -> list[str]:
    """What an attacker with the owner's rights runs first: switch the append-only guard off."""
    if url.startswith("postgresql"):
        return ["ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"]
    return ["DROP TRIGGER audit_events_no_update", "DROP TRIGGER audit_events_no_delete"]


def test_a_reviewer_works_the_queue_from_a_terminal(db_url: str) -> None:
    author, (first, second) = asyncio.run(_prepare(db_url, 2))
    db = ["--db", db_url]

    queue = run("content", "queue", "--json", *db)
    assert queue.returncode == 0, queue.stderr
    assert {p["id"] for p in json.loads(queue.stdout)["queue"]} == {str(first), str(second)}

    own = run("content", "approve", str(first), "--actor", author, "--role", "advisor", *db)
    assert own.returncode == 1
    assert len(own.stderr.strip().splitlines()) == 1
    assert "approve" in own.stderr

    no_note = run("content", "reject", str(second), "--actor", "admin:asha", *db)
    assert no_note.returncode == 1
    assert "note" in no_note.stderr

    ok = run("content", "approve", str(first), "--actor", "admin:asha", "--json", *db)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["status"] == "approved"
    again = run("content", "approve", str(first), "--actor", "admin:asha", *db)
    assert again.returncode == 1
    assert "approved" in again.stderr
    unknown = run("content", "approve", str(uuid.uuid4()), "--actor", "admin:asha", *db)
    assert unknown.returncode == 1

    rejected = run(
        "content", "reject", str(second), "--actor", "co:ravi", "--role",
        "compliance_officer", "--note", "too salesy", *db,
    )  # fmt: skip
    assert rejected.returncode == 0, rejected.stderr

    history = run("content", "history", str(first), "--json", *db)
    actions = [e["action"] for e in json.loads(history.stdout)["events"]]
    assert actions == ["create", "submit", "approve"]

    verify = run("audit", "verify", "--json", *db)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["count"] == 6  # 2 x (create, submit) + approve + reject


def test_audit_verify_finds_an_altered_a_removed_and_a_rewritten_chain(
    db_url: str, tmp_path: Path
) -> None:
    asyncio.run(_prepare(db_url, 2))
    db = ["--db", db_url]
    today = dt.datetime.now(dt.UTC).date().isoformat()
    digest = run("audit", "digest", "--date", today, *db)
    assert digest.returncode == 0, digest.stderr
    digests = tmp_path / "digests.txt"
    digests.write_text(digest.stdout, encoding="utf-8")
    assert run("audit", "verify", "--digest", str(digests), *db).returncode == 0

    _sql(
        db_url, *_allow_tampering(db_url), "UPDATE audit_events SET reason = 'x' WHERE sequence = 2"
    )
    altered = run("audit", "verify", "--json", *db)
    assert altered.returncode == 1
    report = json.loads(altered.stdout)
    assert (report["first_bad_sequence"], report["ok"]) == (2, False)
    assert "altered" in report["reason"]

    _sql(db_url, "UPDATE audit_events SET reason = NULL WHERE sequence = 2")
    assert run("audit", "verify", *db).returncode == 0
    _sql(db_url, "DELETE FROM audit_events WHERE sequence = 3")
    removed = run("audit", "verify", *db)
    assert removed.returncode == 1
    assert "sequence 4" in removed.stdout

    # Rewrite the whole chain consistently (drop everything after event 2): only the digest
    # kept outside the database notices.
    _sql(db_url, "DELETE FROM audit_events WHERE sequence > 2")
    assert run("audit", "verify", *db).returncode == 0
    rewritten = run("audit", "verify", "--digest", str(digests), *db)
    assert rewritten.returncode == 1
    assert "digest" in rewritten.stdout


def test_a_bad_digest_file_is_a_one_line_input_error(sqlite_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "digests.txt"
    bad.write_text("2026-11-23 count=x\n", encoding="utf-8")
    result = run("audit", "verify", "--digest", str(bad), "--db", sqlite_url)
    assert result.returncode == 65
    assert len(result.stderr.strip().splitlines()) == 1
    assert "line 1" in result.stderr
