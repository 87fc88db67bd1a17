"""What slow senders cost everyone else: trickled bodies, silent connections, idle ones.

`qikink-graphql serve` on a loopback port (its built-in simulator). Then:

1. trickled bodies: 1, then 33, connections each send `content-length: 60000` and then one
   byte every 2 s (and connect again whenever the server drops them), while one client posts
   a 9 KB storefront request (`{ __typename }` padded past the large-body threshold) again
   and again, and times each answer; a small chunked request (no Content-Length) beside them;
2. a stalled body (head sent, then nothing): how long until the server answers or closes;
3. a silent connection (TCP open, nothing sent) and one that sends half a head: how long until
   the server closes them;
4. an idle keep-alive connection after one answer: how long until the server closes it;
5. honest slow senders: the 9 KB request sent in 512-byte pieces at 2 KiB/s (16 kbit/s, a
   poor mobile uplink), and at 512 B/s (under the minimum rate).

The bar: with 1 trickled body and with 33, every 9 KB request answers within 1 s; a silent
connection is closed within the head deadline (10 s).

    .venv/bin/python bench/slow_bodies.py [--database postgres] [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from common import fresh_database

from tests.live_server import LiveServer

NINE_KB = json.dumps({"query": "{ __typename }" + " " * 9000}).encode()
SMALL = json.dumps({"query": "{ __typename }"}).encode()
JSON = {"content-type": "application/json"}
TRICKLE_HEAD = (
    b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
    b"content-length: 60000\r\n\r\n"
)
BAR_SECONDS = 1.0
HEAD_DEADLINE_SECONDS = 10.0
GIVE_UP_SECONDS = 20.0


async def trickler(port: int, stop: asyncio.Event, outcomes: Counter[str]) -> None:
    """One connection sending a 60,000-byte body a byte every 2 s; again when dropped."""
    while not stop.is_set():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(TRICKLE_HEAD)
        answer = asyncio.ensure_future(reader.read(200))
        try:
            while not stop.is_set() and not answer.done():
                writer.write(b" ")
                await writer.drain()
                await asyncio.wait([answer], timeout=2.0)
        except OSError:
            pass
        if answer.done():
            line = answer.result().split(b"\r\n", 1)[0].decode() or "(closed)"
            outcomes[line] += 1
        else:
            answer.cancel()
        writer.close()


async def timed_requests(url: str, seconds: float) -> tuple[list[float], Counter[str]]:
    """9 KB storefront POSTs one after another for `seconds`: times (s) and outcomes."""
    times: list[float] = []
    outcomes: Counter[str] = Counter()
    async with httpx.AsyncClient(timeout=GIVE_UP_SECONDS) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                answer = await http.post(f"{url}/graphql", content=NINE_KB, headers=JSON)
                outcomes[str(answer.status_code)] += 1
            except httpx.TimeoutException:
                outcomes["timeout"] += 1
            times.append(time.perf_counter() - started)
    return times, outcomes


async def chunked_small(url: str) -> str:
    """A small POST without Content-Length (chunked): its status and time."""

    async def body() -> object:
        yield SMALL

    started = time.perf_counter()
    try:
        async with httpx.AsyncClient(timeout=GIVE_UP_SECONDS) as http:
            answer = await http.post(f"{url}/graphql", content=body(), headers=JSON)
        outcome = str(answer.status_code)
    except httpx.TimeoutException:
        outcome = "timeout"
    return f"{outcome} in {time.perf_counter() - started:.2f} s"


async def with_tricklers(server: LiveServer, count: int, seconds: float) -> bool:
    stop = asyncio.Event()
    dropped: Counter[str] = Counter()
    tasks = [asyncio.create_task(trickler(server.port, stop, dropped)) for _ in range(count)]
    await asyncio.sleep(0.5)  # every trickler connected and its head read
    chunked = asyncio.create_task(chunked_small(server.url))
    times, outcomes = await timed_requests(server.url, seconds)
    stop.set()
    await asyncio.gather(*tasks)
    slowest = max(times)
    met = slowest < BAR_SECONDS and set(outcomes) == {"200"}
    print(
        f"{count:2d} trickled: {len(times)} x 9 KB: {dict(outcomes)}, "
        f"p50 {statistics.median(times) * 1000:.1f} ms, max {slowest * 1000:.1f} ms; "
        f"chunked small: {await chunked}; tricklers dropped: {dict(dropped)}; "
        f"bar (all 200 within {BAR_SECONDS:g} s): {'met' if met else 'MISSED'}"
    )
    return met


async def until_closed(port: int, send: bytes) -> str:
    """Send `send`, then nothing: what the server answered and when it closed (or not)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    writer.write(send)
    try:
        answer = await asyncio.wait_for(reader.read(200), GIVE_UP_SECONDS)
        await asyncio.wait_for(reader.read(), GIVE_UP_SECONDS)
    except TimeoutError:
        writer.close()
        return f"still open after {GIVE_UP_SECONDS:g} s"
    except OSError as exc:
        answer = f"({exc.__class__.__name__})".encode()
    writer.close()
    line = answer.split(b"\r\n", 1)[0].decode() or "nothing"
    return f"{line}, closed after {time.perf_counter() - started:.2f} s"


