"""The `qikink-graphql` command: migrate, serve, worker, sync, reconcile, simulator; the admin
commands (API keys, the schema's SDL) are `cli.admin`'s."""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from cli import admin as cli_admin
from cli.common import load, out, refuse, run_connected
from config import Settings, configure_logging
from services.shared import db

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from services.runtime import Runtime

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(
    help="qikink-graphql: store orders to Qikink print-on-demand, over one GraphQL API.",
    no_args_is_help=True,
    add_completion=False,
)
# After this module's own commands: export-schema and the API keys.
app.add_typer(cli_admin.app)


def _run_with_runtime(settings: Settings, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """`run_connected`, with the service's runtime (Qikink, Medusa, the worker) open around
    `work`."""
    from services.runtime import Runtime

    async def with_runtime() -> T:
        runtime = Runtime.for_settings(settings)
        await runtime.open()
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return run_connected(settings, with_runtime)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    settings = load()
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

    from services.runtime import REQUEST_GRACE_SECONDS

    settings = load()
    if workers > 1 and settings.uses_simulator:
        refuse(
            "--workers needs one Qikink for all of them: the built-in simulator lives "
            "inside each process. Set QIKINK_CLIENT_ID, QIKINK_CLIENT_SECRET and "
            "QIKINK_API_URL (a real Qikink, or `qikink-graphql simulator`)."
        )
    from web.server import IDLE_TIMEOUT_SECONDS, BoundedHeadProtocol, log_config

    configure_logging(settings)
    applied = asyncio.run(db.migrate(settings.database_url))
    if applied:
        out.print(f"Applied {len(applied)} migration(s).")
    out.print(f"GraphQL on http://{host}:{port}/graphql")
    # uvicorn re-raises the SIGTERM it stopped on once its shutdown is complete: handled here,
    # a stop asked for and done in good order exits 0 rather than "killed by SIGTERM".
    signal.signal(signal.SIGTERM, _stopped_as_asked)
    http: dict[str, Any] = {
        "http": BoundedHeadProtocol,
        "log_config": log_config(),
        "log_level": "info",  # uvicorn's start and stop lines
        "access_log": settings.access_log,
        "timeout_keep_alive": IDLE_TIMEOUT_SECONDS,
        # A request that hangs (on Qikink, on the database) must not stop the shutdown.
        "timeout_graceful_shutdown": REQUEST_GRACE_SECONDS,
    }
    if workers == 1:
        from web.app import create_app

        uvicorn.run(create_app(settings), host=host, port=port, **http)
    else:
        # Each worker process imports the app and calls the factory, which sets up its logging.
        uvicorn.run(
            "web.app:create_app", factory=True, host=host, port=port, workers=workers, **http
        )


def _stopped_as_asked(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _qikink_settings() -> Settings:
    settings = load()
    if settings.uses_simulator:
        refuse(
            "This command talks to a real Qikink (or a `qikink-graphql simulator` that "
            "other processes share): set QIKINK_CLIENT_ID, QIKINK_CLIENT_SECRET and "
            "QIKINK_API_URL."
        )
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

    from services.orders.sync import refresh_order_mappings
    from services.qikink.lanes import Lane

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
    from services.medusa.sweep import reconcile as sweep

    settings = load()
    if not settings.has_medusa:
        refuse("Set MEDUSA_BACKEND_URL and MEDUSA_API_KEY to sweep Medusa.")

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


def main() -> None:
    app()
