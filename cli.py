"""The `qikink-graphql` command: serve, migrate, worker, sync, simulator, keys, schema."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from config import ConfigError, Settings, configure_logging, load_settings
from services import auth, db
from services.errors import ServiceError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from runtime import Runtime

__all__ = ["app", "main"]

T = TypeVar("T")
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "schema.graphql"

app = typer.Typer(
    help="qikink-graphql: store orders to Qikink print-on-demand, over one GraphQL API.",
    no_args_is_help=True,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None


def _run(settings: Settings, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` with a migrated, connected database; domain errors exit non-zero."""

    async def main() -> T:
        await db.migrate(settings.database_url)
        await db.connect_db(settings.database_url)
        try:
            return await work()
        finally:
            await db.close_db()

    try:
        return asyncio.run(main())
    except ServiceError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from None


def _run_with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """`_run`, with the service's runtime (Qikink, Medusa, the worker) open around `work`."""
    from runtime import Runtime

    async def with_runtime() -> T:
        runtime = Runtime.for_settings(settings)
        await runtime.open()
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return _run(settings, with_runtime)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = _settings()
    applied = asyncio.run(db.migrate(settings.database_url))
    out.print(f"Applied {len(applied)} migration(s)." if applied else "Database is up to date.")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve GraphQL on http://HOST:PORT/graphql."""
    import uvicorn

    from runtime import REQUEST_GRACE_SECONDS

    settings = _settings()
    if workers > 1 and settings.uses_simulator:
        err.print(
            "[red]--workers needs one Qikink for all of them: the built-in simulator lives "
            "inside each process. Set QIKINK_CLIENT_ID, QIKINK_CLIENT_SECRET and "
            "QIKINK_API_URL (a real Qikink, or `qikink-graphql simulator`).[/red]"
        )
        raise typer.Exit(2)
    from http_server import BoundedHeadProtocol, log_config

    configure_logging(settings)
    applied = asyncio.run(db.migrate(settings.database_url))
    if applied:
        out.print(f"Applied {len(applied)} migration(s).")
    out.print(f"GraphQL on http://{host}:{port}/graphql")
    # uvicorn re-raises the SIGTERM it stopped on once its shutdown is complete: handled here,
    # a stop asked for and done in good order exits 0 rather than "killed by SIGTERM".
    signal.signal(signal.SIGTERM, _stopped_as_asked)
    http = {
        "http": BoundedHeadProtocol,
        "log_config": log_config(),
        "log_level": "info",  # uvicorn's start and stop lines
        "access_log": settings.access_log,
        # A request that hangs (on Qikink, on the database) must not stop the shutdown.
        "timeout_graceful_shutdown": REQUEST_GRACE_SECONDS,
    }
    if workers == 1:
        from app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, **http)
    else:
        # Each worker process imports the app and calls the factory, which sets up its logging.
        uvicorn.run("app:create_app", factory=True, host=host, port=port, workers=workers, **http)


def _stopped_as_asked(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _qikink_settings() -> Settings:
    settings = _settings()
    if settings.uses_simulator:
        err.print(
            "[red]This command talks to a real Qikink (or a `qikink-graphql simulator` that "
            "other processes share): set QIKINK_CLIENT_ID, QIKINK_CLIENT_SECRET and "
            "QIKINK_API_URL.[/red]"
        )
        raise typer.Exit(2)
    return settings


@app.command()
def worker() -> None:
    """Submit queued orders and sync statuses, without serving HTTP (Ctrl-C stops)."""
    settings = _qikink_settings()
    configure_logging(settings)

    async def work(runtime: Runtime) -> None:
        runtime.start_background()
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        out.print(f"Worker {runtime.worker.owner if runtime.worker else ''} running.")
        await stopping.wait()

    _run_with_runtime(settings, work)


@app.command()
def sync(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Mappings at most.")] = 1000,
    concurrency: Annotated[int, typer.Option(min=1, max=100, help="Calls at once.")] = 20,
    order_id: Annotated[str | None, typer.Option(help="Only this Qikink order.")] = None,
) -> None:
    """Refresh statuses and tracking from Qikink now, waiting for the rate budget."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from services.budget_lanes import Lane
    from services.sync import refresh_order_mappings

    settings = _qikink_settings()

    async def work(runtime: Runtime) -> None:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
        ) as progress:
            task = progress.add_task("Refreshing", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            result = await refresh_order_mappings(
                runtime.qikink.in_lane(Lane.SYNC),
                order_id=order_id,
                limit=limit,
                concurrency=concurrency,
                wait=True,
                progress=advance,
            )
        out.print(
            f"{result.updated} of {result.processed} mappings updated "
            f"({result.total_eligible} eligible) with {result.qikink_calls} Qikink calls: "
            f"{result.plan}."
        )

    _run_with_runtime(settings, work)


@app.command()
def reconcile(
    since: Annotated[
        datetime | None,
        typer.Option(help="Look at orders placed since then (ISO 8601), not the watermark."),
    ] = None,
) -> None:
    """Sweep Medusa now for placed orders that never reached this service, and submit them."""
    from services.reconcile import reconcile as sweep

    settings = _settings()
    if not settings.has_medusa:
        err.print("[red]Set MEDUSA_BACKEND_URL and MEDUSA_API_KEY to sweep Medusa.[/red]")
        raise typer.Exit(2)

    async def work(runtime: Runtime) -> None:
        assert runtime.medusa is not None
        result = await sweep(
            runtime.medusa,
            prefix=settings.qikink_order_number_prefix,
            overlap_seconds=settings.reconcile_overlap_seconds,
            max_orders=settings.reconcile_max_orders,
            since=since.replace(tzinfo=since.tzinfo or UTC) if since else None,
        )
        if not result.ran:
            out.print("Another process is sweeping right now; nothing done.")
            return
        out.print(
            f"Looked at {result.seen} order(s) placed since {result.since.isoformat()}: "
            f"{result.submitted} recorded for Qikink, {result.skipped} skipped."
        )

    _run_with_runtime(settings, work)


@app.command()
def simulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
    rate_limit: Annotated[int, typer.Option(help="Requests a minute; 0 turns it off.")] = 30,
    latency: Annotated[
        float, typer.Option(min=0, help="Seconds every reply takes, as Qikink's own pace.")
    ] = 0.0,
) -> None:
    """Run the built-in fake Qikink on its own (API under /api, controls under /__sim__)."""
    import uvicorn

    from simulator import QikinkSimulator, create_simulator_app

    sim = QikinkSimulator(rate_limit_per_minute=rate_limit, latency_seconds=latency)
    out.print(
        f"Qikink simulator on http://{host}:{port} (ClientId {sim.client_id}, "
        f"client secret {sim.client_secret!r})"
    )
    uvicorn.run(create_simulator_app(sim), host=host, port=port, log_level="info")


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
    row, key = _run(_settings(), lambda: auth.create_api_key(name))
    out.print(f"Created API key {row.name!r}. Keep it now: it cannot be shown again.")
    print(key)


@app.command("list-api-keys")
def list_api_keys() -> None:
    """List admin API keys (names and prefixes, never the keys)."""
    rows = _run(_settings(), auth.list_api_keys)
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
    row = _run(_settings(), lambda: auth.revoke_api_key(name))
    out.print(f"Revoked API key {row.name!r}.")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
