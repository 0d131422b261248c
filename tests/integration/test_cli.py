"""The ``projectone`` command, run as a real process."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import attrs
import pytest
import sqlalchemy as sa

from projectone import __version__
from projectone.adapters.sqlalchemy import create_engine, upgrade
from projectone.container import build_container, resolve, shutdown
from projectone.domain import Language
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.content import ContentVariant
from projectone.settings import Settings
from projectone.testing.demo_data import demo_advisors

# The tests' master key (conftest.py): databases written in-process open in the CLI.
MASTER_KEY = "PROJECTONE_PRIVACY_MASTER_KEY"


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_") or k == MASTER_KEY
    }
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "projectone", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


def last_json(stdout: str) -> dict[str, object]:
    doc = json.loads(stdout.strip().splitlines()[-1])
    assert isinstance(doc, dict)
    return doc


def test_the_version_is_printed() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"projectone {__version__}"


def test_the_demo_runs_a_whole_morning_and_ends_with_a_json_summary() -> None:
    result = run("demo", "--advisors", "60", "--json")
    assert result.returncode == 0, result.stderr
    doc = last_json(result.stdout)
    # One advisor in fifty has not opted in to WhatsApp and is not planned.
    assert doc["planned"] == 59
    assert doc["sent"] + doc["failed"] == doc["planned"]  # type: ignore[operator]
    assert doc["failed"] == 1  # one number in a hundred is not on WhatsApp...
    assert doc["sms_backup"] == 1  # ...so the SMS backup carried that one
    assert doc["fallback"] == 5  # advisors without content of their own, opted in
    # Receipts came back through the signed webhook: every sent message was delivered.
    assert doc["delivered"] == doc["sent"]
    assert doc["duplicates"] == 0  # at-most-once: nothing sent twice
    assert 0.9 <= doc["sla_met_ratio"] <= 1.0  # type: ignore[operator]


@pytest.mark.parametrize("count", ["0", "-3", "many"])
def test_a_bad_advisor_count_is_a_one_line_usage_error(count: str) -> None:
    result = run("demo", "--advisors", count)
    assert result.returncode == 64
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--advisors" in result.stderr


def test_an_unreachable_database_is_named_without_its_password() -> None:
    result = run("seed", "--advisors", "1", "--db", "postgresql://app:s3cret@127.0.0.1:1/x")
    assert result.returncode == 69
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "127.0.0.1:1" in lines[0]
    assert "s3cret" not in result.stderr


def test_a_misspelt_setting_stops_the_command_with_its_name() -> None:
    result = run("plan", env={"PROJECTONE_DATABSE_URL": "sqlite:///x.db"})
    assert result.returncode == 78
    assert "PROJECTONE_DATABSE_URL" in result.stderr


def test_seed_plan_dispatch_and_report_on_a_sqlite_file(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p1.db'}"
    # The date is far in the past: every delivery is due when dispatch runs now, and so long
    # overdue that it expires unsent (a morning post is not sent years later, on any channel).
    seeded = run("seed", "--advisors", "12", "--date", "2024-01-15", "--db", db)
    assert seeded.returncode == 0, seeded.stderr
    assert "12 advisors" in seeded.stdout

    planned = run("plan", "--date", "2024-01-15", "--db", db, "--json")
    assert planned.returncode == 0, planned.stderr
    assert last_json(planned.stdout)["planned"] == 12
    again = run("plan", "--date", "2024-01-15", "--db", db, "--json")
    assert last_json(again.stdout) == {
        "date": "2024-01-15",
        "planned": 0,
        "already_planned": 12,
        "fallbacks": 0,
        "pulled": 0,
        "pulled_packs": [],
        "without_content": 0,
        "unreadable": 0,
        "unreadable_advisors": [],
    }

    dispatched = run("dispatch", "--db", db, "--json")
    assert dispatched.returncode == 0, dispatched.stderr
    outcome = last_json(dispatched.stdout)
    assert (outcome["claimed"], outcome["sent"], outcome["failed"]) == (12, 0, 12)
    assert outcome["sms_backup"] == 0

    report = run("report", "sla", "--date", "2024-01-15", "--db", db, "--json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert (doc["planned"], doc["sent"], doc["failed"], doc["sla_met"]) == (12, 0, 12, 0)
    assert doc["failures_by_class"]["system_error"] == 12


def test_plan_gives_advisors_without_content_a_fallback_from_the_seeded_library(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'p1.db'}"
    seeded = run("seed", "--advisors", "20", "--date", "2026-11-23", "--db", db)
    assert seeded.returncode == 0, seeded.stderr
    assert "2 advisors left without content" in seeded.stdout  # one in ten
    assert "fallback library: 13 packs" in seeded.stdout
    # A second seed adds advisors but not a second library.
    more = run("seed", "--advisors", "5", "--date", "2026-11-23", "--db", db)
    assert "fallback library: 13 packs" in more.stdout, more.stderr

    planned = run("plan", "--date", "2026-11-23", "--db", db, "--json")
    assert planned.returncode == 0, planned.stderr
    doc = last_json(planned.stdout)
    assert (doc["planned"], doc["fallbacks"], doc["pulled"], doc["without_content"]) == (
        25,
        2,
        0,
        0,
    )

    human = run("plan", "--date", "2026-11-23", "--db", db)
    assert human.returncode == 0, human.stderr
    assert "planned 0 new deliveries" in human.stdout
    assert "25 already planned" in human.stdout
    assert "0 packs pulled" in human.stdout
    assert "0 advisors without content" in human.stdout


def test_the_default_database_is_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    result = run("seed", "--advisors", "2", env={"XDG_DATA_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "projectone" / "projectone.db").is_file()


@pytest.mark.postgres
def test_postgresql_is_migrated_only_by_db_upgrade(postgres_url: str) -> None:
    refused = run("seed", "--advisors", "3", "--db", postgres_url)
    assert refused.returncode == 78
    assert "projectone db upgrade" in refused.stderr

    upgraded = run("db", "upgrade", "--db", postgres_url)
    assert upgraded.returncode == 0, upgraded.stderr

    demo = run("demo", "--advisors", "30", "--db", postgres_url, "--json")
    assert demo.returncode == 0, demo.stderr
    doc = last_json(demo.stdout)
    assert doc["planned"] == 30
    assert doc["sent"] == 30


# -- projectone check / rules lint ------------------------------------------------------------

MF_WARNING = (
    "Mutual Fund investments are subject to market risks, read all scheme related documents "
    "carefully."
)
COMPLIANT = (
    f"Start a SIP and stay invested through ups and downs. {MF_WARNING} "
    "Priya Sharma, AMFI-registered Mutual Fund Distributor, ARN-12345."
)
MFD = ("--advisor-type", "MFD", "--name", "Priya Sharma", "--reg-no", "ARN-12345")


def check(tmp_path: Path, text: str | bytes, *args: str) -> subprocess.CompletedProcess[str]:
    post = tmp_path / "post.txt"
    if isinstance(text, str):
        post.write_text(text, encoding="utf-8")
    else:
        post.write_bytes(text)
    return run("check", *args, str(post))


def test_a_compliant_post_passes_with_exit_code_0(tmp_path: Path) -> None:
    result = check(tmp_path, COMPLIANT, *MFD, "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "pass"
    assert doc["rulebook_version"]
    assert {"verdict", "risk_score", "violations", "fixed_text"} <= set(doc)


def test_a_promise_blocks_with_exit_code_2_and_its_offsets(tmp_path: Path) -> None:
    text = f"Earn guaranteed returns with us! {COMPLIANT}"
    result = check(tmp_path, text, *MFD, "--json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "block"
    (promise,) = [v for v in doc["violations"] if v["rule_id"].startswith("PROMISE")]
    assert text[promise["start"] : promise["end"]].lower().startswith("guaranteed")
    assert {"rule_id", "severity", "category", "message", "start", "end"} <= set(promise)
    assert "guaranteed returns" not in doc["fixed_text"].lower()


def test_human_output_lists_each_violation_with_its_excerpt(tmp_path: Path) -> None:
    result = check(tmp_path, f"गारंटीड रिटर्न पाएं! {COMPLIANT}", *MFD)
    assert result.returncode == 2
    assert "BLOCK" in result.stdout
    assert "[critical]" in result.stdout
    assert "found: 'गारंटीड" in result.stdout


def test_a_json_content_pack_is_checked_per_language(tmp_path: Path) -> None:
    pack = {
        "variants": {
            "en": {"title": "SIP", "body": COMPLIANT},
            "hi": {"title": "SIP", "body": "पक्का मुनाफा, गारंटीड रिटर्न!"},
        }
    }
    result = check(tmp_path, json.dumps(pack, ensure_ascii=False), *MFD, "--json")
    assert result.returncode == 2
    doc = json.loads(result.stdout)
    assert {v["language"] for v in doc["violations"]} >= {"hi"}
    assert set(doc["fixed_text"]) == {"en", "hi"}


def test_standard_input_is_read_with_a_dash() -> None:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_") or k == MASTER_KEY
    }
    result = subprocess.run(
        [sys.executable, "-m", "projectone", "check", *MFD, "--json", "-"],
        input=COMPLIANT,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe not utf-8", "not valid UTF-8"),
        ('{"variants": {"fr": {"title": "t", "body": "b"}}}', "languages are en, hi and mr"),
        ('{"variants": {"en": {"title": "", "body": "b"}}}', "title"),
        ("{ not json", "not valid JSON"),
        ("   ", "empty"),
    ],
)
def test_unreadable_input_exits_65_with_one_line(
    tmp_path: Path, content: str | bytes, reason: str
) -> None:
    result = check(tmp_path, content)
    assert result.returncode == 65
    assert len(result.stderr.strip().splitlines()) == 1
    assert reason in result.stderr


def test_a_missing_file_and_bad_options_are_usage_or_input_errors(tmp_path: Path) -> None:
    assert run("check", str(tmp_path / "nope.txt")).returncode == 65
    assert run("check", "--advisor-type", "XYZ", "-").returncode == 64
    assert run("check").returncode == 64


BAD_RULEBOOK = """\
[rulebook]
version = "x"

