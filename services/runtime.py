"""The app's composition root: what the lifespan owns (the one httpx client, the Qikink client
built on it, the Medusa client, the background work) and hands every request."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from services.medusa.client import MedusaClient
from services.medusa.sweep import reconcile_forever
from services.medusa.write_back import FulfillmentWriter
from services.orders.sync import periodic_sync
from services.orders.worker import SubmissionWorker
from services.qikink.client import QikinkClient, build_http_client
from services.qikink.lanes import Lane
from services.shared.clock import SYSTEM, Clock
from services.shared.db import is_postgres

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from config import Settings

__all__ = ["SIMULATOR_URL", "Runtime"]

logger = logging.getLogger("qikink_graphql")
SIMULATOR_URL = "http://qikink-simulator"
# Shutdown ends within a bounded time however stuck the work is (orchestrators kill a process
# that takes longer; Docker after 10 s): requests in flight get REQUEST_GRACE_SECONDS (uvicorn's
# graceful shutdown, set by `serve`), then the background work SHUTDOWN_GRACE_SECONDS to finish
# and CANCEL_GRACE_SECONDS to unwind once cancelled, then the database its own few seconds
# (services.shared.db.close_db).
REQUEST_GRACE_SECONDS = 2.0
SHUTDOWN_GRACE_SECONDS = 3.0
CANCEL_GRACE_SECONDS = 1.0


@dataclass
class Runtime:
    """Long-lived resources, opened by the lifespan and shared by every request."""

    settings: Settings
    # The one clock of every service this runtime runs (services.shared.clock).
    clock: Clock = SYSTEM
    simulator: Any = None
    simulator_app: Any = None
    http: httpx.AsyncClient | None = None
    medusa_http: httpx.AsyncClient | None = None
    medusa: MedusaClient | None = None
    worker: SubmissionWorker | None = None
    _qikink: QikinkClient | None = field(default=None, repr=False)
    _stop: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, repr=False)

    @classmethod
    def for_settings(cls, settings: Settings, *, clock: Clock = SYSTEM) -> Runtime:
        runtime = cls(settings=settings, clock=clock)
        if settings.uses_simulator:
            from simulator import QikinkSimulator, create_simulator_app

            runtime.simulator = QikinkSimulator(
                rate_limit_per_minute=settings.qikink_rate_limit_requests_per_minute,
                rate_window_seconds=settings.qikink_rate_window_seconds,
            )
            runtime.simulator_app = create_simulator_app(runtime.simulator)
        return runtime

    @property
    def qikink(self) -> QikinkClient:
        """The Qikink client for an admin's call that needs Qikink now (the interactive lane);
        `in_lane` gives the same client for every other kind of call."""
        if self._qikink is None:
            raise RuntimeError("The Qikink client is opened by the app's lifespan.")
        return self._qikink

    @property
    def storefront_qikink(self) -> QikinkClient:
        """The Qikink client for calls a storefront caused: within the storefront's share."""
        return self.qikink.in_lane(Lane.STOREFRONT)

    async def open(self) -> None:
        settings = self.settings
        if self.simulator is not None:
            logger.warning(
                "QIKINK SIMULATOR IN USE: no QIKINK_CLIENT_ID/QIKINK_CLIENT_SECRET are set, so "
                "orders go to a built-in fake Qikink (nothing is printed or shipped). Its "
                "control API is at /simulator/__sim__/."
            )
            self.http = build_http_client(
                settings.qikink_timeout_seconds,
                transport=httpx.ASGITransport(app=self.simulator_app),
            )
            api_url = SIMULATOR_URL
            client_id = self.simulator.client_id
            secret = self.simulator.client_secret
        else:
            if not (settings.qikink_client_id and settings.qikink_client_secret):
                raise RuntimeError("Qikink credentials are required outside the simulator.")
            self.http = build_http_client(settings.qikink_timeout_seconds)
            api_url = settings.qikink_api_url
            client_id = settings.qikink_client_id
            secret = settings.qikink_client_secret.get_secret_value()
        if settings.has_medusa:
            assert settings.medusa_backend_url is not None
            assert settings.medusa_api_key is not None
            self.medusa_http = build_http_client(settings.qikink_timeout_seconds)
            self.medusa = MedusaClient(
                self.medusa_http,
                base_url=settings.medusa_backend_url,
                api_key=settings.medusa_api_key.get_secret_value(),
            )
        self._qikink = QikinkClient(
            self.http,
            api_url=api_url,
            client_id=client_id,
            client_secret=secret,
            rate_limit_per_minute=settings.qikink_rate_limit_requests_per_minute,
            rate_reserve=settings.rate_reserve,
            storefront_per_minute=settings.qikink_storefront_calls_per_minute,
            postgres=is_postgres(settings.database_url),
            clock=self.clock,
            rate_window_seconds=settings.qikink_rate_window_seconds,
        )

    def wake_worker(self) -> None:
        """An order was queued: let this process's worker look now."""
        if self.worker is not None:
            self.worker.wake()

    def start_background(self, *, sync: bool = True) -> None:
        """Run the outbox worker (and the periodic status sync) until `close`."""
        settings = self.settings
        self.worker = SubmissionWorker(
            self.qikink.in_lane(Lane.SUBMIT),
            lease_seconds=settings.submit_lease_seconds,
            backoff_base=settings.submit_backoff_base_seconds,
            backoff_max=settings.submit_backoff_max_seconds,
            poll_seconds=settings.worker_poll_seconds,
            max_attempts=settings.submit_max_attempts,
            canceled_in_store=self.medusa.is_canceled if self.medusa is not None else None,
        )
        self._stop.clear()
        self._spawn("outbox", self.worker.run(self._stop))
        if sync and settings.sync_interval_seconds > 0:
            self._spawn(
                "status-sync",
                periodic_sync(
                    self.qikink.in_lane(Lane.SYNC),
                    owner=self.worker.owner,
                    interval=settings.sync_interval_seconds,
                    stop=self._stop,
                ),
            )

        if self.medusa is not None and settings.medusa_fulfillment_sync:
            writer = FulfillmentWriter(
                self.medusa,
                fulfill_at=settings.medusa_fulfill_at,
                location_id=settings.medusa_stock_location_id,
                poll_seconds=settings.worker_poll_seconds,
                lease_seconds=settings.submit_lease_seconds,
                backoff_base=settings.submit_backoff_base_seconds,
                backoff_max=settings.submit_backoff_max_seconds,
                clock=self.clock,
            )
            self._spawn("medusa-write-back", writer.run(self._stop))

        if self.medusa is not None and settings.reconcile_interval_seconds > 0:
            self._spawn(
                "medusa-sweep",
                reconcile_forever(
                    self.medusa,
                    prefix=settings.qikink_order_number_prefix,
                    interval=settings.reconcile_interval_seconds,
                    overlap_seconds=settings.reconcile_overlap_seconds,
                    max_orders=settings.reconcile_max_orders,
                    stop=self._stop,
                    on_queued=self.wake_worker,
                    clock=self.clock,
                ),
            )

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background until `close`."""
        self._tasks.append(asyncio.create_task(work, name=name))

    async def wait(self) -> None:
        """Until the background work stops (for `qikink-graphql worker`)."""
        await asyncio.gather(*self._tasks)

    async def close(self) -> None:
        self._stop.set()
        if self._tasks:
            # Let a submission under way finish; one still waiting on Qikink or the budget
            # after that is cut short: its lease lapses and the next worker looks it up first.
            _, pending = await asyncio.wait(self._tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=CANCEL_GRACE_SECONDS)
        for task in self._tasks:
            if not task.done():
                logger.warning("%s did not stop when cancelled; leaving it.", task.get_name())
            elif not task.cancelled() and task.exception() is not None:
                logger.error("%s failed", task.get_name(), exc_info=task.exception())
        self._tasks.clear()
        for http in (self.http, self.medusa_http):
            if http is not None:
                await http.aclose()
        self.http = self.medusa_http = self.medusa = None
        self._qikink = None
