"""``projectone generate`` and ``projectone ai usage|suggest``: the AI studio from the command line.

``generate`` drafts a post (offline templates by default, the configured model with
``PROJECTONE_AI=openai``) and prints it with its compliance result; with ``--advisor`` it
drafts for a registered advisor, under that advisor's daily quota, and the AI reviewer (when
configured) gives its opinion too. ``ai usage`` prints a month's spend by advisor and model
against the budget; ``ai suggest`` ranks topic families for an advisor on a date, with reasons.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from rich.console import Console
from rich.table import Table

from projectone.container import Container, resolve
from projectone.domain.advisor import AdvisorType
from projectone.domain.ai import AdvisorProfile, GenerationRequest, Tone
from projectone.domain.topics import TopicFamily
from projectone.entrypoints._common import (
    advisor_id,
    count,
    date,
    db_option,
    emit,
    settings_of,
    today,
    with_container,
)
from projectone.services.ai_studio import StudioDraft, UsageReport

__all__ = ["add_commands", "run_ai", "run_generate"]

# Used when no advisor is named: formats the rulebook accepts, clearly not a real person.
_SAMPLE = {
    AdvisorType.MFD: AdvisorProfile(
        name="Sample Advisor", type=AdvisorType.MFD, registration_no="ARN-000001"
    ),
    AdvisorType.RIA: AdvisorProfile(
        name="Sample Advisor", type=AdvisorType.RIA, registration_no="INA000000001"
    ),
}


def _month(value: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month YYYY-MM, got {value!r}") from None


def add_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    generate = commands.add_parser(
        "generate",
        help="draft a post with the AI and check it",
        description="Draft a post on TOPIC in one or more languages and print it with its "
        "compliance result. Exit code: 0 drafted (whatever the verdict), 1 refused by quota, "
        "budget or the model, 65 bad input, 69 model unreachable, 78 configuration error.",
    )
    generate.add_argument("--topic", required=True, help="what the post is about")
    generate.add_argument(
        "--language",
        action="append",
        choices=["en", "hi", "mr"],
        help="a language of the post; repeat for several (default: en)",
    )
    generate.add_argument(
        "--tone", choices=[t.value for t in Tone], default=Tone.PROFESSIONAL.value
    )
    generate.add_argument("--advisor-type", choices=["MFD", "RIA"], default="MFD")
    generate.add_argument("--name", help="the advisor's name (default: a sample advisor)")
    generate.add_argument("--reg-no", help="the advisor's registration number")
    generate.add_argument(
        "--advisor",
        type=advisor_id,
        metavar="ID",
        help="draft for this registered advisor (their profile, quota and AI review)",
    )
    generate.add_argument("--json", action="store_true", help="print one JSON object")
    db_option(generate)

    ai = commands.add_parser("ai", help="AI usage and spend")
    ai_commands = ai.add_subparsers(dest="ai_command", required=True, parser_class=parser_class)
    usage = ai_commands.add_parser("usage", help="a month's AI spend by advisor and model")
    usage.add_argument("--month", type=_month, metavar="YYYY-MM", help="default: the current month")
    usage.add_argument("--json", action="store_true", help="print one JSON object")
    db_option(usage)

    suggest = ai_commands.add_parser(
        "suggest", help="topics worth a post for an advisor on a date, with reasons"
    )
    suggest.add_argument("--advisor", type=advisor_id, metavar="ID", required=True)
    suggest.add_argument("--date", type=date, metavar="YYYY-MM-DD", help="default: today")
    suggest.add_argument(
        "--interest",
        action="append",
        choices=[f.value for f in TopicFamily],
        metavar="FAMILY",
        help="a topic family the advisor likes; repeat for several",
    )
    suggest.add_argument("--limit", type=count, default=5, metavar="N", help="default: 5")
    suggest.add_argument("--json", action="store_true", help="print one JSON object")
    db_option(suggest)


async def run_generate(args: argparse.Namespace, out: Console) -> int:
    async def work(container: Container) -> int:
        studio = await resolve(container.studio)
        advisor = None
        if args.advisor is not None:
            uow_factory = await resolve(container.uow_factory)
            async with uow_factory() as uow:
                advisor = await uow.advisors.get(args.advisor)  # NotFoundError names the id
            profile = AdvisorProfile.of(advisor)
        else:
            sample = _SAMPLE[AdvisorType(args.advisor_type)]
            profile = AdvisorProfile(
                name=args.name or sample.name,
                type=sample.type,
                registration_no=args.reg_no if args.reg_no is not None else sample.registration_no,
            )
        request = GenerationRequest(
            topic=args.topic,
            languages=list(args.language or ["en"]),
            tone=args.tone,
            profile=profile,
        )
        result = await studio.generate(request, advisor=advisor)
        emit(out, args.json, result.as_dict(), _draft_text(result))
        return 0

    return await with_container(settings_of(args), work)


def _draft_text(result: StudioDraft) -> str:
    lines = []
    for language, variant in result.draft.variants.items():
        lines += [f"── {language.value} ──", variant.render(), ""]
    c = result.compliance
    source = "cache" if result.cached else f"{result.draft.model} ({result.draft.prompt_version})"
    lines.append(
        f"compliance: {c.verdict.value}, risk {c.risk_score}, "
        f"{len(c.violations)} finding(s), AI review: {c.ai_review}"
    )
    lines += [f"  {v.rule_id}: {v.message}" for v in c.violations]
    lines.append(f"from {source}; INR {result.job.cost_inr}")
    return "\n".join(lines)


async def run_ai(args: argparse.Namespace, out: Console) -> int:
    if args.ai_command == "suggest":
        return await _suggest(args, out)

    async def work(container: Container) -> int:
        studio = await resolve(container.studio)
        month = args.month or dt.datetime.now(dt.UTC).date()
        report = await studio.usage(month)
        if args.json:
            emit(out, True, report.as_dict(), "")
        else:
            out.print(_usage_table(report))
        return 0

    return await with_container(settings_of(args), work)


async def _suggest(args: argparse.Namespace, out: Console) -> int:
    async def work(container: Container) -> int:
        studio = await resolve(container.studio)
        uow_factory = await resolve(container.uow_factory)
        async with uow_factory() as uow:
            advisor = await uow.advisors.get(args.advisor)
        day = args.date or today()
        found = await studio.suggest_topics(
            advisor, day, interests=args.interest or (), limit=args.limit
        )
        doc = {"date": day.isoformat(), "suggestions": [t.as_dict() for t in found]}
        text = "\n".join(
            f"{n}. {t.family.value} ({t.score}): {'; '.join(t.reasons) or 'all year'}"
            for n, t in enumerate(found, 1)
        )
        emit(out, args.json, doc, text)
        return 0

    return await with_container(settings_of(args), work)


def _usage_table(report: UsageReport) -> Table:
    table = Table(
        title=f"AI usage, {report.month_start:%B %Y}",
        caption=f"spent INR {report.spent_inr} of INR {report.budget_inr}",
    )
    for column in ("advisor", "model", "calls", "cache hits", "tokens in", "tokens out", "INR"):
        table.add_column(column, justify="left" if column in ("advisor", "model") else "right")
    for row in report.rows:
        table.add_row(
            "-" if row.advisor_id is None else str(row.advisor_id),
            row.model,
            str(row.calls),
            str(row.cache_hits),
            str(row.input_tokens),
            str(row.output_tokens),
            str(row.cost_inr),
        )
    return table
