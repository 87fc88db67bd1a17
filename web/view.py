"""The /graphql endpoint: Strawberry's ASGI view, speaking GraphQL over HTTP to the letter.

On top of Strawberry: media-type negotiation (`application/graphql-response+json`, with 4xx for
requests that never executed, and `application/json`, always 200 once parsed), 415 for a body
that is not JSON, 400 for a JSON body that cannot be read, is no object, is a batch or holds no
query, 406 for an Accept nobody can satisfy, 405 (with `Allow`) for a mutation sent with GET or
any method but GET and POST, each refusal a GraphQL JSON error with a code; `Retry-After` on an
answer refused for the rate limit; and the typed per-request `Context`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from cross_web import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from strawberry.asgi import GraphQL
from strawberry.http import process_result

from schema.context import Context
from services.shared.errors import ErrorCode
from web.graphiql import GraphiQLPage
from web.guards import graphql_refusal

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send
    from starlette.websockets import WebSocket
    from strawberry.http import GraphQLHTTPResponse
    from strawberry.types import ExecutionResult

    from services.runtime import Runtime
    from services.shared.auth import Caller

__all__ = ["GRAPHQL_RESPONSE", "GraphQLApp"]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# JSON's escape of a UTF-16 surrogate, the only way one reaches a decoded string (UTF-8 bytes
# cannot encode it); alone, it is no character, and no database or encoder will take it.
_SURROGATE = re.compile(r"\\u[dD][89abcdefABCDEF]")
_SURROGATE_BYTES = re.compile(rb"\\u[dD][89abcdefABCDEF]")
ALLOWED_METHODS = ("GET", "POST")
# The code of each refusal Strawberry raises with a status alone.
_REFUSAL_CODES = {
    400: ErrorCode.BAD_REQUEST,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


class Refusal(Exception):
    """A request refused before any operation ran, with the code clients branch on and the
    methods that would have been allowed (for a 405's `Allow`). Not an `HTTPException`, which
    Strawberry answers in plain text itself: this one reaches `GraphQLApp`, which answers it."""

    def __init__(self, status_code: int, reason: str, code: ErrorCode, *, allow: str = "") -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason
        self.code = code
        self.allow = allow


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media and quality > 0:
            ranges.append((media.lower(), quality))
    return ranges


def negotiate(accept: str | None) -> str | None:
    """The response media type for an Accept header; None when neither kind is acceptable."""
    if not accept or not accept.strip():
        return JSON  # the spec: no Accept means application/json
    best: tuple[float, int, str] | None = None
    for media, quality in _media_ranges(accept):
        if media == GRAPHQL_RESPONSE:
            candidate = (quality, 2, GRAPHQL_RESPONSE)
        elif media in {JSON, "application/*", "*/*"}:
            candidate = (quality, 1, JSON)
        else:
            continue
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else None


def _lone_surrogate(value: object) -> bool:
    """Whether a decoded JSON value holds half of a surrogate pair (a pair is one character)."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def _is_request_error(result: ExecutionResult) -> bool:
    """Parse and validation errors: nothing executed, so the response has no data entry."""
    return (
        result.data is None
        and bool(result.errors)
        and all(error.path is None for error in result.errors or ())
    )


class GraphQLView(GraphQL[Context, None]):
    """Strawberry's ASGI view, customised through its documented hooks only: our context, our
    GraphiQL page, the JSON body's checks, and what each answer tells `GraphQLApp` (in the
    request's state)."""

    def __init__(self, *args: Any, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime
        self.settings = runtime.settings
        self.graphiql = GraphiQLPage(self.graphql_ide_html)

    async def render_graphql_ide(self, request: Request) -> Response:
        return self.graphiql.page()

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry turns only JSONDecodeError into a 400: bytes that are not UTF-8
        # (UnicodeDecodeError) and nesting deeper than the parser recurses would be 500s.
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise HTTPException(400, "Unable to parse request body as JSON") from exc
        # The POST body arrives as bytes, GET's `variables` and `extensions` as str (where
        # `null` is allowed). A body that is no object would reach Strawberry's
        # `data.get(...)`: an AttributeError, a 500. A list is a batch, which we never run.
        if isinstance(data, bytes) and isinstance(value, list):
            raise Refusal(
                400,
                "Batched operations (a JSON list) are not supported: send one operation a request.",
                ErrorCode.BATCHING_NOT_SUPPORTED,
            )
        if isinstance(data, bytes) and not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        escaped = (
            _SURROGATE_BYTES.search(data) if isinstance(data, bytes) else _SURROGATE.search(data)
        )
        if escaped and _lone_surrogate(value):
            raise HTTPException(
                400, "The request holds a lone UTF-16 surrogate (\\uD800-\\uDFFF): no character."
            )
        return value

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        # Authenticated once, before the body was read (web.guards.CallerMiddleware, which
        # picks the body limit by it).
        if not isinstance(request, Request) or not isinstance(response, Response):
            raise TypeError("/graphql is served over HTTP only")
        state = request.scope["state"]
        return Context(
            request=request,
            response=response,
            settings=self.settings,
            caller=state["caller"],
            request_id=state.get("request_id", "-"),
            runtime=self.runtime,
        )

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        request.scope["state"]["graphql_errors"] = bool(result.errors)
        waits = [
            wait
            for error in result.errors or ()
            if (error.extensions or {}).get("code") == ErrorCode.RATE_LIMITED
            and isinstance(wait := (error.extensions or {}).get("retryAfter"), int)
        ]
        if waits:
            # The same whole seconds as `extensions.retryAfter`, for clients and proxies that
            # read the header (a 200 with `application/json`, so no 429 says it).
            request.scope["state"]["retry_after"] = max(waits)
        if request.scope["state"].get("graphql_media") == GRAPHQL_RESPONSE and _is_request_error(
            result
        ):
            request.scope["state"]["graphql_request_error"] = True
            response.pop("data", None)
        return response


class GraphQLApp:
    """/graphql: Strawberry's view (`GraphQLView`) inside the GraphQL-over-HTTP rules, as an
    ASGI app around it: the method, Accept and Content-Type are checked before the view runs,
    its plain-text refusals become GraphQL JSON errors with a code, and its JSON answers get
    the negotiated media type, their status, `Retry-After` and the GET caching headers."""

    def __init__(self, *args: Any, runtime: Runtime, **kwargs: Any) -> None:
        self.view = GraphQLView(*args, runtime=runtime, **kwargs)
        self.schema = self.view.schema
        self.settings = runtime.settings
        self.graphiql = self.view.graphiql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.view(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        request = Request(scope, receive)
        answer = _Answer(self, request, send)
        try:
            self._admit(request, state)
            await self.view(scope, receive, answer)
        except Refusal as refused:
            if answer.started:
                raise
            refusal = self._refusal(request, refused.status_code, refused.reason, refused.code)
            if refused.allow:
                refusal.headers["allow"] = refused.allow
            await refusal(scope, receive, send)

    def _admit(self, request: Request, state: dict[str, Any]) -> None:
        """Raises `Refusal` for a request no operation may come of."""
        if request.method not in ALLOWED_METHODS:
            raise Refusal(
                405,
                f"/graphql answers {' and '.join(ALLOWED_METHODS)} only.",
                ErrorCode.METHOD_NOT_ALLOWED,
                allow=", ".join(ALLOWED_METHODS),
            )
        accept = request.headers.get("accept")
        # Strawberry shows GraphiQL to a browser's GET without a query; one with a query runs it.
        wants_ide = (
            request.method == "GET"
            and "text/html" in (accept or "")
            and "query" not in request.query_params
        )
        media = negotiate(accept)
        if media is None and not wants_ide:
            raise Refusal(
                406,
                f"Accept {GRAPHQL_RESPONSE} or {JSON}: no other response type is served.",
                ErrorCode.NOT_ACCEPTABLE,
            )
        state["graphql_media"] = media
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != JSON:
                raise Refusal(
                    415, f"Send the GraphQL request as {JSON}.", ErrorCode.UNSUPPORTED_MEDIA_TYPE
                )

    def _refusal(self, request: Request, status: int, reason: str, code: ErrorCode) -> Response:
        media = request.scope.get("state", {}).get("graphql_media") or JSON
        return graphql_refusal(status, reason, code, media_type=media)

    def answered(self, request: Request, status: int, headers: MutableHeaders) -> int:
        """The status of the view's JSON answer, its headers set to what the request asked."""
        state = request.scope["state"]
        headers["content-type"] = f"{state.get('graphql_media')}; charset=utf-8"
        if state.get("graphql_request_error"):
            status = 400
        if state.get("retry_after"):
            headers["retry-after"] = str(state["retry_after"])
        if request.method == "GET":
            headers["cache-control"] = self._cache_control(request, status)
            headers["vary"] = "Accept, Authorization, X-Publishable-Api-Key"
        return status

    def refused(self, request: Request, status: int, reason: str) -> Response:
        """The view's plain-text refusal (an `HTTPException` Strawberry answered) as a GraphQL
        JSON error with its code."""
        if status == 400 and request.method == "GET" and "GET" in reason:
            # A mutation over GET: the method, not the request, is wrong.
            refusal = self._refusal(request, 405, reason, ErrorCode.METHOD_NOT_ALLOWED)
            refusal.headers["allow"] = "POST"
            return refusal
        return self._refusal(
            request, status, reason, _REFUSAL_CODES.get(status, ErrorCode.BAD_REQUEST)
        )

    def _cache_control(self, request: Request, status: int) -> str:
        """How a GET answer may be kept (web.cache keeps the public ones): never an
        error or an admin's answer; privately what depends on the caller's credentials;
        publicly what any storefront with the same key would get."""
        seconds = self.settings.storefront_cache_seconds
        caller: Caller | None = request.scope["state"].get("caller")
        if (
            seconds <= 0
            or caller is None
            or caller.is_admin
            or status != 200
            or request.scope["state"].get("graphql_errors", True)
        ):
            return "no-store"
        if "authorization" in request.headers:
            return f"private, max-age={seconds}"
        return f"public, max-age={seconds}"


class _Answer:
    """The `send` the view answers through: a JSON answer's start gets `GraphQLApp.answered`'s
    status and headers; a plain-text refusal is held whole and sent as `GraphQLApp.refused`."""

    def __init__(self, app: GraphQLApp, request: Request, send: Send) -> None:
        self.app, self.request, self.send = app, request, send
        self.started = False
        self.refusal: tuple[int, list[bytes]] | None = None

    async def __call__(self, message: Message) -> None:
        self.started = True
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            media = headers.get("content-type", "")
            if media.startswith(JSON):
                message["status"] = self.app.answered(self.request, message["status"], headers)
            elif message["status"] >= 400 and media.startswith("text/plain"):
                self.refusal = (message["status"], [])
                return
        elif message["type"] == "http.response.body" and self.refusal is not None:
            status, chunks = self.refusal
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                reason = b"".join(chunks).decode("utf-8", "replace")
                response = self.app.refused(self.request, status, reason)
                await response(self.request.scope, self.request.receive, self.send)
            return
        await self.send(message)
