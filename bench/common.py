"""What the async benches share: a throwaway, migrated database on either backend."""

from __future__ import annotations

import contextlib
import secrets
from typing import TYPE_CHECKING

import asyncpg

from services import db

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

__all__ = ["POSTGRES_ADMIN_URL", "admin_execute", "fresh_database"]

POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


async def admin_execute(statement: str) -> None:
    """Run one statement (CREATE or DROP DATABASE) as PostgreSQL's admin."""
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def fresh_database(backend: str, workdir: Path, name: str) -> AsyncIterator[str]:
    """A migrated, empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite://{workdir / f'{name}.db'}"
        await db.migrate(url)
        yield url
        return
    database = f"qkg_bench_{name}_{secrets.token_hex(4)}"
    await admin_execute(f'CREATE DATABASE "{database}"')
    try:
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
        await db.migrate(url)
        yield url
    finally:
        await admin_execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
