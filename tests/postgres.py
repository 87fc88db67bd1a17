"""Throwaway PostgreSQL databases for tests, created and dropped as the server's admin."""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = [
    "admin_execute",
    "create_statement",
    "drop_statement",
    "new_database_name",
    "throwaway_database",
    "url_for_database",
]


async def admin_execute(admin_url: str, *statements: str) -> None:
    """Run statements (CREATE or DROP DATABASE, ...) on one connection of the admin URL."""
    conn = await asyncpg.connect(admin_url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def url_for_database(admin_url: str, name: str) -> str:
    """The admin URL with another database name."""
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def new_database_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def create_statement(name: str) -> str:
    return f'CREATE DATABASE "{name}"'


def drop_statement(name: str) -> str:
    return f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'


@asynccontextmanager
async def throwaway_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """The URL of a new, empty database, dropped afterwards (connections and all)."""
    name = new_database_name(prefix)
    await admin_execute(admin_url, create_statement(name))
    try:
        yield url_for_database(admin_url, name)
    finally:
        await admin_execute(admin_url, drop_statement(name))
