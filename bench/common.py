"""What the benches share: the project's test helpers on the path, a throwaway, migrated
database on either backend, and a table printed in columns."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# A bench runs as a script from bench/: the project root holds the test helpers it shares
# (tests.graphql_client, tests.live_server), which are no installed package.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from services.shared import db  # noqa: E402
from tests.postgres import ThrowawayDatabase  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

__all__ = [
    "POSTGRES_ADMIN_URL",
    "PROJECT_ROOT",
    "create_database",
    "fresh_database",
    "print_table",
]

POSTGRES_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


async def create_database(name: str) -> ThrowawayDatabase:
    """A new, empty PostgreSQL database, `qkg_bench_<name>_<random>`; `drop()` it after."""
    database = ThrowawayDatabase(POSTGRES_ADMIN_URL, f"qkg_bench_{name}")
    await database.create()
    return database


@contextlib.asynccontextmanager
async def fresh_database(backend: str, workdir: Path, name: str) -> AsyncIterator[str]:
    """A migrated, empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite://{workdir / f'{name}.db'}"
        await db.migrate(url)
        yield url
        return
    database = await create_database(name)
    try:
        await db.migrate(database.url)
        yield database.url
    finally:
        await database.drop()


def print_table(rows: Sequence[Sequence[str]], indent: str = "    ") -> None:
    """`rows` (the first a header) in columns as wide as their widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print((indent + "  ".join(cells)).rstrip())
