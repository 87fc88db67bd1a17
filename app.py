"""The Starlette application: /graphql, /health, /ready, and the lifespan that owns resources."""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from config import Settings, configure_logging, load_settings
from runtime import Runtime
from schema import build_schema
from schema.graphiql import ASSET_ROUTE
from schema.http_cache import GetCache
from schema.view import GraphQLApp
from services import db
from services.clock import SYSTEM, Clock
from services.metrics import render as render_metrics

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["create_app"]

logger = logging.getLogger("qikink_graphql")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_BODY_BYTES = 1024 * 1024
ADMIN_DIR = Path(__file__).resolve().parent / "admin"


class RequestIdMiddleware:
    """Tags each request with an id (the caller's `X-Request-Id` when sane) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.match(sent) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_id)


class _BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with 413, by its Content-Length or as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = PlainTextResponse(
            f"Request body is over {self.max_bytes} bytes.", status_code=413
        )
        await response(scope, receive, send)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(await render_metrics(), media_type=CONTENT_TYPE_LATEST)


# How long /ready waits for the database's answer.
READY_TIMEOUT_SECONDS = 2.0


async def ready(request: Request) -> JSONResponse:
    # Bounded, so a database that stopped answering (a held connection, a lost server) makes
    # this 503 for the orchestrator to see, instead of a probe that never returns.
    if await db.ping(within=READY_TIMEOUT_SECONDS):
        return JSONResponse({"status": "ready", "database": "ok"})
    return JSONResponse(
        {
            "status": "unavailable",
            "database": f"no answer within {READY_TIMEOUT_SECONDS:g} s",
        },
        status_code=503,
    )


def create_app(
    settings: Settings | None = None, *, clock: Clock = SYSTEM, **overrides: Any
) -> Starlette:
    """Build the app; `settings` (or `overrides` on top of the environment) configure it, and
    every service reads `clock` (tests give their own).

    The database must be migrated already (`qikink-graphql migrate`; `serve` does it).
    """
    if settings is None:
        settings = load_settings(**overrides)
    elif overrides:
        settings = settings.model_copy(update=overrides)
    configure_logging(settings)

    runtime = Runtime.for_settings(settings, clock=clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await db.connect_db(settings.database_url)
        await runtime.open()
        if settings.run_worker:
            runtime.start_background()
        # What start-up built (modules, the schema, the models) lives as long as the process:
        # frozen, the collector stops walking it on every full collection of request garbage.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await runtime.close()
            await db.close_db()

    graphql = GraphQLApp(
        build_schema(introspection=settings.introspection, suggestions=not settings.is_production),
        runtime=runtime,
        graphql_ide="graphiql" if settings.graphiql else None,
    )
    get_cache = GetCache(graphql)
    middleware = [Middleware(RequestIdMiddleware), Middleware(BodyLimitMiddleware)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type", "x-publishable-api-key"],
            )
        )
    routes: list[BaseRoute] = [
        Route("/graphql", get_cache, methods=["GET", "POST"]),
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", metrics),
    ]
    if settings.graphiql:
        routes.append(Route(ASSET_ROUTE, graphql.graphiql.asset))
    routes.append(Mount("/admin", app=StaticFiles(directory=ADMIN_DIR, html=True), name="admin"))
    if runtime.simulator_app is not None:
        # The built-in fake Qikink's control API, to advance order statuses by hand.
        routes.append(Mount("/simulator", app=runtime.simulator_app))
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.graphql = graphql
    app.state.get_cache = get_cache
    return app
