"""ASGI middleware in front of the app: request ids, who is calling, body limits, the admin
pages' security headers, and the bearer-guarded /metrics; and `graphql_refusal`, the shape of
every request refused before an operation ran."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse, Response

from config import ADMIN_MAX_BODY_BYTES
from services.auth import authenticate, same_secret
from services.metrics import render as render_metrics

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import SecretStr
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from config import Settings

__all__ = [
    "ADMIN_PAGE_HEADERS",
    "MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "CallerMiddleware",
    "MetricsEndpoint",
    "RequestIdMiddleware",
    "SecurityHeaders",
    "graphql_refusal",
]

logger = logging.getLogger("qikink_graphql.auth")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_BODY_BYTES = ADMIN_MAX_BODY_BYTES
# A body larger than this from anyone but an admin costs milliseconds to read, coerce and
# convert (a 64 KiB order: ~13 ms of one core), all of it before any permission is checked.
# Such requests run one at a time, so that small ones never queue behind several of them.
LARGE_BODY_BYTES = 8 * 1024
# Large requests waiting their turn, at most; more are answered 503 at once.
MAX_LARGE_WAITING = 32
LARGE_TURN_GAP_SECONDS = 0.002
# The admin pages load their own scripts and styles and nothing else, and are never framed.
ADMIN_PAGE_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
)


def graphql_refusal(
    status: int,
    message: str,
    code: str,
    *,
    headers: Mapping[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    """A request refused before any operation ran, in the shape GraphQL clients read every
    answer in (`errors[].extensions.code`), so none of them has a plain-text special case."""
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(
        json.dumps(body).encode(),
        status_code=status,
        headers=headers,
        media_type=f"{media_type}; charset=utf-8",
    )


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


async def limit_body(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, max_bytes: int, refusal: str
) -> None:
    """Run `app`, refusing a body over `max_bytes` with 413 and `refusal`, by its
    Content-Length or as it streams."""
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        await graphql_refusal(413, refusal, "PAYLOAD_TOO_LARGE")(scope, receive, send)
        return
    received = 0
    started = False

    async def counting_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:
                raise _BodyTooLarge
        return message

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, counting_receive, tracking_send)
    except _BodyTooLarge:
        if not started:
            await graphql_refusal(413, refusal, "PAYLOAD_TOO_LARGE")(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses a request body over `max_bytes` with 413, by its Content-Length or as it streams."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = f"Request body is over {self.max_bytes} bytes."
        await limit_body(self.app, scope, receive, send, self.max_bytes, refusal)


class CallerMiddleware:
    """Works out who is calling, once a request and before the body is read: the view takes
    the caller from `scope["state"]["caller"]`, and anyone but an admin may send a body of
    STOREFRONT_MAX_BODY_BYTES at most (an admin MAX_BODY_BYTES), one large body at a time
    (LARGE_BODY_BYTES)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.jwt_secret = settings.jwt_secret.get_secret_value()
        limit = settings.storefront_max_body_bytes
        self.refusal = (
            f"Request body is over {limit} bytes, the limit for callers without admin credentials."
        )
        self.large_turn = asyncio.Semaphore(1)
        self.large_waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        caller = await authenticate(
            authorization=headers.get("authorization"),
            publishable_key=headers.get("x-publishable-api-key"),
            jwt_secret=self.jwt_secret,
            publishable_keys=self.settings.qikink_publishable_keys,
        )
        state = scope.setdefault("state", {})
        state["caller"] = caller
        if caller.refused_because is not None:
            logger.info(
                "Request %s: admin credentials refused: %s.",
                state.get("request_id", "-"),
                caller.refused_because,
            )
        if caller.is_admin:
            refusal = f"Request body is over {MAX_BODY_BYTES} bytes."
            await limit_body(self.app, scope, receive, send, MAX_BODY_BYTES, refusal)
            return
        limit = self.settings.storefront_max_body_bytes
        if not _large(scope):
            await limit_body(self.app, scope, receive, send, limit, self.refusal)
            return
        if self.large_waiting >= MAX_LARGE_WAITING:
            busy = graphql_refusal(
                503,
                "Too many large requests are waiting; try again shortly.",
                "SERVICE_UNAVAILABLE",
                headers={"retry-after": "1"},
            )
            await busy(scope, receive, send)
            return
        self.large_waiting += 1
        try:
            await self.large_turn.acquire()
        finally:
            self.large_waiting -= 1
        try:
            # A turn passed on starts with the loop's next ready tasks otherwise: small
            # requests that came in during the last large one would then wait for two.
            await asyncio.sleep(LARGE_TURN_GAP_SECONDS)
            await limit_body(self.app, scope, receive, send, limit, self.refusal)
        finally:
            self.large_turn.release()


def _large(scope: Scope) -> bool:
    """A body over LARGE_BODY_BYTES, or of a length not declared."""
    if scope["method"] in ("GET", "HEAD"):
        return False
    declared = dict(scope["headers"]).get(b"content-length")
    if declared is None or not declared.isdigit():
        return True
    return int(declared) > LARGE_BODY_BYTES


class SecurityHeaders:
    """Adds `headers` to every response of `app`, its refusals (404, 405) included."""

    def __init__(self, app: ASGIApp, headers: tuple[tuple[bytes, bytes], ...]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).extend(self.headers)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except HTTPException as exc:
            refusal = PlainTextResponse(exc.detail, exc.status_code, headers=exc.headers)
            await refusal(scope, receive, send_with_headers)


class MetricsEndpoint:
    """/metrics for whoever sends `Authorization: Bearer <METRICS_TOKEN>`; 404 for everyone
    when no token is set, so an unconfigured service shows nothing of its traffic."""

    def __init__(self, token: SecretStr | None) -> None:
        self.expected = None if token is None else f"Bearer {token.get_secret_value()}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if self.expected is None:
            response = PlainTextResponse("Not Found", status_code=404)
        elif not same_secret(Headers(scope=scope).get("authorization", ""), self.expected):
            response = PlainTextResponse(
                "Send 'Authorization: Bearer <METRICS_TOKEN>'.",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
        else:
            response = Response(await render_metrics(), media_type=CONTENT_TYPE_LATEST)
        await response(scope, receive, send)
