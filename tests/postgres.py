"""Throwaway PostgreSQL databases for tests, created and dropped as the server's admin."""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ["ThrowawayDatabase", "throwaway_database"]


class ThrowawayDatabase:
    """A database of a fresh name (`prefix` and random hex) beside the admin URL's."""

    def __init__(self, admin_url: str, prefix: str) -> None:
        self.admin_url = admin_url
        self.name = f"{prefix}_{secrets.token_hex(4)}"
        self.url = admin_url.rsplit("/", 1)[0] + f"/{self.name}"

    async def create(self, *, template: str | None = None) -> None:
        """Create it, empty or as a copy of the database `template` (which nobody may be
        connected to meanwhile)."""
        copy = f' TEMPLATE "{template}"' if template else ""
        await self._admin_execute(f'CREATE DATABASE "{self.name}"{copy}')

    async def drop(self) -> None:
        """Drop it, connections and all; nothing if it is gone."""
        await self._admin_execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    async def _admin_execute(self, statement: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()


@asynccontextmanager
async def throwaway_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards."""
    database = ThrowawayDatabase(admin_url, prefix)
    await database.create()
    try:
        yield database.url
    finally:
        await database.drop()
