"""``projectone content …`` and ``projectone audit …``: the workflow from a terminal.

Content commands act as the person named by ``--actor`` (with ``--role``, default admin): the
same guards apply as anywhere else (a reviewer cannot approve their own pack, a reject needs a
note). A refused action exits 1 with the reason and writes nothing.

``audit verify`` exits 0 when the chain is intact and 1 naming the first bad event otherwise;
``audit digest`` prints the line to keep outside the database for ``verify --digest``.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from projectone.container import Container, resolve
from projectone.domain.audit import Actor, ActorType, Role, parse_digest_file
from projectone.domain.content import ContentPack
from projectone.domain.errors import ValidationError
from projectone.entrypoints._common import (
    Parser,
    count,
    date,
    db_option,
    emit,
    settings_of,
    today,
    with_container,
)
from projectone.services.compliance import violation_dict
from projectone.services.workflow import SubmitResult

__all__ = ["add_commands", "run_audit", "run_content"]

_ROLES = [Role.ADMIN.value, Role.COMPLIANCE_OFFICER.value, Role.ADVISOR.value]


def _pack_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a pack id (UUID), got {value!r}") from None


def add_commands(commands: Any) -> None:
    """Register ``content`` and ``audit`` on the top-level sub-command set."""
    content = commands.add_parser("content", help="review content packs (submit, approve, …)")
    actions = content.add_subparsers(dest="content_command", required=True, parser_class=Parser)

    def acting(p: argparse.ArgumentParser) -> None:
        p.add_argument("pack", type=_pack_id, metavar="PACK_ID")
        p.add_argument("--actor", required=True, metavar="ID", help="who you are (user id)")
        p.add_argument("--role", choices=_ROLES, default=Role.ADMIN.value, help="default: admin")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        db_option(p)

    acting(actions.add_parser("submit", help="run the compliance check and send to review"))
    approve = actions.add_parser("approve", help="approve a pack waiting for review")
    acting(approve)
    approve.add_argument("--note", help="a note for the record")
    reject = actions.add_parser("reject", help="reject a pack waiting for review")
    acting(reject)
    reject.add_argument("--note", help="why (required)")
    history = actions.add_parser("history", help="the audit events of a pack")
    history.add_argument("pack", type=_pack_id, metavar="PACK_ID")
    history.add_argument("--json", action="store_true")
    db_option(history)
    queue = actions.add_parser("queue", help="packs waiting for review, riskiest first")
    queue.add_argument("--limit", type=count, default=50, metavar="N", help="default 50")
    queue.add_argument("--json", action="store_true")
    db_option(queue)

    audit = commands.add_parser("audit", help="the tamper-evident audit trail")
    audit_actions = audit.add_subparsers(dest="audit_command", required=True, parser_class=Parser)
    verify = audit_actions.add_parser(
        "verify",
        help="walk the hash chain; exit 1 at the first altered, removed or reordered event",
    )
    verify.add_argument(
        "--digest",
        metavar="FILE",
        help="also check the chain against digests kept earlier (one line per day)",
    )
    verify.add_argument("--json", action="store_true")
    db_option(verify)
    digest = audit_actions.add_parser("digest", help="the chain's head and count for one day")
    digest.add_argument("--date", type=date, help="UTC day (default: today)")
    digest.add_argument("--json", action="store_true")
    db_option(digest)


# --- content -------------------------------------------------------------------------------


def _actor(args: argparse.Namespace) -> Actor:
    return Actor(type=ActorType.USER, id=args.actor, role=args.role)


def _pack_doc(pack: ContentPack) -> dict[str, Any]:
    return {
        "id": str(pack.id),
        "advisor_id": None if pack.advisor_id is None else str(pack.advisor_id),
        "status": pack.status.value,
        "version": pack.version,
        "topic": pack.topic,
        "risk_score": pack.risk_score,
        "compliance_verdict": pack.compliance_verdict,
        "rulebook_version": pack.rulebook_version,
        "findings": list(pack.findings),
        "escalated": pack.escalated,
        "reviewer_id": pack.reviewer_id,
        "review_note": pack.review_note,
        "submitted_at": None if pack.submitted_at is None else pack.submitted_at.isoformat(),
        "content_hash": pack.content_hash,
        "approved_hash": pack.approved_hash,
    }


async def run_content(args: argparse.Namespace, out: Console) -> int:
    async def work(container: Container) -> int:
        workflow = await resolve(container.workflow)
        command = args.content_command
        if command == "queue":
            packs = await workflow.review_queue(args.limit)
            if args.json:
                emit(out, True, {"queue": [_pack_doc(p) for p in packs]}, "")
            else:
                out.print(_queue_table(packs))
            return 0
        if command == "history":
            events = await workflow.history(args.pack)
            docs = [
                {
                    "sequence": e.sequence,
                    "occurred_at": e.occurred_at.isoformat(),
                    "actor": e.actor.id,
                    "role": e.actor.role.value,
                    "action": e.action,
                    "changed_fields": list(e.changed_fields),
                    "reason": e.reason,
                    "hash": e.hash,
                }
                for e in events
            ]
            lines = [
                f"{d['sequence']:>6}  {d['occurred_at']}  {d['actor']} ({d['role']})  "
                f"{d['action']}" + (f": {d['reason']}" if d["reason"] else "")
                for d in docs
            ]
            emit(out, args.json, {"pack": str(args.pack), "events": docs}, "\n".join(lines))
            return 0
        actor = _actor(args)
        if command == "submit":
            result = await workflow.submit(args.pack, actor)
            emit(out, args.json, _submit_doc(result), _submit_text(result))
            return 0
        if command == "approve":
            pack = await workflow.approve(args.pack, actor, args.note)
        else:
            pack = await workflow.reject(args.pack, actor, args.note or "")
        emit(out, args.json, _pack_doc(pack), f"pack {pack.id} is now {pack.status.value}")
        return 0

    return await with_container(settings_of(args), work)


def _submit_doc(result: SubmitResult) -> dict[str, Any]:
    return {
        **_pack_doc(result.pack),
        "blocked": result.blocked,
        "auto_approved": result.auto_approved,
        "incident_id": None if result.incident_id is None else str(result.incident_id),
        "violations": [violation_dict(v) for v in result.compliance.violations],
    }


def _submit_text(result: SubmitResult) -> str:
    pack = result.pack
    head = (
        f"pack {pack.id}: {result.compliance.verdict.value}, risk {pack.risk_score}, "
        f"now {pack.status.value}"
        + (" (auto-approved)" if result.auto_approved else "")
        + (f"; incident {result.incident_id} opened" if result.incident_id else "")
    )
    lines = [head]
    for v in result.compliance.violations:
        lines.append(f"  [{v.severity.value}] {v.rule_id} ({v.language}): {v.message}")
    return "\n".join(lines)


def _queue_table(packs: list[ContentPack]) -> Table:
    table = Table(title=f"review queue ({len(packs)})")
    for column in ("pack", "risk", "verdict", "findings", "submitted", "escalated"):
        table.add_column(column)
    for p in packs:
        table.add_row(
            str(p.id),
            "-" if p.risk_score is None else str(p.risk_score),
            p.compliance_verdict or "-",
            ", ".join(p.findings) or "-",
            "-" if p.submitted_at is None else p.submitted_at.isoformat(timespec="minutes"),
            "yes" if p.escalated else "",
        )
    return table


# --- audit -----------------------------------------------------------------------------------


async def run_audit(args: argparse.Namespace, out: Console) -> int:
    digests = None
    if args.audit_command == "verify" and args.digest:
        try:
            text = await asyncio.to_thread(Path(args.digest).read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValidationError("--digest", args.digest, f"cannot read it: {exc}") from None
        digests = parse_digest_file(text)

    async def work(container: Container) -> int:
        audit = await resolve(container.audit)
        if args.audit_command == "digest":
            day = args.date or today()
            digest = await audit.digest(day)
            doc = {
                "day": digest.day.isoformat(),
                "count": digest.count,
                "last_sequence": digest.last_sequence,
                "head_hash": digest.head_hash,
            }
            emit(out, args.json, doc, digest.to_line())
            return 0
        report = await (audit.verify() if digests is None else audit.verify_with_digests(digests))
        if report.ok:
            text = f"audit chain intact: {report.count} events, head {report.head_hash}"
        else:
            text = (
                f"audit chain broken at event {report.first_bad_id or '?'} "
                f"(sequence {report.first_bad_sequence}): {report.reason}"
            )
        emit(out, args.json, report.as_dict(), text)
        return 0 if report.ok else 1

    return await with_container(settings_of(args), work)
