"""The ``projectone`` command, run as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from projectone import __version__


def run(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_")}
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
    assert doc["failed"] == 1  # one number in a hundred is not on WhatsApp
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
    # The date is far in the past so that every delivery is due when dispatch runs now.
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
        "without_content": 0,
    }

    dispatched = run("dispatch", "--db", db, "--json")
    assert dispatched.returncode == 0, dispatched.stderr
    assert last_json(dispatched.stdout) == {"attempted": 12, "sent": 12, "failed": 0}

    report = run("report", "sla", "--date", "2024-01-15", "--db", db, "--json")
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    assert doc["sent"] == 12
    assert doc["sla_met"] == 0  # sent years after the send time: every SLA missed


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
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_")}
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
