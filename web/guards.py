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
from services.shared.auth import authenticate, same_secret
from services.shared.clock import SYSTEM, Clock
from services.shared.errors import ErrorCode
from services.shared.metrics import render as render_metrics

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pydantic import SecretStr
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from config import Settings

__all__ = [
    "ADMIN_PAGE_HEADERS",
    "BODY_GRACE_SECONDS",
    "BODY_MIN_BYTES_PER_SECOND",
    "BODY_TIMEOUT_SECONDS",
    "MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "CallerMiddleware",
    "MetricsEndpoint",
    "RequestIdMiddleware",
    "SecurityHeaders",
    "graphql_refusal",
]

logger = logging.getLogger("qikink_graphql.auth")
# uvicorn's line per request, for the requests that end before any answer could be sent.
_access_log = logging.getLogger("uvicorn.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_BODY_BYTES = ADMIN_MAX_BODY_BYTES
# A body larger than this from anyone but an admin costs milliseconds to read, coerce and
# convert (a 64 KiB order: ~13 ms of one core), all of it before any permission is checked.
# Such requests run one at a time, so that small ones never queue behind several of them.
LARGE_BODY_BYTES = 8 * 1024
# Large requests waiting their turn, at most; more are answered 503 at once.
MAX_LARGE_WAITING = 32
LARGE_TURN_GAP_SECONDS = 0.002
# A body has this long from the end of its head to arrive whole: 64 KiB (a storefront's most)
# in 10 s is 6.4 KiB/s, 1 MiB (an admin's) 100 KiB/s.
BODY_TIMEOUT_SECONDS = 10.0
# ...and after its first 2 s it must have come at 1 KiB/s on average (8 kbit/s, well under
# the slowest mobile uplink, GPRS's 20-40 kbit/s): a sender that stalls or trickles is cut off
# after about 2 s.
BODY_GRACE_SECONDS = 2.0
BODY_MIN_BYTES_PER_SECOND = 1024
# The admin pages load their own scripts and styles and nothing else, and are never framed.
ADMIN_PAGE_HEADERS = (
    (b"content-security-policy", b"default-src 'self'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
)


def graphql_refusal(
    status: int,
    message: str,
    code: ErrorCode,
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


class _BodyRefused(Exception):
    """The request body cannot be read whole: `answer` says why to the client, None when the
    client is gone."""

    def __init__(self, answer: Response | None) -> None:
        super().__init__()
        self.answer = answer


class _BodyReader:
    """The receive of one request, holding its body to `max_bytes` and to the deadlines: the
    whole body within BODY_TIMEOUT_SECONDS of the head, and after BODY_GRACE_SECONDS at
    BODY_MIN_BYTES_PER_SECOND on average, so a sender that stalls or trickles loses its own
    request within seconds. Only a wait for bytes not yet there can pass a deadline: what
    arrived already is read however late the app asks for it."""

    def __init__(self, receive: Receive, max_bytes: int, refusal: str) -> None:
        self.receive = receive
        self.max_bytes = max_bytes
        self.refusal = refusal
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.received = 0
        self.complete = False

    async def __call__(self) -> Message:
        if self.complete:
            # After the body, the app may wait for the client to go: not a body's wait.
            return await self.receive()
        allowed = BODY_GRACE_SECONDS + self.received / BODY_MIN_BYTES_PER_SECOND
        try:
            async with asyncio.timeout_at(self.started + min(BODY_TIMEOUT_SECONDS, allowed)):
                message = await self.receive()
        except TimeoutError:
            raise _BodyRefused(_body_timed_out()) from None
        if message["type"] == "http.disconnect":
            raise _BodyRefused(None)
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                raise _BodyRefused(graphql_refusal(413, self.refusal, ErrorCode.PAYLOAD_TOO_LARGE))
            self.complete = not message.get("more_body", False)
        return message

    async def read(self) -> bytes:
        """The whole body."""
        chunks = []
        while not self.complete:
            chunks.append((await self()).get("body", b""))
        return b"".join(chunks)


def _body_timed_out() -> Response:
    return graphql_refusal(
        408,
        f"The request body did not arrive in time: the whole of it within "
        f"{BODY_TIMEOUT_SECONDS:g} s, at {BODY_MIN_BYTES_PER_SECOND} bytes a second or more "
        f"after the first {BODY_GRACE_SECONDS:g} s.",
        ErrorCode.REQUEST_TIMEOUT,
        # The rest of the body may still be on its way: the connection cannot take another.
        headers={"connection": "close"},
    )


def _declared_over(scope: Scope, max_bytes: int) -> bool:
    declared = dict(scope["headers"]).get(b"content-length")
    return declared is not None and declared.isdigit() and int(declared) > max_bytes


async def _refused(refused: _BodyRefused, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer a body that could not be read; for a client that hung up, one access log line
    (400, as nginx logs it) where its answer would have been, and nothing sent."""
    if refused.answer is not None:
        await refused.answer(scope, receive, send)
        return
    client = scope.get("client")
    _access_log.info(
        '%s - "%s %s HTTP/%s" %d',
        f"{client[0]}:{client[1]}" if client else "",
        scope["method"],
        scope.get("root_path", "") + scope["path"],
        scope["http_version"],
        400,
    )


async def limit_body(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, max_bytes: int, refusal: str
) -> None:
    """Run `app`, its body read by a _BodyReader: over `max_bytes` (by its Content-Length or
    as it streams) refused 413 with `refusal`, too slow 408, cut off by the client a quiet
    access log line."""
    if _declared_over(scope, max_bytes):
        await graphql_refusal(413, refusal, ErrorCode.PAYLOAD_TOO_LARGE)(scope, receive, send)
        return
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, _BodyReader(receive, max_bytes, refusal), tracking_send)
    except _BodyRefused as refused:
        if not started:
            await _refused(refused, scope, receive, send)


class BodyLimitMiddleware:
    """Every request's body read by a _BodyReader (limit_body): over `max_bytes` refused 413,
    too slow 408, cut off by the client one quiet line in the access log."""

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
    STOREFRONT_MAX_BODY_BYTES at most (an admin MAX_BODY_BYTES).

    The body is read whole first, within its limit and deadlines (_BodyReader), and only then
    does a body over LARGE_BODY_BYTES from anyone but an admin wait for its turn: the large
    ones are parsed and answered one at a time, and a sender that stalls or trickles holds
    up nobody but itself."""

    def __init__(self, app: ASGIApp, settings: Settings, *, clock: Clock = SYSTEM) -> None:
        self.app = app
        self.settings = settings
        self.clock = clock
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
            clock=self.clock,
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
            limit, refusal = MAX_BODY_BYTES, f"Request body is over {MAX_BODY_BYTES} bytes."
        else:
            limit, refusal = self.settings.storefront_max_body_bytes, self.refusal
        if _declared_over(scope, limit):
            await graphql_refusal(413, refusal, ErrorCode.PAYLOAD_TOO_LARGE)(scope, receive, send)
            return
        reader = _BodyReader(receive, limit, refusal)
        try:
            body = await reader.read()
        except _BodyRefused as refused:
            await _refused(refused, scope, receive, send)
            return
        replay = _replay(body, reader)
        if caller.is_admin or len(body) <= LARGE_BODY_BYTES:
            await self.app(scope, replay, send)
            return
        if self.large_waiting >= MAX_LARGE_WAITING:
            busy = graphql_refusal(
                503,
                "Too many large requests are waiting; try again shortly.",
                ErrorCode.SERVICE_UNAVAILABLE,
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
            await self.app(scope, replay, send)
        finally:
            self.large_turn.release()


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` whole, then whatever `receive` brings (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


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
