"""The framework internals the service still relies on, all here, each with its canary in
tests/test_compat.py (which fails naming the internal when an upgrade breaks it) and kept for
the figure given with it. Everything else uses the frameworks' documented ways (Strawberry's
`StrawberryConfig` and `NameConverter` from the modules its documentation imports them from)
but one: schema/input_limits.py tells list and optional argument types apart by Strawberry's
`StrawberryList` and `StrawberryOptional` (strawberry.types.base), read once when the schema
is built; a Strawberry upgrade that moves them fails at start-up, naming the import.

1. uvicorn's httptools protocol (`uvicorn.protocols.http.httptools_impl.HttpToolsProtocol`),
   subclassed by `BoundedHeadProtocol`, which reads its `cycle`, `pipeline`, `transport`,
   `loop`, `logger`, `server_state` and overrides `connection_made`, `data_received`,
   `on_url`, `on_header`, `on_headers_complete`, `on_message_complete`; and uvicorn's logging
   dict (`uvicorn.config.LOGGING_CONFIG`), the base of the access log without query strings.
   uvicorn has no setting that bounds a head's bytes or time: httptools held 16 MB of headers
   of one request in memory, and slow-loris heads and trickled bodies held connections open
   for as long as they trickled (tests/test_http_server.py; bench/slow_bodies.py gives what
   they cost everyone else, before and after the deadlines). pyproject.toml admits uvicorn
   0.x from 0.55: the canaries say when a release moves what is used here.
2. graphql-core's resolver helpers (`graphql.type.definition.GraphQLResolveInfoHelpers`, the
   executor's `async_helpers`), on Strawberry's execution context class
   (`strawberry.schema.schema.StrawberryGraphQLCoreExecutionContext`), given to the schema
   as `execution_context_class`: the figure is `ExecutionContext`'s below (the cycle
   collector's quarter of a small query's CPU); tests/test_hardening.py's cycle test fails
   when the helpers hold the executor again. graphql-core and Strawberry stay pinned to the
   versions this was checked with.

Placement: web/ is the top layer (`web -> schema -> resolvers -> services -> models`), so this
module may import from any of them and none of them imports it: web/app.py hands
`ExecutionContext` to `schema.build_schema(execution_context_class=...)`, and `serve`
(cli/commands.py) gives uvicorn `BoundedHeadProtocol` through web/server.py.

Checking types: `make lint` (and `make test`) runs `.venv/bin/mypy`, configured in
pyproject.toml's [tool.mypy]: strict for services/ and models/, unused `type: ignore`s
reported, each remaining one saying why.
"""

from __future__ import annotations

import copy
import weakref
from typing import TYPE_CHECKING, Any

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Sequence

__all__ = [
    "HEAD_TIMEOUT_SECONDS",
    "MAX_HEADER_BYTES",
    "MAX_URL_BYTES",
    "BoundedHeadProtocol",
    "ExecutionContext",
    "uvicorn_logging_config",
]

# Header fields (names, values, separators) of one request; 8 KiB is what most proxies allow.
MAX_HEADER_BYTES = 8 * 1024
# The request target; a GraphQL GET holds its document there (1,000 tokens at most).
MAX_URL_BYTES = 32 * 1024
# How long a connection closed after its answer still takes (and drops) what the client sends.
LINGER_SECONDS = 2.0
# From a connection's opening, or from the first byte of a later request, to the end of the
# head: a client sends its head at once (a whole 8 KiB one arrives in milliseconds), so 10 s
# leaves room for any network and none for a sender that holds connections open by trickling.
HEAD_TIMEOUT_SECONDS = 10.0


