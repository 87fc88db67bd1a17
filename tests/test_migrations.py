"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tortoise.context import TortoiseContext

from services.shared import db
from tests.dbschema import describe
from tests.markers import postgres_pass
from tests.postgres import throwaway_database

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


EXPECTED_TABLES = {
    "api_keys",
    "install_secrets",
    "job_state",
    "order_mappings",
    "product_mappings",
    "qikink_calls",
    "qikink_tokens",
    "qikink_waiters",
}


async def _schema_from_models(url: str) -> None:
    async with TortoiseContext() as ctx:
        await ctx.init(config=db.tortoise_config(url))
        await ctx.generate_schemas(safe=False)


async def test_migrations_build_the_schema_the_models_describe(
    backend: str, database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        models_url = f"sqlite://{tmp_path / 'from_models.db'}"
        await _schema_from_models(models_url)
        migrated = await describe(database_url)
        assert set(migrated) == EXPECTED_TABLES
        assert migrated == await describe(models_url)
        return
    async with throwaway_database(
        request.getfixturevalue("postgres_admin_url"), "qkg_models"
    ) as models_url:
        await _schema_from_models(models_url)
        migrated = await describe(database_url)
        assert set(migrated) == EXPECTED_TABLES
        assert migrated == await describe(models_url)


async def test_migrating_an_up_to_date_database_applies_nothing(database_url: str) -> None:
    assert await db.migrate(database_url) == []


async def test_a_new_sqlite_database_and_its_folder_are_created(tmp_path: Path) -> None:
    applied = await db.migrate(f"sqlite://{tmp_path / 'nested' / 'fresh.db'}")
    assert applied
    assert all(name.endswith(".py") for name in applied)


async def test_an_absolute_sqlite_url_with_four_slashes_stays_absolute(tmp_path: Path) -> None:
    target = tmp_path / "four" / "slashes.db"
    applied = await db.migrate(f"sqlite:///{target}")
    assert applied
    assert target.exists()


@postgres_pass
async def test_two_migrations_at_once_apply_each_migration_once(postgres_admin_url: str) -> None:
    async with throwaway_database(postgres_admin_url, "qkg_scratch") as url:
        applied = await asyncio.gather(db.migrate(url), db.migrate(url))
        # One applied every migration; the other waited for it, then found nothing to do.
        fewer, more = sorted(len(names) for names in applied)
        assert fewer == 0 < more
        assert set(await describe(url)) == EXPECTED_TABLES
