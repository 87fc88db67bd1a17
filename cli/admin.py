"""The admin commands of `qikink-graphql`: API keys, and the schema's SDL (`cli` adds them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import load, out, run_connected
from services.shared import auth

__all__ = ["app"]

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema" / "schema.graphql"

app = typer.Typer()


@app.command("export-schema")
def export_schema(
    path: Annotated[Path, typer.Option(help="Where to write the SDL.")] = SCHEMA_PATH,
) -> None:
    """Write the GraphQL schema (SDL) to schema/schema.graphql."""
    from schema import build_schema

    path.write_text(build_schema().as_str() + "\n")
    out.print(f"Wrote {path}")


@app.command("create-api-key")
def create_api_key(name: Annotated[str, typer.Argument(help="Who the key is for.")]) -> None:
    """Make an admin API key; it is printed once, on the last line, and stored hashed."""
    row, key = run_connected(load(), lambda: auth.create_api_key(name))
    out.print(f"Created API key {row.name!r}. Keep it now: it cannot be shown again.")
    print(key)


@app.command("list-api-keys")
def list_api_keys() -> None:
    """List admin API keys (names and prefixes, never the keys)."""
    rows = run_connected(load(), auth.list_api_keys)
    table = Table("name", "prefix", "created", "revoked")
    for row in rows:
        revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "-"
        table.add_row(
            row.name, row.prefix + "…", row.created_at.isoformat(timespec="seconds"), revoked
        )
    out.print(table)


@app.command("revoke-api-key")
def revoke_api_key(name: Annotated[str, typer.Argument(help="The key's name.")]) -> None:
    """Revoke an admin API key at once."""
    row = run_connected(load(), lambda: auth.revoke_api_key(name))
    out.print(f"Revoked API key {row.name!r}.")
