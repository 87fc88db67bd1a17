"""The Starlette application: /graphql, /health, /ready, and the lifespan that owns resources."""

from __future__ import annotations

import contextlib
import gc
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from config import Settings, configure_logging, load_settings, with_overrides
from schema import build_schema
from services.runtime import Runtime
from services.shared import db
from services.shared.auth import NOT_AN_ADMIN, REFUSED, authenticate
from services.shared.clock import SYSTEM, Clock
from services.shared.errors import Forbidden
from web.cache import Compression, GetCache
from web.compat import ExecutionContext
from web.graphiql import ASSET_ROUTE
from web.guards import (
    ADMIN_PAGE_HEADERS,
    BodyLimitMiddleware,
    CallerMiddleware,
    MetricsEndpoint,
    RequestIdMiddleware,
    SecurityHeaders,
)
from web.view import GraphQLApp

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.requests import Request
    from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["create_app"]

logger = logging.getLogger("qikink_graphql")
ADMIN_DIR = Path(__file__).resolve().parent / "static" / "admin"


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


# What a storefront's browser may send: credentials, a publishable key, its own request id
# (echoed back, to find its requests in our log), and Apollo Client's client awareness.
CORS_REQUEST_HEADERS = [
    "authorization",
    "content-type",
    "x-publishable-api-key",
    "x-request-id",
    "apollographql-client-name",
    "apollographql-client-version",
]
# What a page's script may read of an answer beyond the safelisted headers.
CORS_EXPOSED_HEADERS = ["X-Request-Id", "Retry-After"]

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


class AdminOnly:
    """`app` for admins alone (an admin's JWT or an API key, as /graphql takes them); anyone
    else is refused in JSON, 401 without admin credentials and 403 with another kind."""

    def __init__(self, app: ASGIApp, settings: Settings, *, clock: Clock = SYSTEM) -> None:
        self.app = app
        self.clock = clock
        self.jwt_secret = settings.jwt_secret.get_secret_value()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = Headers(scope=scope).get("authorization")
        caller = await authenticate(
            authorization=authorization,
            publishable_key=None,
            jwt_secret=self.jwt_secret,
            publishable_keys=[],
            clock=self.clock,
        )
        if caller.is_admin:
            await self.app(scope, receive, send)
            return
        if isinstance(caller.auth_error, Forbidden):
            refusal = JSONResponse({"error": NOT_AN_ADMIN}, status_code=403)
        else:
            message = (
                REFUSED
                if authorization
                else "Admin credentials are required: send 'Authorization: Bearer <token>' "
                "with an admin's JWT or an API key."
            )
            refusal = JSONResponse(
                {"error": message}, status_code=401, headers={"www-authenticate": "Bearer"}
            )
        await refusal(scope, receive, send)


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
        settings = with_overrides(settings, **overrides)
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
        build_schema(
            introspection=settings.introspection,
            suggestions=settings.suggestions,
            execution_context_class=ExecutionContext,
        ),
        runtime=runtime,
        graphql_ide="graphiql" if settings.graphiql else None,
    )
    # A public answer kept within its max-age is served before anyone is authenticated: only a
    # storefront that was answered 200 with its key left it there, and no body is read.
    get_cache = GetCache(CallerMiddleware(graphql, settings, clock=clock), clock=clock)
    middleware = [Middleware(Compression)]
    if settings.cors_origins:
        # Outside the guards, so a browser can read their refusals (413, 503) too.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=CORS_REQUEST_HEADERS,
                expose_headers=CORS_EXPOSED_HEADERS,
            )
        )
    # Each body is read once, by the route that takes it: /graphql's by CallerMiddleware (its
    # limit by the caller), the simulator's by BodyLimitMiddleware. No other route reads one,
    # and the server closes a connection whose body was left unread.
    middleware.append(Middleware(RequestIdMiddleware))
    routes: list[BaseRoute] = [
        # Every method reaches the view, which answers the ones it does not take with a
        # GraphQL error (405 and `Allow`) rather than Starlette's plain text.
        Route("/graphql", get_cache),
        Route("/health", health),
        Route("/ready", ready),
        Route("/metrics", MetricsEndpoint(settings.metrics_token)),
    ]
    if settings.graphiql:
        routes.append(Route(ASSET_ROUTE, graphql.graphiql.asset))
    admin_pages = StaticFiles(directory=ADMIN_DIR, html=True)
    routes.append(
        Mount("/admin", app=SecurityHeaders(admin_pages, ADMIN_PAGE_HEADERS), name="admin")
    )
    if runtime.simulator_app is not None:
        # The built-in fake Qikink's control API, to advance order statuses by hand. Beside a
        # Medusa backend what it is told reaches real customers (a tracking link in their
        # shipment email), and it lists their names and phones: admins only then.
        simulator: ASGIApp = runtime.simulator_app
        if settings.guards_simulator:
            simulator = AdminOnly(simulator, settings, clock=clock)
        routes.append(Mount("/simulator", app=BodyLimitMiddleware(simulator)))
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
