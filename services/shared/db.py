"""Database lifecycle: Tortoise configuration, migrations (aerich), connect, ping, close."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aerich import Command
from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import set_global_context
from tortoise.transactions import in_transaction

from config import sqlite_file

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tortoise.backends.base.client import BaseDBAsyncClient

__all__ = [
    "MIGRATIONS_LOCATION",
    "atomically",
    "close_db",
    "connect_db",
    "is_postgres",
    "migrate",
    "ping",
    "to_the_end",
    "tortoise_config",
    "unfinished_work",
]

logger = logging.getLogger("qikink_graphql")
T = TypeVar("T")
# Work `to_the_end` runs whose callers may be gone: the database closes only after it.
_UNFINISHED: set[asyncio.Future[Any]] = set()
# Shutdown's share for that work, then for closing the connections: a stuck query or a
# connection some task never gave back must not keep the process from exiting.
_FINISH_SECONDS = 2.0
_CLOSE_SECONDS = 2.0

APP_LABEL = "models"
MIGRATIONS_LOCATION = Path(__file__).resolve().parents[2] / "models" / "migrations"
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
    # Every task (requests, workers) sees the one context, not only the lifespan's task that
    # made it; `close_connections` clears it again.
    set_global_context(await Tortoise.init(config=tortoise_config(database_url)))
    # Tortoise opens SQLite's connection inside the first query, holding the connection lock:
    # a first query cancelled there would keep the lock forever. Opened now, nothing later
    # opens it under the lock. A database that does not answer yet is /ready's to report.
    try:
        await connections.get("default").create_connection(with_db=True)
    except Exception as exc:
        logger.warning("The database does not answer yet: %s", exc)


async def close_db() -> None:
    """Close the connections, once the work of cancelled callers has finished (or given up)."""
    await unfinished_work(_FINISH_SECONDS)
    # asyncpg's close waits for every pooled connection to come back: one stuck in a hung
    # query would hold shutdown for good. Cancelled, asyncpg terminates the pool (its documented
    # behaviour, with `wait_for` its advice); what is left then closes at once.
    try:
        await asyncio.wait_for(Tortoise.close_connections(), _CLOSE_SECONDS)
    except TimeoutError:
        logger.warning("Database connections still busy after %s s: cut.", _CLOSE_SECONDS)
        await Tortoise.close_connections()


async def unfinished_work(within: float) -> bool:
    """Wait up to `within` s for the work `to_the_end` runs for callers gone; True when done."""
    if _UNFINISHED:
        await asyncio.wait(set(_UNFINISHED), timeout=within)
    return not _UNFINISHED


async def to_the_end(
    work: Awaitable[T], *, undo: Callable[[T], Awaitable[None]] | None = None
) -> T:
    """`work`'s result, with `work` run to its end even if the caller is cancelled meanwhile.

    graphql-core cancels the other fields of an operation when one of them fails, and shutdown
    cancels background work. Tortoise's SQLite client takes its one connection's lock before
    it awaits the transaction's BEGIN, and a task cancelled there never gives it back: every
    later query of the process would hang (on PostgreSQL, a pooled connection stays idle in
    transaction and never returns to the pool). Run as a task of its own, the work finishes
    (or fails) and frees what it holds; the caller's cancellation goes on at once.

    `undo` takes back what the work did when the caller is no longer there to use its result
    (a lease taken for a caller gone is given back rather than left to lapse).
    """
    task = _track(asyncio.ensure_future(work))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if undo is not None and not task.cancelled():
            _track(asyncio.ensure_future(_undo_when_done(task, undo)))
        raise


async def _undo_when_done(task: asyncio.Future[T], undo: Callable[[T], Awaitable[None]]) -> None:
    try:
        result = await task
    except BaseException:
        return  # nothing was done
    await undo(result)


def _track(task: asyncio.Future[T]) -> asyncio.Future[T]:
    _UNFINISHED.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Future[Any]) -> None:
    _UNFINISHED.discard(task)
    # Its outcome matters to no one once the caller is gone.
    if not task.cancelled():
        task.exception()


async def atomically(work: Callable[[BaseDBAsyncClient], Awaitable[T]]) -> T:
    """`work(conn)` in one transaction on `conn`, run `to_the_end`: the only way services open
    a transaction, so a cancelled caller can never leave one open (or its connection held)."""
    return await to_the_end(_in_transaction(work))


async def _in_transaction(work: Callable[[BaseDBAsyncClient], Awaitable[T]]) -> T:
    async with in_transaction() as conn:
        return await work(conn)


async def ping(within: float) -> bool:
    """True when the database answers a trivial query within `within` seconds.

    A query that waits for a connection (one held by a stuck transaction, a pool used up)
    counts as no answer.
    """
    try:
        # Run to its end if the wait is given up: a query cut short must not hold anything.
        query = to_the_end(connections.get("default").execute_query("SELECT 1 FROM aerich LIMIT 1"))
        await asyncio.wait_for(query, within)
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