def _refusal(status: bytes, message: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = message.encode()
    lines = [b"HTTP/1.1 " + status + b"\r\n"]
    lines += [name + b": " + value + b"\r\n" for name, value in default_headers]
    lines += [
        b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
        body,
    ]
    return b"".join(lines)


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, refusing a request whose header fields pass
    MAX_HEADER_BYTES (431), whose target passes MAX_URL_BYTES (414), or whose head has not
    arrived HEAD_TIMEOUT_SECONDS after it began (408; a connection that sent nothing at all is
    closed without a word). A connection whose request was answered before its body was read
    whole is closed: waiting for the rest would let a sender keep it by trickling.

    httptools keeps a header value until it ends, however long: 16 MB of headers were held
    whole and left the process's memory that much larger. So the bytes of a head still
    arriving are counted as they come, and the connection is answered and closed once they pass
    the limit; a head that arrives whole is measured from its parsed fields.
    """

    def connection_made(  # type: ignore[override]  # uvicorn types it BaseTransport, gives Transport
        self, transport: asyncio.Transport
    ) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._heads_done = 0
        self._refused = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_begun = False
        self._linger: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        if self._linger is not None:
            self._linger.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head and (self.cycle is None or self.cycle.response_complete):
            # The next head begins; while an answer is still being written, uvicorn's
            # keep-alive deadline follows it instead.
            self._head_begun = True
            if self._head_timer is None:
                self._arm_head_timer()
        head_at_start, heads_done = self._in_head, self._heads_done
        super().data_received(data)
        # Counted only when one head was under way all through this chunk: a chunk where a
        # message ends and the next begins is not, so a head may pass the limit by a chunk
        # (asyncio reads at most 256 KiB at a time) before it is refused.
        if self._refused or self._heads_done != heads_done or not head_at_start:
            return
        self._head_bytes += len(data)
        # The target so far (uvicorn sets `url` when a message begins).
        url = len(getattr(self, "url", b""))
        if url > MAX_URL_BYTES:
            self._refuse(b"414 URI Too Long", f"The request target is over {MAX_URL_BYTES} bytes.")
        elif self._head_bytes - url > MAX_HEADER_BYTES:
            self._refuse_headers()

    def on_headers_complete(self) -> None:
        self._disarm_head_timer()
        self._in_head = False
        self._head_bytes = 0
        self._heads_done += 1
        if len(self.url) > MAX_URL_BYTES:
            self._refuse(b"414 URI Too Long", f"The request target is over {MAX_URL_BYTES} bytes.")
            return
        if sum(len(name) + len(value) + 4 for name, value in self.headers) > MAX_HEADER_BYTES:
            self._refuse_headers()
            return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_head = True
        if not self._refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # No request parsed after this one, and its body still arriving: answered without it
        # (a refusal, a route that takes no body).
        if not self.pipeline and self.cycle.more_body and not self.transport.is_closing():
            self._close_after_answer()

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(HEAD_TIMEOUT_SECONDS, self._head_timed_out)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._head_begun = False

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._refused or self.transport.is_closing():
            return
        if self._head_begun:
            self._refuse(
                b"408 Request Timeout",
                f"The request head did not arrive within {HEAD_TIMEOUT_SECONDS:g} s.",
            )
        else:
            self.transport.close()

    def _refuse_headers(self) -> None:
        self._refuse(
            b"431 Request Header Fields Too Large",
            f"The request's header fields are over {MAX_HEADER_BYTES} bytes.",
        )

    def _refuse(self, status: bytes, message: str) -> None:
        self._refused = True
        self.logger.warning("Refused a request: %s", message)
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, message, self.server_state.default_headers))
            self._close_after_answer()

    def _close_after_answer(self) -> None:
        """Close once the answer is out, whatever the client is still sending. A socket closed
        with unread input makes the kernel reset the connection, and the reset can overtake
        the answer (a client sending a body over its limit would read no 413): so the answer
        goes out with an end of file, what still arrives is dropped, and the connection closes
        when the client closes it or LINGER_SECONDS later."""
        self._refused = True  # what still arrives is dropped (data_received)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        else:
            self.transport.close()
            return
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)


def uvicorn_logging_config() -> dict[str, Any]:
    """A copy of uvicorn's own logging setup, to extend."""
    return copy.deepcopy(LOGGING_CONFIG)


# graphql-core 3.3's `ExecutionContext` keeps `async_helpers`, a pair of methods bound to
# itself, in every resolve info it builds: the executor and everything it holds (the request,
# the context, the resolved rows) then form a reference cycle, and every request's state waits
# for the cycle collector, whose passes over every request in flight cost a quarter of the CPU
# of a small query and make the slowest answers several times slower. Here the helpers reach
# the executor through a weak reference, so a request's state is freed when it ends.
class ExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context whose resolver helpers hold it weakly."""

    weak_helpers: GraphQLResolveInfoHelpers

    @property
    def async_helpers(self) -> GraphQLResolveInfoHelpers:
        return self.weak_helpers

    @async_helpers.setter
    def async_helpers(self, bound: GraphQLResolveInfoHelpers) -> None:
        # graphql-core assigns helpers bound to this executor; keep equivalents that are not.
        executor = weakref.ref(self)

        def gather(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
            return _alive(executor).gather_async_work(values)

        def track(values: Sequence[Any]) -> None:
            _alive(executor).track_async_work(values)

        self.weak_helpers = GraphQLResolveInfoHelpers(gather=gather, track=track)


def _alive(executor: weakref.ref[ExecutionContext]) -> ExecutionContext:
    found = executor()
    if found is None:
        raise RuntimeError("the operation this resolver belonged to has finished")
    return found