[[rules]]
id = "A"
name = "a"
category = "platform_policy"
severity = "info"
when = "CONTAINS(txt, 'x')"
message = "m"
"""


def test_rules_lint_prints_file_line_column_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(BAD_RULEBOOK, encoding="utf-8")
    result = run("rules", "lint", str(path))
    assert result.returncode == 65
    assert (
        result.stdout.strip() == f"{path}:9:18: [A] unknown field 'txt'; fields are: "
        "text, title, body, cta, disclaimer, language, advisor.type, advisor.sebi_reg_no, "
        "advisor.name, content.type, content.topic"
    )
    # A broken rulebook given to check is an input error too.
    assert check(tmp_path, COMPLIANT, "--rulebook", str(path)).returncode == 65


def test_rules_lint_is_silent_on_the_default_rulebook() -> None:
    import projectone.rulebooks
    from projectone.adapters.rulebook_files import DEFAULT_RULEBOOK

    path = Path(projectone.rulebooks.__file__).parent / DEFAULT_RULEBOOK
    result = run("rules", "lint", str(path))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# --- content and audit -------------------------------------------------------------------------
# The database is prepared through the library (an advisor and packs in review), then the
# commands act on it; tampering is done with plain SQL, as someone with database access would.

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
    assert (
        json.loads(verify.stdout)["count"] == 7
    )  # register, 2 x (create, submit), approve, reject


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


def test_the_sla_report_is_written_as_one_html_page(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'p1.db'}"
    day = ["--date", "2024-01-15", "--db", db]
    # The demo lives through that morning on simulated time and leaves its database behind.
    assert run("demo", "--advisors", "6", *day).returncode == 0

    page = tmp_path / "sla.html"
    human = run("report", "sla", *day, "--html", str(page))
    assert human.returncode == 0, human.stderr
    assert str(page) in human.stdout
    assert "delivered (of sent)" in human.stdout
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Morning of 2024-01-15" in text
    assert text.count('<rect class="bar"') >= 1
    assert "://" not in text

    as_json = run("report", "sla", *day, "--json", "--html", str(tmp_path / "again.html"))
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout)
    assert doc["html_report"] == str(tmp_path / "again.html")
    assert (doc["planned"], doc["sent"], doc["failed"]) == (6, 6, 0)
    assert sum(doc["failures_by_class"].values()) == 0
    assert sum(n for _, n in doc["sends_by_minute"]) == 6
    assert (doc["fallbacks_used"], doc["sms_backups"], doc["duplicates"]) == (0, 0, 0)

    unwritable = run("report", "sla", *day, "--html", str(tmp_path / "missing" / "x.html"))
    assert unwritable.returncode == 65
    assert len(unwritable.stderr.strip().splitlines()) == 1
    assert "--html" in unwritable.stderr


@pytest.mark.parametrize(
    "args",
    [["--lease", "31"], ["--lease", "0"], ["--send-policy", "maybe"], ["--concurrency", "0"]],
)
def test_a_bad_worker_option_is_a_one_line_usage_error(args: list[str]) -> None:
    result = run("worker", "--drain", *args)
    assert result.returncode == 64
    assert len(result.stderr.strip().splitlines()) == 1
