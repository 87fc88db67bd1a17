"""What every `qikink-graphql` command shares: its consoles, its settings, a connected database."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer
from rich.console import Console

from config import ConfigError, Settings, load_settings
from services.shared import db
from services.shared.errors import ServiceError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["err", "load", "out", "refuse", "run_connected"]

T = TypeVar("T")
out = Console()
err = Console(stderr=True)


def refuse(message: str) -> NoReturn:
    """Stop before any work: `message` in red, exit status 2."""
    err.print(f"[red]{message}[/red]")
    raise typer.Exit(2)


def load() -> Settings:
    """The settings; a bad value stops the command naming its variable."""
    try:
        return load_settings()
    except ConfigError as exc:
        refuse(str(exc))


def run_connected(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` with a migrated, connected database; domain errors exit non-zero."""

    async def main() -> T:
        await db.migrate(settings.database_url)
        await db.connect_db(settings.database_url)
        try:
            return await work()
        finally:
            await db.close_db()

    try:
        return asyncio.run(main())
    except ServiceError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None
