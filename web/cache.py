"""HTTP caching of GraphQL GET answers: validators, 304s, and a micro-cache of public polls.

A storefront polls an order's status with the same GET again and again, and the status changes
only when the worker or the sync writes it, so a few seconds of staleness cost nothing. The
view says how an answer may be cached (`Cache-Control`, from the caller and the outcome:
`web.view`); this layer, around it, then:

- gives every cacheable GET answer a strong `ETag` (a hash of its body), and answers a request
  whose `If-None-Match` holds it with 304 and no body;
- keeps a public answer (`public, max-age=N`: no credentials, no error) for N seconds in a small
  per-process cache keyed by the request's query string, `Accept` and publishable key, and
  answers the same request from it without running the operation, as a micro-caching proxy
  in front of the service would. A request with `Authorization` is never answered from it.
  The cache holds MAX_ENTRIES answers and MAX_CACHED_BYTES of bodies at most, the least
  recently used going first, and an answer past its max-age is dropped within a second.

`Compression`, in front of the whole app, gzips answers of GZIP_MINIMUM_BYTES or more for
clients that accept it. A gzip body is another representation of the same answer, so it gets
its own strong tag: the identity tag with `-gzip` inside the quotes (as Apache's mod_deflate
does), which a conditional request may send back and still be answered 304. The cache above
keeps and validates identity bodies only; compression happens on the way out.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware

from services.shared.clock import SYSTEM, Clock

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "GZIP_MINIMUM_BYTES",
    "MAX_CACHED_BODY_BYTES",
    "MAX_CACHED_BYTES",
    "MAX_ENTRIES",
    "Compression",
    "GetCache",
]

MAX_ENTRIES = 512
MAX_CACHED_BODY_BYTES = 256 * 1024
# All bodies kept, at most: 512 answers of the largest kept size would be 128 MiB.
MAX_CACHED_BYTES = 16 * 1024 * 1024
# Expired answers are looked for this often (on the next request), all of them at once
# (~90 us for 512): answers of different max-ages expire in no order a queue could keep.
SWEEP_SECONDS = 1.0
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age=(\d+)")
# Smaller answers gain little from gzip: a few hundred bytes fit one packet either way.
GZIP_MINIMUM_BYTES = 1024
_GZIP_TAG_END = b'-gzip"'
# Headers a 304 carries over from the answer it stands for (RFC 9110, 15.4.5).
_KEPT_ON_304 = frozenset({b"cache-control", b"etag", b"vary", b"content-location", b"expires"})


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stored_at: float
    expires_at: float


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=16).hexdigest().encode() + b'"'


def _matches(if_none_match: bytes | None, etag: bytes) -> bool:
    """Whether `If-None-Match` names `etag` (weak comparison, as the header asks for)."""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b",")]
    return b"*" in tags or etag in tags


class GetCache:
    """Validators and 304s for GraphQL GET answers; public ones answered from a micro-cache."""

    def __init__(self, app: ASGIApp, *, clock: Clock = SYSTEM) -> None:
        self.app = app
        self.clock = clock
        self.entries: OrderedDict[tuple[bytes, bytes, bytes], _Answer] = OrderedDict()
        self.max_bytes = MAX_CACHED_BYTES
        self.bytes = 0  # of the bodies in `entries`
        self.hits = 0
        self.next_sweep = 0.0

    def _key(self, scope: Scope) -> tuple[bytes, bytes, bytes] | None:
        """What a public answer is kept by; None for a request never answered from the cache."""
        if _header(scope, b"authorization") is not None:
            return None
        return (
            scope.get("query_string", b""),
            _header(scope, b"accept") or b"",
            _header(scope, b"x-publishable-api-key") or b"",
        )

    def _drop(self, key: tuple[bytes, bytes, bytes]) -> None:
        self.bytes -= len(self.entries.pop(key).body)

    def _sweep(self, now: float) -> None:
        """Drop every answer past its max-age."""
        self.next_sweep = now + SWEEP_SECONDS
        for key in [key for key, answer in self.entries.items() if answer.expires_at <= now]:
            self._drop(key)

    def _keep(self, key: tuple[bytes, bytes, bytes], answer: _Answer) -> None:
        if key in self.entries:
            self._drop(key)
        self.entries[key] = answer
        self.bytes += len(answer.body)
        while len(self.entries) > MAX_ENTRIES or self.bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        now = self.clock()
        if now >= self.next_sweep:
            self._sweep(now)
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = self._key(scope)
        if key is not None:
            cached = self.entries.get(key)
            if cached is not None and cached.expires_at > now:
                self.hits += 1
                self.entries.move_to_end(key)
                age = (b"age", str(int(now - cached.stored_at)).encode())
                await self._answer(scope, send, cached.status, [*cached.headers, age], cached.body)
                return
            if cached is not None:
                self._drop(key)
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            else:
                await send(message)

        await self.app(scope, receive, capture)
        assert start is not None, "the app sent no response"
        body = b"".join(chunks)
        headers = [
            (name, value) for name, value in start.get("headers", []) if name != b"content-length"
        ]
        cache_control = dict(headers).get(b"cache-control", b"").decode("latin-1")
        if start["status"] != 200 or not cache_control or "no-store" in cache_control:
            await self._send(send, start["status"], headers, body)
            return
        headers.append((b"etag", _etag(body)))
        max_age = _MAX_AGE.search(cache_control)
        if (
            key is not None
            and cache_control.startswith("public")
            and max_age is not None
            and int(max_age.group(1)) > 0
            and len(body) <= MAX_CACHED_BODY_BYTES
        ):
            self._keep(key, _Answer(200, headers, body, now, now + int(max_age.group(1))))
        await self._answer(scope, send, 200, headers, body)

    async def _answer(
        self, scope: Scope, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        """The answer, or 304 when the request's `If-None-Match` already holds it."""
        etag = dict(headers).get(b"etag")
        if etag is not None and _matches(_header(scope, b"if-none-match"), etag):
            kept = [(name, value) for name, value in headers if name in _KEPT_ON_304]
            await self._send(send, 304, kept, b"")
            return
        await self._send(send, status, headers, body)

    async def _send(
        self, send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        if status != 304:
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Compression:
    """Starlette's GZipMiddleware, with a strong `ETag` of its own for each encoding and
    `Vary: Accept-Encoding` on every answer."""

    def __init__(self, app: ASGIApp, minimum_size: int = GZIP_MINIMUM_BYTES) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.gzip(scope, receive, send)
            return
        # The same test GZipMiddleware makes to pick gzip.
        gzip = b"gzip" in (_header(scope, b"accept-encoding") or b"")
        if_none_match = _header(scope, b"if-none-match") or b""
        gzip_tag_sent = gzip and _GZIP_TAG_END in if_none_match
        if gzip_tag_sent:
            # Validated inside as the identity body it was compressed from.
            headers = [(k, v) for k, v in scope["headers"] if k != b"if-none-match"]
            headers.append((b"if-none-match", if_none_match.replace(_GZIP_TAG_END, b'"')))
            scope = {**scope, "headers": headers}

        async def tagging_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                etag = headers.get("etag")
                compressed = headers.get("content-encoding") == "gzip"
                # A 304 stands for the representation the client holds: the gzip one, when
                # it sent that tag and still takes gzip.
                if (
                    etag
                    and etag.endswith('"')
                    and (compressed or (message["status"] == 304 and gzip_tag_sent))
                ):
                    headers["etag"] = etag[:-1] + "-gzip" + '"'
                if "accept-encoding" not in headers.get("vary", "").lower():
                    headers.add_vary_header("Accept-Encoding")
            await send(message)

        # A client that takes no gzip gets the identity body GZipMiddleware would pass through
        # (it would still parse every answer's headers to decide so).
        await (self.gzip if gzip else self.app)(scope, receive, tagging_send)
