"""The ``projectone`` command.

Every failure ends in one line on stderr and a ``sysexits``-style exit code: 64 bad usage,
65 bad data, 69 a service (database, provider) unreachable, 78 configuration or schema not
ready, 1 anything else projectone refused.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import attrs
from aiohttp import web
from rich.console import Console
from rich.table import Table
from rich.text import Text

from projectone import __version__
from projectone.adapters.local_keys import load_key_store
from projectone.adapters.rulebook_files import default_rulebook, load_rulebook
from projectone.adapters.sqlalchemy import (
    SchemaOutdatedError,
    create_engine,
    ensure_reachable,
    safe_url,
    upgrade,
)
from projectone.container import Container, build_container, resolve
from projectone.domain.advisor import Advisor
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.compliance import RuleError, Subject, Verdict
from projectone.domain.content import ContentStatus, ContentVariant
from projectone.domain.errors import (
    ConfigurationError,
    KeyStoreError,
    ProjectOneError,
    UnavailableError,
    ValidationError,
)
from projectone.domain.language import Language
from projectone.domain.sla import SlaSummary
from projectone.entrypoints._common import (
    EX_CONFIG,
    EX_DATAERR,
    EX_UNAVAILABLE,
    EX_USAGE,
    Parser,
    UsageError,
    count,
    date,
    db_option,
    emit,
    port,
    settings_of,
    today,
    with_container,
)
from projectone.entrypoints.cli_ai import add_commands as add_ai_commands
from projectone.entrypoints.cli_ai import run_ai, run_generate
from projectone.entrypoints.cli_demo import run_demo
from projectone.entrypoints.cli_privacy import add_commands as add_privacy_commands
from projectone.entrypoints.cli_privacy import run_privacy
from projectone.entrypoints.cli_worker import add_commands as add_worker_commands
from projectone.entrypoints.cli_worker import run_dispatch, run_worker
from projectone.entrypoints.cli_workflow import add_commands as add_workflow_commands
from projectone.entrypoints.cli_workflow import run_audit, run_content
from projectone.entrypoints.gc_tuning import tune_for_service
from projectone.entrypoints.http import create_app
from projectone.entrypoints.http.request_log import ACCESS_LOG_FORMAT, LOG_FORMAT, RequestIdFilter
from projectone.entrypoints.log_masking import PiiMaskingFilter
from projectone.entrypoints.sla_html import CAPTION as SLA_CAPTION
from projectone.entrypoints.sla_html import render_sla_html, summary_rows
from projectone.services.compliance import ComplianceResult, ComplianceService
from projectone.testing.demo_data import (
    LIBRARY_AUTHOR_ID,
    demo_advisors,
    demo_library,
    demo_packs,
    lacks_content,
)

__all__ = ["main"]

DEFAULT_DEMO_ADVISORS = 200


def _parser() -> Parser:
    parser = Parser(
        prog="projectone",
        description="Compliant morning WhatsApp content for Indian financial advisors.",
    )
    parser.add_argument("--version", action="version", version=f"projectone {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    db_option(db_commands.add_parser("upgrade", help="apply migrations up to the newest"))

    seed = commands.add_parser("seed", help="write demo advisors and approved packs")
    seed.add_argument("--advisors", type=count, required=True, metavar="N", help="how many to add")
    seed.add_argument("--date", type=date, help="date the packs are for (default: today, IST)")
    db_option(seed)

    plan = commands.add_parser("plan", help="queue the morning's deliveries")
    plan.add_argument("--date", type=date, help="default: today, IST")
    plan.add_argument("--json", action="store_true")
    db_option(plan)

    add_worker_commands(commands)
    add_ai_commands(commands, Parser)
    add_privacy_commands(commands)

    report = commands.add_parser("report", help="reports")
    reports = report.add_subparsers(dest="report", required=True, parser_class=Parser)
    sla = reports.add_parser("sla", help="SLA summary of a morning")
    sla.add_argument("--date", type=date, help="default: today, IST")
    sla.add_argument("--json", action="store_true")
    sla.add_argument(
        "--html",
        metavar="FILE",
        help="also write the report, with a chart of sends per minute, as one HTML file",
    )
    db_option(sla)

    check = commands.add_parser(
        "check",
        help="check a post against the compliance rules",
        description="Check a plain-text post or a JSON content pack. Exit code: 0 pass, "
        "1 review, 2 block, 64 usage error, 65 unreadable input or invalid rulebook.",
    )
    check.add_argument("file", metavar="FILE", help="the post, or - for standard input")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--rulebook", metavar="FILE", help="default: the SEBI/AMFI rulebook")
    check.add_argument("--advisor-type", choices=["RIA", "MFD"], default="MFD", help="default: MFD")
    check.add_argument("--name", default="", help="the advisor's name")
    check.add_argument("--reg-no", default="", help="the advisor's registration number")
    check.add_argument(
        "--language",
        choices=["en", "hi", "mr"],
        help="language of a plain-text post (default: Devanagari → hi, else en)",
    )

    rules = commands.add_parser("rules", help="rulebooks")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, parser_class=Parser)
    lint = rules_commands.add_parser(
        "lint", help="check a rulebook; print FILE:LINE:COL: message per problem"
    )
    lint.add_argument("file", metavar="FILE")

    add_workflow_commands(commands)

    serve = commands.add_parser(
        "serve", help="run the HTTP service (health checks, WhatsApp webhooks)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1")
    serve.add_argument("--port", type=port, default=8080, help="default: 8080")
    db_option(serve)

    demo = commands.add_parser("demo", help="a full simulated morning on loopback")
    demo.add_argument(
        "--advisors",
        type=count,
        default=DEFAULT_DEMO_ADVISORS,
        metavar="N",
        help=f"how many advisors to simulate (default {DEFAULT_DEMO_ADVISORS})",
    )
    demo.add_argument("--date", type=date, help="default: today, IST")
    demo.add_argument("--json", action="store_true", help="end the output with one line of JSON")
    db_option(demo)
    return parser


# --- commands -------------------------------------------------------------------------------


async def _db_upgrade(args: argparse.Namespace, out: Console) -> int:
    settings = settings_of(args)
    url = settings.resolved_database_url
    key_store = load_key_store(settings.privacy.master_key, settings.privacy.master_key_file)
    engine = create_engine(url)
    try:
        await ensure_reachable(engine)
        await upgrade(engine, key_store=key_store)
    finally:
        await engine.dispose()
    out.print(f"database at {safe_url(url)} is up to date")
    return 0


async def _seed(args: argparse.Namespace, out: Console) -> int:
    date = args.date or today()

    async def work(container: Container) -> int:
        seeded = await _seed_demo(container, args.advisors, date)
        out.print(
            f"seeded {seeded.advisors} advisors and {seeded.approved} approved packs for {date} "
            f"({seeded.auto_approved} auto-approved, {seeded.blocked} blocked by compliance, "
            f"{seeded.advisors - seeded.approved - seeded.blocked} advisors left without content); "
            f"fallback library: {seeded.library} packs"
        )
        return 0

    return await with_container(settings_of(args), work)


@attrs.frozen(kw_only=True)
class _Seeded:
    advisor_list: list[Advisor]
    approved: int
    auto_approved: int
    blocked: int
    #: Packs in the fallback library (written by the first seed only).
    library: int = 0

    @property
    def advisors(self) -> int:
        return len(self.advisor_list)


_DEMO_REVIEWER = Actor(type=ActorType.USER, id="admin:demo-reviewer", role=Role.ADMIN)
_LIBRARY_AUTHOR = Actor(type=ActorType.SYSTEM, id=LIBRARY_AUTHOR_ID, role=Role.SYSTEM)
_LIBRARY_REVIEWER = Actor(
    type=ActorType.USER, id="compliance:demo-library", role=Role.COMPLIANCE_OFFICER
)


async def _seed_demo(container: Container, n: int, date: dt.date) -> _Seeded:
    """Register ``n`` demo advisors and take one pack each (but one advisor in ten, left
    without content) through the workflow: written by the advisor, submitted (checked), then
    approved by the tier's auto-approval or by a demo reviewer, as the audit trail will show.
    The first seed of a database also writes the fallback library."""
    catalog = await resolve(container.catalog)
    workflow = await resolve(container.workflow)
    clock, ids = container.clock(), container.ids()
    start = await catalog.advisor_count()
    advisors = demo_advisors(n, ids=ids, now=clock.now(), start=start)
    await catalog.register(advisors)
    library = await _seed_library(container)
    with_content = [a for i, a in enumerate(advisors, start) if not lacks_content(i)]
    drafts = demo_packs(with_content, date, ids=ids, now=clock.now(), status=ContentStatus.DRAFT)
    approved = auto = blocked = 0
    for draft in drafts:
        author = Actor(type=ActorType.USER, id=draft.author_id or "advisor", role=Role.ADVISOR)
        pack = await workflow.create_draft(
            author,
            advisor_id=draft.advisor_id,
            topic=draft.topic,
            variants=draft.variants,
            type=draft.type,
            scheduled_date=draft.scheduled_date,
        )
        result = await workflow.submit(pack.id, author)
        if result.blocked:
            blocked += 1
            continue
        if result.auto_approved:
            auto += 1
        else:
            await workflow.approve(pack.id, _DEMO_REVIEWER, "demo data")
        approved += 1
    return _Seeded(
        advisor_list=advisors,
        approved=approved,
        auto_approved=auto,
        blocked=blocked,
        library=library,
    )


async def _seed_library(container: Container) -> int:
    """Write the demo fallback library unless the database has one: each pack written by the
    library's system author, submitted (checked) and approved by a compliance officer, then
    added to the library. Returns the number of packs in the library."""
    library = await resolve(container.library)
    existing = await library.entries(active_only=False)
    if existing:
        return len(existing)
    workflow = await resolve(container.workflow)
    clock, ids = container.clock(), container.ids()
    entries = []
    for draft, entry in demo_library(ids=ids, now=clock.now(), status=ContentStatus.DRAFT):
        pack = await workflow.create_draft(
            _LIBRARY_AUTHOR,
            advisor_id=None,
            topic=draft.topic,
            variants=draft.variants,
            type=draft.type,
        )
        result = await workflow.submit(pack.id, _LIBRARY_AUTHOR)
        if result.blocked:
            continue
        await workflow.approve(pack.id, _LIBRARY_REVIEWER, "fallback library (demo)")
        entries.append(attrs.evolve(entry, pack_id=pack.id))
    return await library.add(entries, _LIBRARY_REVIEWER)


async def _plan(args: argparse.Namespace, out: Console) -> int:
    date = args.date or today()

    async def work(container: Container) -> int:
        result = await (await resolve(container.morning)).plan_morning(date)
        doc = {
            "date": date.isoformat(),
            "planned": result.planned,
            "already_planned": result.already_planned,
            "fallbacks": result.fallbacks,
            "pulled": len(result.pulled),
            "pulled_packs": [str(pack_id) for pack_id in result.pulled],
            "without_content": len(result.without_content),
            "unreadable": len(result.unreadable),
            "unreadable_advisors": [str(advisor_id) for advisor_id in result.unreadable],
        }
        pulled = "".join(f"\n  pulled pack {pack_id}" for pack_id in result.pulled)
        pulled += "".join(
            f"\n  left out: advisor {advisor_id} (personal data does not open)"
            for advisor_id in result.unreadable
        )
        emit(
            out,
            args.json,
            doc,
            f"planned {result.planned} new deliveries for {date} "
            f"({result.fallbacks} of them fallback packs); "
            f"{result.already_planned} already planned, "
            f"{len(result.pulled)} packs pulled by the compliance re-check, "
            f"{len(result.without_content)} advisors without content, "
            f"{len(result.unreadable)} left out (personal data does not open){pulled}",
        )
        return 0

    return await with_container(settings_of(args), work)


async def _report_sla(args: argparse.Namespace, out: Console) -> int:
    date = args.date or today()

    async def work(container: Container) -> int:
        summary = await (await resolve(container.morning)).sla_summary(date)
        written = _write_html(args.html, date, summary) if args.html else None
        if args.json:
            doc = {"date": date.isoformat(), **summary.as_dict()}
            if written is not None:
                # Where the page went, in the JSON itself: stdout stays one JSON document.
                doc["html_report"] = str(written)
            out.print_json(data=doc)
        else:
            out.print(_summary_table(date, summary))
            if written is not None:
                out.print(Text(f"HTML report written to {written}"))
        return 0

    return await with_container(settings_of(args), work)


def _write_html(name: str, date: dt.date, summary: SlaSummary) -> Path:
    """Write the HTML report to ``name``; a file that cannot be written is bad input (65)."""
    path = Path(name)
    try:
        path.write_text(render_sla_html(date, summary), encoding="utf-8")
    except OSError as exc:
        raise ValidationError("--html", name, f"cannot write it: {exc.strerror}") from None
    return path.absolute()


async def _check(args: argparse.Namespace, out: Console) -> int:
    rulebook = load_rulebook(args.rulebook) if args.rulebook else default_rulebook()
    data = _read_input(args.file)
    subjects, plain = _subjects(data, args)
    result = await ComplianceService(rulebook).check_subjects(subjects)
    if args.json:
        doc = result.as_dict()
        doc["fixed_text"] = (
            next(iter(result.fixed.values())).get("text")
            if plain
            else {lang.value: s.get("text") for lang, s in result.fixed.items()}
        )
        out.print(
            json.dumps(doc, ensure_ascii=False), soft_wrap=True, highlight=False, markup=False
        )
    else:
        _print_check(out, result, plain)
    return {Verdict.PASS: 0, Verdict.REVIEW: 1, Verdict.BLOCK: 2}[result.verdict]


def _read_input(name: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise ValidationError("FILE", name, f"cannot read it: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError("FILE", name, f"not valid UTF-8 (byte {exc.start})") from None


def _subjects(data: str, args: argparse.Namespace) -> tuple[dict[Language, Subject], bool]:
    advisor = {
        "advisor_type": args.advisor_type,
        "advisor_name": args.name,
        "advisor_reg_no": args.reg_no,
    }
    stripped = data.lstrip()
    if stripped.startswith("{"):
        try:
            doc = json.loads(data)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                "FILE",
                args.file,
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            ) from None
        variants = doc.get("variants", doc) if isinstance(doc, dict) else None
        if not isinstance(variants, dict) or not variants:
            raise ValidationError(
                "FILE",
                args.file,
                "a content pack is an object of language: {title, body, cta, disclaimer}",
            )
        subjects = {}
        for code, raw in variants.items():
            language = to_language(code)
            if not isinstance(raw, dict):
                raise ValidationError(f"variants.{code}", raw, "must be an object")
            try:
                variant = ContentVariant(**raw)
            except TypeError as exc:
                raise ValidationError(f"variants.{code}", raw, str(exc)) from None
            subjects[language] = Subject.of(
                title=variant.title,
                body=variant.body,
                cta=variant.cta,
                disclaimer=variant.disclaimer,
                language=language.value,
                content_type=str(doc.get("type", "")),
                content_topic=str(doc.get("topic", "")),
                **advisor,
            )
        return subjects, False
    if not data.strip():
        raise ValidationError("FILE", args.file, "the post is empty")
    language = Language(args.language) if args.language else _guess_language(data)
    return {language: Subject.of(body=data, language=language.value, **advisor)}, True


def to_language(code: object) -> Language:
    try:
        return Language(str(code))
    except ValueError:
        raise ValidationError("variants", code, "languages are en, hi and mr") from None


def _guess_language(text: str) -> Language:
    # Hindi and Marathi share the script; without --language, Devanagari reads as Hindi.
    return Language.HI if any("\u0900" <= c <= "\u097f" for c in text) else Language.EN


def _print_check(out: Console, result: ComplianceResult, plain: bool) -> None:
    colour = {Verdict.PASS: "green", Verdict.REVIEW: "yellow", Verdict.BLOCK: "red"}
    out.print(
        f"[bold {colour[result.verdict]}]{result.verdict.value.upper()}[/] "
        f"risk {result.risk_score}/100 (rulebook {result.rulebook_version})"
    )
    for v in result.violations:
        where = f" at {v.start}-{v.end}" if v.start is not None else ""
        out.print(Text(f"  [{v.severity.value}] {v.rule_id} ({v.language}){where}: {v.message}"))
        if v.excerpt:
            out.print(Text(f"      found: {v.excerpt!r}"))
        if v.suggestion:
            out.print(Text(f"      fix: {v.suggestion}"))
    if result.applied_fixes:
        out.print(
            f"after automatic fixes ({', '.join(result.applied_fixes)}): "
            f"{result.fixed_verdict.value.upper()} risk {result.fixed_risk_score}/100"
        )
        for language, subject in result.fixed.items():
            label = "" if plain else f"[{language.value}] "
            out.print(Text(label + subject.get("text")))


async def _rules_lint(args: argparse.Namespace, out: Console) -> int:
    try:
        load_rulebook(args.file)
    except RuleError as exc:
        for problem in exc.problems:
            print(problem.format(args.file))
        return EX_DATAERR
    return 0


# --- output -------------------------------------------------------------------------------


def _summary_table(date: dt.date, s: SlaSummary) -> Table:
    table = Table(
        title=f"Morning of {date}",
        caption=SLA_CAPTION,
        min_width=64,
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in summary_rows(s):
        table.add_row(name, value)
    # Only the classes that happened: the full list, zeros included, is in --json and --html.
    for failure_class, n in s.failures_by_class.items():
        if n:
            table.add_row(f"failed: {failure_class.value}", str(n))
    return table


# --- main ---------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace, err: Console) -> int:
    container = build_container(settings_of(args))
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RequestIdFilter())
    # After the request id is attached: what reaches the terminal carries no personal data.
    handler.addFilter(PiiMaskingFilter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    runner = web.AppRunner(create_app(container), access_log_format=ACCESS_LOG_FORMAT)
    await runner.setup()
    tune_for_service()
    try:
        site = web.TCPSite(runner, args.host, args.port)
        try:
            await site.start()
        except OSError as exc:
            raise UnavailableError(f"{args.host}:{args.port}", exc.strerror or str(exc)) from None
        err.print(f"serving on http://{args.host}:{args.port} (Ctrl-C stops)")
        await asyncio.Event().wait()  # until the process is interrupted
    finally:
        await runner.cleanup()  # closes the container's resources (cleanup_ctx)
    return 0  # pragma: no cover - only an interrupt ends the wait


def _exit_code(exc: ProjectOneError) -> int:
    if isinstance(exc, RuleError):
        return EX_DATAERR
    if isinstance(exc, UnavailableError):
        return EX_UNAVAILABLE
    if isinstance(exc, ConfigurationError | SchemaOutdatedError | KeyStoreError):
        return EX_CONFIG
    if isinstance(exc, ValidationError):
        return EX_DATAERR
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False)
    try:
        args = _parser().parse_args(argv)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return EX_USAGE
    handlers: dict[str, Callable[[], Awaitable[int]]] = {
        "db": lambda: _db_upgrade(args, out),
        "seed": lambda: _seed(args, out),
        "plan": lambda: _plan(args, out),
        "dispatch": lambda: run_dispatch(args, out),
        "worker": lambda: run_worker(args, out, err),
        "report": lambda: _report_sla(args, out),
        "demo": lambda: run_demo(args, out, err, seed=_seed_demo, table=_summary_table),
        "check": lambda: _check(args, out),
        "rules": lambda: _rules_lint(args, out),
        "content": lambda: run_content(args, out),
        "audit": lambda: run_audit(args, out),
        "serve": lambda: _serve(args, err),
        "generate": lambda: run_generate(args, out),
        "ai": lambda: run_ai(args, out),
        "privacy": lambda: run_privacy(args, out, err),
    }
    try:
        return asyncio.run(_run(handlers[args.command]))
    except ProjectOneError as exc:
        print(f"projectone: {_one_line(exc)}", file=sys.stderr)
        if args.command == "content" and isinstance(exc, ValidationError):
            return 1  # a refused review action (e.g. a reject without a note), not bad data
        return _exit_code(exc)
    except KeyboardInterrupt:
        print("projectone: interrupted", file=sys.stderr)
        return 130


async def _run(handler: Callable[[], Awaitable[int]]) -> int:
    return await handler()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
