"""Strawberry's own floor, run as a child process by bench/pipeline_floor.py:
`python bench/throughput_floor.py DATABASE_URL PORT`.

Strawberry's stock ASGI view over the service's root types, with the one extension no
deployment can go without (the document cache: without it every request parses and validates
its query, a third of the speed), and the two speed-ups the service gives Strawberry through
its documented arguments (the executor whose resolver helpers hold it weakly, the cached name
converter). None of the service's own layers: no HTTP guards or request ids, no admission or
outcome log, no HTTP caching or compression, no GraphQL-over-HTTP rules.
The caller is authenticated as the service does it, so admin and storefront operations answer
as they do there.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if TYPE_CHECKING:
    from starlette.applications import Starlette


def floor_app(database_url: str) -> Starlette:
    import strawberry
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route
    from strawberry.asgi import GraphQL
    from strawberry.schema.config import StrawberryConfig
    from throughput_bare import database_lifespan
    from throughput_ops import JWT_SECRET

    from config import load_settings
    from schema import SCALARS, Mutation, Query
    from schema.context import Context
    from schema.documents import DocumentCache
    from schema.naming import CachedNameConverter
    from services.runtime import Runtime
    from services.shared.auth import authenticate
    from web.compat import ExecutionContext

    settings = load_settings(
        env_file=None,
        database_url=database_url,
        app_env="test",
        jwt_secret=JWT_SECRET,
        run_worker=False,
        log_level="WARNING",
    )
    schema = strawberry.Schema(
        query=Query,
        mutation=Mutation,
        extensions=[DocumentCache(introspection=True).extension()],
        execution_context_class=ExecutionContext,
        config=StrawberryConfig(name_converter=CachedNameConverter(), scalar_map=SCALARS),
    )
    runtime = Runtime.for_settings(settings)

    class View(GraphQL[Context, None]):
        async def get_context(self, request: Any, response: Any) -> Context:
            caller = await authenticate(
                authorization=request.headers.get("authorization"),
                publishable_key=request.headers.get("x-publishable-api-key"),
                jwt_secret=JWT_SECRET,
                publishable_keys=settings.qikink_publishable_keys,
            )
            return Context(
                request=request,
                response=response,
                settings=settings,
                caller=caller,
                request_id="-",
                runtime=runtime,
            )

    return Starlette(
        routes=[
            Route("/graphql", View(schema)),
            Route("/health", lambda request: Response("ok")),
        ],
        lifespan=database_lifespan(database_url),
    )


if __name__ == "__main__":
    import uvicorn

    # As throughput_bare.py runs: uvicorn (uvloop and httptools when installed), no access log.
    uvicorn.run(
        floor_app(sys.argv[1]),
        host="127.0.0.1",
        port=int(sys.argv[2]),
        log_level="warning",
        access_log=False,
    )
