"""The `qikink-graphql` command, run as a merchant runs it: a real process."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from models import ApiKey
from services.shared import auth
from tests.live_server import run

if TYPE_CHECKING:
    import subprocess

pytestmark = pytest.mark.e2e


ROOT = Path(__file__).resolve().parent.parent


def run_in(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """`python -m cli ARGS` in `cwd`, with `settings` added to this environment."""
    return run([sys.executable, "-m", "cli", *args], cwd=cwd, env={**os.environ, **settings})


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_in(ROOT, *args, DATABASE_URL=database_url, APP_ENV="test")


async def test_create_api_key_prints_the_key_alone_on_its_last_line(
    database_url: str, app: object
) -> None:
    done = run_cli(database_url, "create-api-key", "medusa-backend")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("qkg_")
    row = await ApiKey.get(name="medusa-backend")
    assert row.key_hash == auth.hash_api_key(key)

    listed = run_cli(database_url, "list-api-keys")
    assert "medusa-backend" in listed.stdout
    assert key not in listed.stdout

    again = run_cli(database_url, "create-api-key", "medusa-backend")
    assert again.returncode == 1
    assert "already exists" in again.stderr

    revoked = run_cli(database_url, "revoke-api-key", "medusa-backend")
    assert revoked.returncode == 0
    await row.refresh_from_db()
    assert row.revoked_at is not None


async def test_revoking_an_unknown_key_fails_plainly(database_url: str) -> None:
    done = run_cli(database_url, "revoke-api-key", "nobody")
    assert done.returncode == 1
    assert "No API key is named 'nobody'" in done.stderr


@pytest.mark.parametrize("name", ["", "bad/name"])
async def test_a_bad_key_name_is_refused(database_url: str, name: str) -> None:
    done = run_cli(database_url, "create-api-key", name)
    assert done.returncode == 1
    assert "API key name" in done.stderr


def test_a_bad_setting_stops_the_command_naming_the_variable(tmp_path: Path) -> None:
    done = run_in(tmp_path, "migrate", QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE="-3")
    assert done.returncode == 2
    assert "QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE" in done.stderr
