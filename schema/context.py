"""The typed per-request context and the Strawberry ASGI app that builds it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from strawberry.asgi import GraphQL

from services.auth import Caller, authenticate

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.websockets import WebSocket

    from config import Settings
    from services.qikink_client import QikinkClient
    from services.runtime import Runtime

__all__ = ["Context", "GraphQLApp"]


@dataclass(slots=True)
class Context:
    """What every resolver may use: the request, the caller and the app's settings."""

    request: Request
    response: Response
    settings: Settings
    caller: Caller
    request_id: str
    runtime: Runtime

    @property
    def qikink(self) -> QikinkClient:
        return self.runtime.qikink


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app with our context."""

    def __init__(self, *args: Any, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime
        self.settings = runtime.settings

    async def get_context(  # type: ignore[override]
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        caller = await authenticate(
            authorization=request.headers.get("authorization"),
            publishable_key=request.headers.get("x-publishable-api-key"),
            jwt_secret=self.settings.jwt_secret.get_secret_value(),
            publishable_keys=self.settings.qikink_publishable_keys,
        )
        return Context(
            request=request,  # type: ignore[arg-type]
            response=response,  # type: ignore[arg-type]
            settings=self.settings,
            caller=caller,
            request_id=request.scope.get("state", {}).get("request_id", "-"),
            runtime=self.runtime,
        )
