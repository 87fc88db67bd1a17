"""Describe a database's tables, columns and indexes, to compare two databases."""

from __future__ import annotations

import sqlite3
from typing import Any

import asyncpg

__all__ = ["describe"]

IGNORED_TABLES = {"aerich"}


def _describe_sqlite(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
            if name not in IGNORED_TABLES
        ]
        result: dict[str, Any] = {}
        for table in sorted(tables):
            columns = {
                name: (type_.upper(), bool(notnull), bool(pk))
                for _, name, type_, notnull, _, pk in conn.execute(f'PRAGMA table_info("{table}")')
            }
            indexes = set()
            for _, index, unique, _, _ in conn.execute(f'PRAGMA index_list("{table}")'):
                cols = tuple(row[2] for row in conn.execute(f'PRAGMA index_info("{index}")'))
                indexes.add((cols, bool(unique)))
            result[table] = {"columns": columns, "indexes": indexes}
        return result
    finally:
        conn.close()


async def _describe_postgres(url: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            """SELECT c.table_name, c.column_name, c.data_type, c.character_maximum_length,
                      c.is_nullable
               FROM information_schema.columns c
               WHERE c.table_schema = 'public'"""
        )
        result: dict[str, Any] = {}
        for row in rows:
            if row["table_name"] in IGNORED_TABLES:
                continue
            table = result.setdefault(row["table_name"], {"columns": {}, "indexes": set()})
            table["columns"][row["column_name"]] = (
                row["data_type"],
                row["character_maximum_length"],
                row["is_nullable"] == "NO",
            )
        indexes = await conn.fetch(
            """SELECT t.relname AS table_name, ix.indisunique AS is_unique,
                      ix.indisprimary AS is_primary,
                      array_agg(a.attname ORDER BY k.ordinality) AS columns
               FROM pg_index ix
               JOIN pg_class t ON t.oid = ix.indrelid
               JOIN pg_namespace n ON n.oid = t.relnamespace
               CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ordinality)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
               WHERE n.nspname = 'public'
               GROUP BY t.relname, ix.indexrelid, ix.indisunique, ix.indisprimary"""
        )
        for row in indexes:
            if row["table_name"] in IGNORED_TABLES:
                continue
            result[row["table_name"]]["indexes"].add(
                (tuple(row["columns"]), row["is_unique"], row["is_primary"])
            )
        return result
    finally:
        await conn.close()


async def describe(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite://"):
        return _describe_sqlite(database_url.removeprefix("sqlite://").split("?", 1)[0])
    return await _describe_postgres(database_url)
