"""How `serve` runs uvicorn: a request head of bounded size and time, connections that do not
outlive their requests, and an access log without the query string (a GraphQL GET carries the
whole operation and its variables there)."""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "HEAD_TIMEOUT_SECONDS",
    "IDLE_TIMEOUT_SECONDS",
    "MAX_HEADER_BYTES",
    "MAX_URL_BYTES",
    "AccessLogWithoutQuery",
    "BoundedHeadProtocol",
    "log_config",
]

# Header fields (names, values, separators) of one request; 8 KiB is what most proxies allow.
MAX_HEADER_BYTES = 8 * 1024
# The request target; a GraphQL GET holds its document there (1,000 tokens at most).
MAX_URL_BYTES = 32 * 1024
# From a connection's opening, or from the first byte of a later request, to the end of the
# head: a client sends its head at once (a whole 8 KiB one arrives in milliseconds), so 10 s
# leaves room for any network and none for a sender that holds connections open by trickling.
HEAD_TIMEOUT_SECONDS = 10.0
# A kept-alive connection waiting for its next request (uvicorn's timeout_keep_alive): a
# browser polling every few seconds keeps it, an idle one gives its socket back.
IDLE_TIMEOUT_SECONDS = 5


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
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
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
            self.transport.close()

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
            self.transport.close()


class AccessLogWithoutQuery(logging.Filter):
    """Drops the query string from uvicorn's access log line: a GraphQL GET's query string is
    the operation and its variables (order ids, a customer's details), no log's business."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            if isinstance(path, str):
                record.args = (client, method, path.split("?", 1)[0], version, status)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's own logging setup, its access log passed through AccessLogWithoutQuery."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query"] = {"()": AccessLogWithoutQuery}
    config["loggers"]["uvicorn.access"]["filters"] = ["without_query"]
    return config
