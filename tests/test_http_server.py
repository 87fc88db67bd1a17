"""`qikink-graphql serve` over real sockets: a request head of bounded size, refused before
the app or the process's memory pays for it; heads and bodies of bounded time, so a slow sender
loses its own connection and holds up no one; and an access log that keeps no query string."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.live_server import LiveServer
from tests.waiting import wait_for
from web.guards import LARGE_BODY_BYTES
from web.server import MAX_HEADER_BYTES, MAX_URL_BYTES

if TYPE_CHECKING:
    from collections.abc import Iterator

# A storefront's request just past the large-body threshold, taking turns with other large ones.
pytestmark = pytest.mark.e2e


NINE_KB = json.dumps({"query": "{ __typename }" + " " * (LARGE_BODY_BYTES + 800)}).encode()
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # LOG_LEVEL INFO: the access log is on.
    with LiveServer(tmp_path_factory.mktemp("http-server"), {"LOG_LEVEL": "INFO"}) as live:
        yield live


def exchange(server: LiveServer, head: bytes, *, then: bytes = b"", repeat: int = 0) -> bytes:
    """Send `head`, then `then` `repeat` times (as long as the server reads); the status line."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        try:
            sock.sendall(head)
            for _ in range(repeat):
                sock.sendall(then)
        except OSError:
            pass  # the server answered and closed while we were still sending
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    return answer.split(b"\r\n", 1)[0]


def rss_kib(server: LiveServer) -> int:
    assert server._process is not None
    for line in Path(f"/proc/{server._process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def get(target: str, header_bytes: int) -> bytes:
    """A GET of `target` whose header fields take `header_bytes` bytes in all."""
    host = b"host: 127.0.0.1\r\n"
    filler = header_bytes - len(host) - len(b"x-filler: \r\n")
    return (
        f"GET {target} HTTP/1.1\r\n".encode() + host + b"x-filler: " + b"a" * filler + b"\r\n\r\n"
    )


def test_header_fields_over_8_kib_are_refused_with_431(server: LiveServer) -> None:
    assert exchange(server, get("/health", MAX_HEADER_BYTES)) == b"HTTP/1.1 200 OK"
    assert exchange(server, get("/health", MAX_HEADER_BYTES + 1)) == (
        b"HTTP/1.1 431 Request Header Fields Too Large"
    )


def test_a_request_target_over_32_kib_is_refused_with_414(server: LiveServer) -> None:
    fits = "/health?" + "a" * (MAX_URL_BYTES - len("/health?"))
    assert exchange(server, get(fits, 100)) == b"HTTP/1.1 200 OK"
    assert exchange(server, get(fits + "a", 100)) == b"HTTP/1.1 414 URI Too Long"


def test_sixteen_megabytes_of_headers_are_refused_as_they_arrive_and_leave_no_memory_behind(
    server: LiveServer,
) -> None:
    head = b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: "
    chunk = b"a" * 65536
    many = (b"a" * 8000 + b"\r\nx-more: ") * 8
    before = rss_kib(server)
    for then in (chunk, chunk, chunk, many, many, many):
        status = exchange(server, head, then=then, repeat=16 * 1024 * 1024 // len(then))
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"
    # Held whole, each would have taken 16 MB, and stayed (measured: +48 MB after three).
    assert rss_kib(server) - before < 8 * 1024
    assert httpx.get(f"{server.url}/health").status_code == 200


def test_the_access_log_shows_the_path_without_the_query_string(server: LiveServer) -> None:
    marker = "order_01SECRETINTHEQUERY"
    query = f'{{ qikinkOrderMapping(id: "{marker}") {{ status }} }}'
    answered = httpx.get(
        f"{server.graphql_url}", params={"query": query, "variables": '{"a": "b"}'}
    )
    assert answered.status_code == 200
    line = wait_for(
        lambda: [row for row in server.log().splitlines() if '"GET /graphql HTTP/1.1" 200' in row],
        within=10,
        what="the access log line of the GET",
    )
    assert line
    assert marker not in server.log()
    assert "variables" not in server.log()


def post_head(length: int, path: str = "/graphql") -> bytes:
    """The head of an anonymous JSON POST of `length` bytes that asks for `100 Continue`
    (uvicorn sends it once the app first reads the body: the sign the body is being read)."""
    return (
        f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\nexpect: 100-continue\r\n\r\n"
    ).encode()


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (the socket's timeout, 30 s,
    fails the test if it never does)."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=30)


def test_a_stalled_body_holds_up_no_one_and_loses_its_own_connection(
    server: LiveServer,
) -> None:
    with connect(server) as slow:
        slow.sendall(post_head(60_000))
        assert slow.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        slow.sendall(b'{"query": "{ __typename }')
        # While its body is on its way, a large one sent whole is answered.
        answered = httpx.post(server.graphql_url, content=NINE_KB, headers=JSON, timeout=30)
        assert answered.json() == {"data": {"__typename": "Query"}}
        refused = until_closed(slow)
    assert refused.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert b'"code": "REQUEST_TIMEOUT"' in refused


@pytest.mark.slow
def test_a_connection_that_sends_nothing_or_half_a_head_is_closed(server: LiveServer) -> None:
    with connect(server) as silent, connect(server) as half:
        half.sendall(b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        assert until_closed(silent) == b""
        assert until_closed(half).startswith(b"HTTP/1.1 408 Request Timeout\r\n")


def test_an_answer_sent_before_the_body_arrived_closes_the_connection(
    server: LiveServer,
) -> None:
    # /health takes no body: it is answered at once, and the rest is not waited for, however
    # long the client keeps sending it.
    with connect(server) as sock:
        sock.sendall(post_head(60_000, "/health") + b"{")
        assert sock.recv(4096).startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
        try:
            sock.sendall(b" ")
            until_closed(sock)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before the byte came: the server answered it with a reset


def test_a_body_over_its_limit_sent_whole_is_answered_413_not_reset(server: LiveServer) -> None:
    # Refused by its Content-Length before a byte of it is read; the 300 KB already sent sit
    # unread in the server's socket. Closed there and then, the kernel would answer with a
    # reset that can overtake the 413; the answer must reach the client all the same.
    with connect(server) as sock:
        sock.sendall(
            b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            b"content-length: 1000000\r\n\r\n" + b"[" * 300_000
        )
        answer = until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n"), answer[:200]
    assert b'"code": "PAYLOAD_TOO_LARGE"' in answer


def test_a_client_that_hangs_up_mid_body_is_one_quiet_400_in_the_access_log(
    server: LiveServer,
) -> None:
    with connect(server) as gone:
        client = f"127.0.0.1:{gone.getsockname()[1]} - "
        gone.sendall(post_head(20_000))
        assert gone.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        gone.sendall(b'{"query": "{ __typename }')
    wait_for(lambda: client in server.log(), within=10, what="the access log line of the hang-up")
    # A request after it logged too: whatever the hang-up logged is in the log by now.
    with connect(server) as after:
        after.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
        until_closed(after)
        marker = f"127.0.0.1:{after.getsockname()[1]} - "
    wait_for(lambda: marker in server.log(), within=10, what="the access log line after it")
    lines = [row for row in server.log().splitlines() if client in row]
    assert len(lines) == 1
    assert lines[0].endswith('"POST /graphql HTTP/1.1" 400 Bad Request')
    assert "Traceback" not in server.log()
    assert "ClientDisconnect" not in server.log()
