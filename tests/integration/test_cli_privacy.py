"""``projectone privacy``, run as a real process against a seeded SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

# The tests' master key (conftest.py): the seeding process and the commands share it.
MASTER_KEY = "PROJECTONE_PRIVACY_MASTER_KEY"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_") or k == MASTER_KEY
    }
    return subprocess.run(
        [sys.executable, "-m", "projectone", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        input=stdin,
        check=False,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli-privacy') / 'p.db'}"
    result = run("seed", "--advisors", "3", "--db", url)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            ids = [uuid.UUID(hex=r[0]) for r in conn.execute(sa.text("SELECT id FROM advisors"))]
    finally:
        engine.dispose()
    first, second = sorted(ids)[:2]
    return url, str(first), str(second)


def test_export_prints_or_writes_one_json_document(
    seeded: tuple[str, str, str], tmp_path: Path
) -> None:
    url, advisor, _ = seeded
    printed = run("privacy", "export", "--advisor", advisor, "--db", url)
    assert printed.returncode == 0, printed.stderr
    doc = json.loads(printed.stdout)
    assert doc["format"] == "projectone.subject-export/1"
    assert doc["profile"]["email"].endswith("@example.in")
    out = tmp_path / "export.json"
    written = run("privacy", "export", "--advisor", advisor, "--out", str(out), "--db", url)
    assert written.returncode == 0, written.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["profile"] == doc["profile"]


def test_consent_is_shown_withdrawn_and_given_again(seeded: tuple[str, str, str]) -> None:
    url, advisor, _ = seeded
    shown = run("privacy", "consent", "show", "--advisor", advisor, "--json", "--db", url)
    assert shown.returncode == 0, shown.stderr
    purposes = {c["purpose"] for c in json.loads(shown.stdout)["consents"] if c["active"]}
    assert "processing" in purposes
    args = ("--advisor", advisor, "--purpose", "marketing", "--json", "--db", url)
    given = run("privacy", "consent", "give", *args)
    assert json.loads(given.stdout)["changed"] is True
    again = run("privacy", "consent", "give", *args)
    assert json.loads(again.stdout)["changed"] is False
    withdrawn = run("privacy", "consent", "withdraw", *args)
    assert json.loads(withdrawn.stdout)["consent"]["end_reason"] == "withdrawn"


def test_purge_dry_run_reports_and_changes_nothing(seeded: tuple[str, str, str]) -> None:
    url = seeded[0]
    result = run("privacy", "purge", "--dry-run", "--json", "--db", url)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["dry_run"] is True
    assert set(doc["removed"]) >= {"audit_events", "deliveries", "consents", "content_packs"}


def test_erase_asks_first_then_erases_once(seeded: tuple[str, str, str]) -> None:
    url, advisor, _ = seeded
    refused = run("privacy", "erase", "--advisor", advisor, "--db", url, stdin="")
    assert refused.returncode == 1
    assert "--yes" in refused.stderr
    erased = run("privacy", "erase", "--advisor", advisor, "--yes", "--json", "--db", url)
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout)["data_keys_destroyed"] == 1
    twice = run("privacy", "erase", "--advisor", advisor, "--yes", "--db", url)
    assert twice.returncode == 1
    assert twice.stderr.strip().count("\n") == 0
    assert "was erased" in twice.stderr
    export = run("privacy", "export", "--advisor", advisor, "--db", url)
    doc = json.loads(export.stdout)
    assert doc["subject"]["erased"] is True
    assert doc["profile"]["email"] is None


def test_bad_input_is_a_one_line_refusal(seeded: tuple[str, str, str]) -> None:
    url, _, other = seeded
    bad_id = run("privacy", "export", "--advisor", "not-a-uuid", "--db", url)
    assert bad_id.returncode == 64
    unknown = run("privacy", "erase", "--advisor", str(uuid.uuid4()), "--yes", "--db", url)
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
    wrong_key = subprocess.run(
        [sys.executable, "-m", "projectone", "privacy", "export", "--advisor", other],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_")},
            MASTER_KEY: "A" * 43 + "=",
            "PROJECTONE_DATABASE_URL": url,
        },
        check=False,
    )
    assert wrong_key.returncode == 78
    assert "master key" in wrong_key.stderr
