"""What every ``projectone`` command shares: argument types, settings, the container, output."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import attrs
from rich.console import Console

from projectone.container import Container, build_container, shutdown
from projectone.domain.timezone import IST
from projectone.settings import Settings, load_settings

__all__ = [
    "EX_CONFIG",
    "EX_DATAERR",
    "EX_UNAVAILABLE",
    "EX_USAGE",
    "Parser",
    "UsageError",
    "advisor_id",
    "count",
    "date",
    "db_option",
    "emit",
    "port",
    "settings_of",
    "today",
    "with_container",
]

EX_USAGE, EX_DATAERR, EX_UNAVAILABLE, EX_CONFIG = 64, 65, 69, 78


class UsageError(Exception):
    pass


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def count(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def advisor_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an advisor id (a UUID), got {value!r}"
        ) from None


def port(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, got {n}")
    return n


def db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db",
        metavar="URL",
        help="database URL (default: "
        "PROJECTONE_DATABASE_URL, else a SQLite file in your data folder)",
    )


def today() -> dt.date:
    return dt.datetime.now(IST).date()


def settings_of(args: argparse.Namespace) -> Settings:
    settings = load_settings()
    if getattr(args, "db", None):
        settings = attrs.evolve(settings, database_url=args.db)
    return settings


async def with_container(settings: Settings, work: Callable[[Container], Awaitable[int]]) -> int:
    container = build_container(settings)
    try:
        return await work(container)
    finally:
        await shutdown(container)


def emit(out: Console, as_json: bool, doc: dict[str, Any], text: str) -> None:
    if as_json:
        # markup=False: a value such as "[erased]" is data, not a rich style tag.
        out.print(json.dumps(doc, sort_keys=True), soft_wrap=True, highlight=False, markup=False)
    else:
        out.print(text)
