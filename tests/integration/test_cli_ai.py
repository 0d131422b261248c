"""``projectone generate`` and ``projectone ai usage``, run as real processes: offline, and with
the real ``openai`` SDK against the OpenAI-compatible simulator on loopback."""

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

from projectone.adapters.sqlalchemy import SqlAlchemyUnitOfWorkFactory, create_engine, upgrade
from projectone.domain.advisor import Tier
from projectone.testing.demo_data import demo_advisors
from projectone.testing.fakes import SequentialIds
from projectone.testing.keys import fixed_key_store
from projectone.testing.openai_simulator import OpenAiSimulator, rate_limited

# The tests' master key (conftest.py): databases written in-process open in the CLI.
MASTER_KEY = "PROJECTONE_PRIVACY_MASTER_KEY"

T0 = dt.datetime(2026, 11, 23, 4, 30, tzinfo=dt.UTC)


def _environ(env: dict[str, str]) -> dict[str, str]:
    environ = {
        k: v for k, v in os.environ.items() if not k.startswith("PROJECTONE_") or k == MASTER_KEY
    }
    environ.update(env)
    return environ


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "projectone", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_environ(env),
        check=False,
    )


async def run_async(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The CLI as a child process while this event loop keeps serving a simulator."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectone",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_environ(env),
    )
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


@pytest.fixture
def db(tmp_path: Path) -> dict[str, str]:
    return {"PROJECTONE_DATABASE_URL": f"sqlite:///{tmp_path / 'ai.db'}"}


def test_an_offline_draft_passes_the_rules_and_a_repeat_comes_from_the_cache(
    db: dict[str, str],
) -> None:
    args = ("generate", "--topic", "SIP for beginners", "--language", "hi", "--json")
    first = run(*args, env=db)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["compliance"]["verdict"] == "pass"
    assert list(doc["variants"]) == ["hi"]
    assert doc["model"] == "offline-templates"
    assert doc["cached"] is False
    again = json.loads(run(*args, env=db).stdout)
    assert again["cached"] is True
    assert again["variants"] == doc["variants"]

    usage = run("ai", "usage", "--json", env=db)
    assert usage.returncode == 0, usage.stderr
    report = json.loads(usage.stdout)
    [row] = report["rows"]
    assert (row["model"], row["calls"], row["cache_hits"]) == ("offline-templates", 1, 1)
    assert report["budget_inr"] == "25000"


def test_a_draft_is_printed_as_text_with_its_verdict(db: dict[str, str]) -> None:
    result = run("generate", "--topic", "Tax saving under 80C", "--advisor-type", "RIA", env=db)
    assert result.returncode == 0, result.stderr
    assert "── en ──" in result.stdout
    assert "compliance: pass" in result.stdout


@pytest.mark.parametrize(
    ("args", "env", "code", "reason"),
    [
        (("--topic", "  "), {}, 65, "topic"),
        (("--topic", "SIP", "--language", "fr"), {}, 64, "invalid choice"),
        (("--topic", "SIP", "--tone", "sarcastic"), {}, 64, "invalid choice"),
        (("--topic", "SIP", "--advisor", "nobody"), {}, 64, "advisor id"),
        (("--topic", "SIP"), {"PROJECTONE_AI": "openai"}, 78, "PROJECTONE_OPENAI_API_KEY"),
    ],
)
def test_bad_input_is_a_one_line_refusal_before_any_model_call(
    db: dict[str, str], args: tuple[str, ...], env: dict[str, str], code: int, reason: str
) -> None:
    result = run("generate", *args, env={**db, **env})
    assert result.returncode == code
    assert reason in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_an_unknown_month_format_is_a_usage_error(db: dict[str, str]) -> None:
    result = run("ai", "usage", "--month", "November", env=db)
    assert result.returncode == 64
    assert "YYYY-MM" in result.stderr


async def _register_advisor(url: str) -> str:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        [advisor] = demo_advisors(1, ids=SequentialIds(), now=T0)
        advisor = attrs.evolve(advisor, tier=Tier.BASIC)
        uow = SqlAlchemyUnitOfWorkFactory(engine, fixed_key_store())
        async with uow() as unit:
            await unit.advisors.add(advisor)
            await unit.commit()
        return str(advisor.id)
    finally:
        await engine.dispose()


async def test_an_advisor_out_of_quota_is_refused_with_a_reason(db: dict[str, str]) -> None:
    advisor = await _register_advisor(db["PROJECTONE_DATABASE_URL"])
    env = {**db, "PROJECTONE_AI_COSTS_GENERATIONS_BASIC": "1"}
    code, _, err = await run_async(
        "generate", "--topic", "SIP basics", "--advisor", advisor, env=env
    )
    assert code == 0, err
    code, out, err = await run_async(
        "generate", "--topic", "Goal planning", "--advisor", advisor, env=env
    )
    assert code == 1
    assert "has used 1 of 1 generation requests today" in err
    assert out == ""


async def test_the_cli_drafts_with_the_openai_sdk_through_a_rate_limit(
    db: dict[str, str],
) -> None:
    async with OpenAiSimulator(api_key="sk-loopback") as sim:
        sim.script(rate_limited(retry_after=0))
        env = {
            **db,
            "PROJECTONE_AI": "openai",
            "PROJECTONE_OPENAI_API_KEY": "sk-loopback",
            "PROJECTONE_OPENAI_BASE_URL": sim.api_base,
        }
        code, out, err = await run_async(
            "generate", "--topic", "SIP for beginners", "--language", "mr", "--json", env=env
        )
        assert code == 0, err
        doc = json.loads(out)
        assert doc["model"] == "gpt-4.1"
        assert doc["prompt_version"] == "generate-v1"
        assert list(doc["variants"]) == ["mr"]
        assert doc["compliance"]["verdict"] in ("pass", "review", "block")
        assert sim.requests == 2  # the 429, then the answer

        sim.fail_all()
        code, out, err = await run_async("generate", "--topic", "Goal planning", env=env)
        assert code == 69
        assert "openai at 127.0.0.1" in err
        assert "sk-loopback" not in err


async def test_topic_suggestions_name_their_reasons(db: dict[str, str]) -> None:
    advisor = await _register_advisor(db["PROJECTONE_DATABASE_URL"])
    code, out, err = await run_async(
        "ai",
        "suggest",
        "--advisor",
        advisor,
        "--date",
        "2026-11-05",
        "--interest",
        "retirement_planning",
        "--limit",
        "3",
        "--json",
        env=db,
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["date"] == "2026-11-05"
    families = [s["family"] for s in doc["suggestions"]]
    assert len(families) == 3
    # Diwali falls on 8 November 2026.
    assert "festival_greeting" in families
    festival = next(s for s in doc["suggestions"] if s["family"] == "festival_greeting")
    assert any("Diwali" in reason for reason in festival["reasons"])
    unknown = run("ai", "suggest", "--advisor", str(uuid.uuid4()), env=db)
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