async def idle_after_answer(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")
    started = time.perf_counter()
    try:
        await asyncio.wait_for(reader.read(), GIVE_UP_SECONDS)
    except TimeoutError:
        writer.close()
        return f"still open after {GIVE_UP_SECONDS:g} s"
    writer.close()
    return f"closed {time.perf_counter() - started:.2f} s after the answer"


async def paced(port: int, bytes_per_second: int) -> str:
    """The 9 KB request, its body sent in 512-byte pieces at `bytes_per_second`."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    writer.write(TRICKLE_HEAD.replace(b"60000", str(len(NINE_KB)).encode()))
    answer = asyncio.ensure_future(reader.read(200))
    for offset in range(0, len(NINE_KB), 512):
        await asyncio.wait([answer], timeout=512 / bytes_per_second)
        if answer.done():
            break
        writer.write(NINE_KB[offset : offset + 512])
    line = (await answer).split(b"\r\n", 1)[0].decode() or "(closed)"
    writer.close()
    return f"{line} after {time.perf_counter() - started:.2f} s"


async def measure(args: argparse.Namespace, database_url: str, workdir: Path) -> bool:
    env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    with LiveServer(workdir, env) as server:
        await timed_requests(server.url, 1.0)  # warm: imports, caches, the first connection
        met = await with_tricklers(server, 1, args.seconds)
        met = await with_tricklers(server, 33, args.seconds) and met
        stalled, silent, half_head, idle = await asyncio.gather(
            until_closed(server.port, TRICKLE_HEAD + b'{"query": '),
            until_closed(server.port, b""),
            until_closed(server.port, b"POST /graphql HTTP/1.1\r\nhost: 127.0.0.1\r\n"),
            idle_after_answer(server.port),
        )
        print(f"stalled body: {stalled}")
        print(f"half a head: {half_head}")
        print(f"idle after an answer: {idle}")
        fast, slow = await asyncio.gather(paced(server.port, 2048), paced(server.port, 512))
        print(f"9 KB at 2 KiB/s: {fast}; at 512 B/s: {slow}")
        silent_met = "closed after" in silent and (
            float(silent.rsplit("after ", 1)[1].split()[0]) <= HEAD_DEADLINE_SECONDS + 0.5
        )
        print(
            f"silent connection: {silent}; bar (closed within {HEAD_DEADLINE_SECONDS:g} s): "
            f"{'met' if silent_met else 'MISSED'}"
        )
    return met and silent_met


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="qkg-slow-bodies-") as tmp:
        workdir = Path(tmp)
        async with fresh_database(args.database, workdir, "slow_bodies") as database_url:
            met = await measure(args, database_url, workdir)
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=8.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
