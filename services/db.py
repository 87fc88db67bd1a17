"""Database lifecycle: Tortoise configuration, migrations (aerich), connect, ping, close."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url

from config import sqlite_file

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

__all__ = [
    "MIGRATIONS_LOCATION",
    "close_db",
    "connect_db",
    "is_postgres",
    "migrate",
    "ping",
    "to_the_end",
    "tortoise_config",
    "uninterrupted",
]

T = TypeVar("T")
P = ParamSpec("P")
# Set by the schema for an operation of one root field (the usual poll): nothing cancels it.
ALONE: contextvars.ContextVar[bool] = contextvars.ContextVar("qkg_alone", default=False)
# Work `to_the_end` runs whose callers may be gone: the database closes only after it.
_UNFINISHED: set[asyncio.Task[Any]] = set()
_FINISH_SECONDS = 10.0

APP_LABEL = "models"
MIGRATIONS_LOCATION = Path(__file__).resolve().parent.parent / "models" / "migrations"
# Several processes write one SQLite file: wait for a lock instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# One key for "someone is migrating this database": two `serve` processes never run it twice.
_MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"qikink-graphql:migrate").digest()[:7])


def is_postgres(database_url: str) -> bool:
    return database_url.split("://", 1)[0] in {"postgres", "asyncpg", "psycopg"}


def _with_sqlite_options(database_url: str) -> str:
    # Appended, not rebuilt: urlunsplit would turn sqlite:////abs/path into a relative path.
    if "busy_timeout=" in database_url:
        return database_url
    separator = "&" if "?" in database_url else "?"
    return f"{database_url}{separator}busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"


async def _release_as_is(connection: object) -> None:
    """Hand a PostgreSQL connection back to the pool without asyncpg's session reset.

    asyncpg's default sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on
    every release: a second round trip and four statements for each query, more server CPU than
    the query itself for a lookup by id. Before this runs, asyncpg still rolls back any open
    transaction and drops listeners. Nothing here leaves other session state on a pooled
    connection: every advisory lock is transaction-scoped (`pg_advisory_xact_lock`), and
    nothing sends SET, LISTEN or DECLARE outside a transaction.
    """


def _connection(database_url: str) -> str | dict[str, Any]:
    if database_url.startswith("sqlite://"):
        return _with_sqlite_options(database_url)
    expanded = expand_db_url(database_url)
    if expanded["engine"] == "tortoise.backends.asyncpg":
        expanded["credentials"].setdefault("reset", _release_as_is)
    return expanded


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for one database; aerich's own table lives beside ours."""
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            APP_LABEL: {"models": ["models", "aerich.models"], "default_connection": "default"}
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _ensure_sqlite_dir(database_url: str) -> None:
    path = sqlite_file(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


async def migrate(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names applied (empty when up to date)."""
    # aerich sets up Tortoise in the current context; a fresh one keeps that (and its closing)
    # apart from the caller's own connection.
    return await asyncio.create_task(_migrate(database_url), context=contextvars.Context())


async def _migrate(database_url: str) -> list[str]:
    _ensure_sqlite_dir(database_url)
    async with Command(
        tortoise_config=tortoise_config(database_url),
        app=APP_LABEL,
        location=str(MIGRATIONS_LOCATION),
    ) as command:
        if not is_postgres(database_url):
            # SQLite serialises writers itself; the first migration's DDL takes the lock.
            return await command.upgrade(run_in_transaction=True)
        # Held by a transaction of its own for the whole upgrade (which runs on another pooled
        # connection): it ends with that transaction, whatever happens, so no pooled
        # connection ever carries a session lock (see _release_as_is).
        conn = connections.get("default")
        async with conn.acquire_connection() as raw, raw.transaction():
            await raw.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)
            return await command.upgrade(run_in_transaction=True)


async def connect_db(database_url: str) -> None:
    """Connect for the life of the process; usable from every task (requests, workers)."""
    _ensure_sqlite_dir(database_url)
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_db() -> None:
    """Close the connections, once the work of cancelled callers has finished (or given up)."""
    if _UNFINISHED:
        await asyncio.wait(set(_UNFINISHED), timeout=_FINISH_SECONDS)
    await Tortoise.close_connections()


async def to_the_end(work: Coroutine[Any, Any, T]) -> T:
    """`work`'s result, with `work` run to its end even if the caller is cancelled meanwhile.

    graphql-core cancels the other fields of an operation when one of them fails. Tortoise's
    SQLite client takes its one connection's lock before it awaits the connection or the
    transaction's BEGIN, and a task cancelled there never gives it back: every later query of
    the process would hang (on PostgreSQL, a connection stays idle in transaction). Run as a
    task of its own, the work finishes (or fails) and frees what it holds; the caller's
    cancellation goes on at once.
    """
    task = asyncio.ensure_future(work)
    _UNFINISHED.add(task)
    task.add_done_callback(_finished)
    return await asyncio.shield(task)


def _finished(task: asyncio.Task[Any]) -> None:
    _UNFINISHED.discard(task)
    # Its outcome matters to no one once the caller is gone.
    if not task.cancelled():
        task.exception()


def uninterrupted(
    function: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """`function`, each call run `to_the_end`."""

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> T:
        if ALONE.get():
            # The operation's only root field: no sibling can fail and cancel it.
            return await function(*args, **kwargs)
        return await to_the_end(function(*args, **kwargs))

    return run


async def ping() -> bool:
    """True when the database answers a trivial query."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:
        return False
    return True


def __getattr__(name: str) -> Any:
    # For `aerich -c aerich.ini ...` only: built on first access so importing this module
    # never reads the environment.
    if name == "TORTOISE_ORM":
        from config import load_settings

        return tortoise_config(load_settings().database_url)
    raise AttributeError(name)
