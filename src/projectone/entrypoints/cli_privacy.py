"""``projectone privacy export|erase|rectify|consent|purge|new-key``: data-subject rights and
retention from the command line (docs/privacy.md).

Commands act as an operator: ``--actor`` names who (recorded in the audit trail) and the role
is admin. ``erase`` asks for the advisor id to be typed back unless ``--yes`` is given; with
no terminal to ask on, it refuses instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from projectone.adapters.local_keys import generate_master_key
from projectone.container import Container, resolve
from projectone.domain.audit import Actor, ActorType, Role
from projectone.domain.consent import ConsentPurpose
from projectone.entrypoints._common import (
    Parser,
    advisor_id,
    db_option,
    emit,
    settings_of,
    with_container,
)

__all__ = ["add_commands", "run_privacy"]

_DEFAULT_ACTOR = "cli-operator"


def add_commands(commands: Any) -> None:
    privacy = commands.add_parser(
        "privacy", help="personal data: export, erase, consent, retention purge"
    )
    actions = privacy.add_subparsers(dest="privacy_command", required=True, parser_class=Parser)

    def subject(p: argparse.ArgumentParser) -> None:
        p.add_argument("--advisor", type=advisor_id, metavar="ID", required=True)
        p.add_argument(
            "--actor", default=_DEFAULT_ACTOR, metavar="ID", help="who you are, for the record"
        )
        db_option(p)

    export = actions.add_parser(
        "export", help="everything held about an advisor, as one JSON document"
    )
    subject(export)
    export.add_argument("--out", metavar="FILE", help="write the document here (default: stdout)")
    export.add_argument("--json", action="store_true", help="accepted for symmetry: always JSON")

    erase = actions.add_parser(
        "erase", help="erase an advisor's personal data for good (crypto-shredding)"
    )
    subject(erase)
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--reason", help="why, for the record")
    erase.add_argument("--json", action="store_true", help="print one JSON object")

    rectify = actions.add_parser("rectify", help="correct an advisor's name or email")
    subject(rectify)
    rectify.add_argument("--name")
    rectify.add_argument("--email")
    rectify.add_argument("--reason", help="why, for the record")
    rectify.add_argument("--json", action="store_true", help="print one JSON object")

    consent = actions.add_parser("consent", help="show, give or withdraw consent")
    consent_actions = consent.add_subparsers(
        dest="consent_command", required=True, parser_class=Parser
    )
    show = consent_actions.add_parser("show", help="an advisor's consent history")
    subject(show)
    show.add_argument("--json", action="store_true", help="print one JSON object")
    purposes = [p.value for p in ConsentPurpose]
    give = consent_actions.add_parser("give", help="record consent to a purpose")
    subject(give)
    give.add_argument("--purpose", choices=purposes, required=True)
    give.add_argument("--channel", default="cli", help="how it was obtained (default: cli)")
    give.add_argument("--policy-version", help="default: the configured policy version")
    give.add_argument("--json", action="store_true", help="print one JSON object")
    withdraw = consent_actions.add_parser("withdraw", help="record a withdrawal of consent")
    subject(withdraw)
    withdraw.add_argument("--purpose", choices=purposes, required=True)
    withdraw.add_argument("--reason", help="why, for the record")
    withdraw.add_argument("--json", action="store_true", help="print one JSON object")

    purge = actions.add_parser(
        "purge", help="apply the retention rules: delete what is past retention"
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="report what would go, change nothing"
    )
    purge.add_argument("--actor", default=_DEFAULT_ACTOR, metavar="ID")
    purge.add_argument("--json", action="store_true", help="print one JSON object")
    db_option(purge)

    actions.add_parser("new-key", help="print a new random master key (base64)")


def _actor(args: argparse.Namespace) -> Actor:
    return Actor(type=ActorType.USER, id=args.actor, role=Role.ADMIN)


def _confirmed(advisor_id: uuid.UUID, err: Console) -> bool:
    if not sys.stdin.isatty():
        err.print("projectone: erase needs --yes when there is no terminal to confirm on")
        return False
    err.print(
        f"This erases advisor {advisor_id} for good: their data key is destroyed and their "
        "personal data cannot be recovered. Type the advisor id to confirm:",
        markup=False,
    )
    try:
        answer = input().strip()
    except EOFError:
        return False
    return answer == str(advisor_id)


async def run_privacy(args: argparse.Namespace, out: Console, err: Console) -> int:
    command = args.privacy_command
    if command == "new-key":
        out.print(generate_master_key(), markup=False, highlight=False)
        return 0
    if command == "erase" and not args.yes and not _confirmed(args.advisor, err):
        err.print("projectone: not erased")
        return 1

    async def work(container: Container) -> int:
        privacy = await resolve(container.privacy)
        if command == "export":
            doc = await privacy.export_subject_data(args.advisor, actor=_actor(args))
            text = json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=2)
            if args.out:
                await asyncio.to_thread(Path(args.out).write_text, text + "\n", "utf-8")
                err.print(f"exported advisor {args.advisor} to {args.out}", markup=False)
            else:
                out.print(text, markup=False, highlight=False, soft_wrap=True)
            return 0
        if command == "erase":
            report = await privacy.erase_subject(
                args.advisor, actor=_actor(args), reason=args.reason
            )
            doc = report.as_dict()
            text = f"erased advisor {args.advisor}: " + ", ".join(
                f"{k.replace('_', ' ')} {v}" for k, v in report.counts.as_dict().items()
            )
            emit(out, args.json, doc, text)
            return 0
        if command == "rectify":
            advisor = await privacy.rectify(
                args.advisor,
                actor=_actor(args),
                name=args.name,
                email=args.email,
                reason=args.reason,
            )
            emit(out, args.json, {"advisor_id": str(advisor.id)}, f"rectified {advisor.id}")
            return 0
        if command == "purge":
            result = await privacy.purge(dry_run=args.dry_run, actor=_actor(args))
            verb = "would remove" if result.dry_run else "removed"
            lines = [
                f"{verb}: {k.replace('_', ' ')} {v}" for k, v in result.counts.as_dict().items()
            ]
            emit(out, args.json, result.as_dict(), "\n".join(lines))
            return 0
        return await _consent(args, out, privacy)

    return await with_container(settings_of(args), work)


async def _consent(args: argparse.Namespace, out: Console, privacy: Any) -> int:
    actor = _actor(args)
    if args.consent_command == "show":
        records = await privacy.consents(args.advisor, actor=actor)
        docs = [r.as_dict() for r in records]
        text = "\n".join(
            f"{d['purpose']}: {'active' if d['active'] else d['end_reason']} "
            f"(policy {d['policy_version']}, {d['channel']}, given {d['given_at']}"
            + (f", ended {d['ended_at']})" if d["ended_at"] else ")")
            for d in docs
        )
        emit(out, args.json, {"advisor_id": str(args.advisor), "consents": docs}, text or "none")
        return 0
    if args.consent_command == "give":
        record = await privacy.give_consent(
            args.advisor,
            args.purpose,
            actor=actor,
            channel=args.channel,
            policy_version=args.policy_version,
        )
        text = "already given" if record is None else f"given: {record.purpose.value}"
    else:
        record = await privacy.withdraw_consent(
            args.advisor, args.purpose, actor=actor, reason=args.reason
        )
        text = "nothing to withdraw" if record is None else f"withdrawn: {record.purpose.value}"
    doc = {
        "changed": record is not None,
        "consent": None if record is None else record.as_dict(),
    }
    emit(out, args.json, doc, text)
    return 0
