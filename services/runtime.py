"""What the app's lifespan owns: the one httpx client and the Qikink client built on it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from services.db import is_postgres
from services.qikink_client import QikinkClient, build_http_client

if TYPE_CHECKING:
    from config import Settings

__all__ = ["SIMULATOR_URL", "Runtime"]

logger = logging.getLogger("qikink_graphql")
SIMULATOR_URL = "http://qikink-simulator"


@dataclass
class Runtime:
    """Long-lived resources, opened by the lifespan and shared by every request."""

    settings: Settings
    simulator: Any = None
    simulator_app: Any = None
    http: httpx.AsyncClient | None = None
    _qikink: QikinkClient | None = field(default=None, repr=False)

    @classmethod
    def for_settings(cls, settings: Settings) -> Runtime:
        runtime = cls(settings=settings)
        if settings.uses_simulator:
            from simulator import QikinkSimulator, create_simulator_app

            runtime.simulator = QikinkSimulator(
                rate_limit_per_minute=settings.qikink_rate_limit_requests_per_minute
            )
            runtime.simulator_app = create_simulator_app(runtime.simulator)
        return runtime

    @property
    def qikink(self) -> QikinkClient:
        if self._qikink is None:
            raise RuntimeError("The Qikink client is opened by the app's lifespan.")
        return self._qikink

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
        self._qikink = QikinkClient(
            self.http,
            api_url=api_url,
            client_id=client_id,
            client_secret=secret,
            rate_limit_per_minute=settings.qikink_rate_limit_requests_per_minute,
            postgres=is_postgres(settings.database_url),
        )

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()
            self.http = None
        self._qikink = None
