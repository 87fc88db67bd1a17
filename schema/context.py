"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from config import Settings
    from services.qikink.client import QikinkClient
    from services.runtime import Runtime
    from services.shared.auth import Caller

__all__ = ["Context"]


@dataclass(slots=True)
class Context:
    """What every resolver may use: the request, the caller and the app's settings."""

    request: Request
    response: Response
    settings: Settings
    caller: Caller
    request_id: str
    runtime: Runtime
    # The operation was refused before it ran (`schema.gate`): counted under one label.
    refused: bool = False

    @property
    def qikink(self) -> QikinkClient:
        """Qikink for this caller: an admin's calls use the whole budget, anyone else's only
        the storefront's share of it."""
        if self.caller.is_admin:
            return self.runtime.qikink
        return self.runtime.storefront_qikink
