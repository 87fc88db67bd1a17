"""What hostile GraphQL documents cost the service: CPU per request and memory, per shape.

Run from the project root (about a minute; more with --before, whose old code may need its
timeout on the larger bombs):

    .venv/bin/python bench/hostile_documents.py
    .venv/bin/python bench/hostile_documents.py --before ../old-checkout   # side by side

Each shape is sent to a fresh `qikink-graphql serve` (tests/live_server.py: a real process on
a loopback port, SQLite, its simulator) with publishable keys set and no key sent: an
anonymous outsider. The figures are read off the server process (/proc): its CPU time
(user + system) per request, its resident memory before and after, and, for the bombs, how
long a `/health` sent right behind the bomb waited. `--before DIR` runs the same shapes
against the checkout in DIR (with its own `.venv`), one column each.

Shapes:
- spread bomb n=8 / n=10: `{ ...F0 }`, each of n fragments spreading the next 10 times;
- the same over GET;
- 512 crowded documents: `{ ...F x480 } fragment F on Query { __typename } #i`, 2.4 KB each,
  each one new (the comment), as a sender filling a cache would send them;
- 512 new valid documents of 2.4 KB (12 reads by id of every field): documents that pass the
  limits and validation, so are kept by the cache (within its bytes);
- a normal by-id storefront poll, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import PROJECT_ROOT, print_table

from tests.live_server import LiveServer, run

PUBLISHABLE_KEY = "pk_bench_hostile"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def spread_bomb(levels: int, spreads: int = 10) -> str:
    fragments = [
        f"fragment F{level} on Query {{ {' '.join([f'...F{level + 1}'] * spreads)} }}"
        for level in range(levels - 1)
    ]
    return " ".join(["{ ...F0 }", *fragments, f"fragment F{levels - 1} on Query {{ __typename }}"])


def crowded(index: int) -> str:
    return "{ " + "...F " * 480 + f"}} fragment F on Query {{ __typename }} #{index}"


MAPPING_FIELDS = (
    "id medusaOrderId qikinkOrderId qikinkOrderNumber status qikinkStatus trackingNumber "
    "courier trackingUrl createdAt updatedAt lastSyncedAt"
)


def valid(index: int) -> str:
    """2.4 KB that parse and validate (and so are kept), each one new: 12 reads by id."""
    reads = " ".join(
        f'm{read}: qikinkOrderMapping(id: "order_{index}_{read}") {{ {MAPPING_FIELDS} }}'
        for read in range(12)
    )
    return f"query Q{index} {{ {reads} }}"


POLL = '{ qikinkOrderMapping(id: "order_01JDBENCH") { status trackingNumber } }'


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20


async def timed(
    http: httpx.AsyncClient, method: str, query: str, wait: float
) -> tuple[float | None, str]:
    """Wall seconds of one request (None past `wait` seconds) and its first error code."""
    started = time.perf_counter()
    try:
        if method == "GET":
            response = await http.get("/graphql", params={"query": query}, timeout=wait)
        else:
            response = await http.post("/graphql", json={"query": query}, timeout=wait)
    except httpx.HTTPError:  # a timeout or a dropped connection: no answer in time
        return None, "no answer"
    errors = response.json().get("errors") or [{}]
    return time.perf_counter() - started, errors[0].get("extensions", {}).get("code", "ok")


async def bomb(server: LiveServer, method: str, levels: int, wait: float) -> dict[str, Any]:
    """The bomb with a /health right behind it; sent again up to 20 times while each is
    answered within a second (CPU is counted in clock ticks, 10 ms)."""
    pid = server.pid
    cpu, health_waits, code = [], [], "ok"
    async with httpx.AsyncClient(base_url=server.url) as http:
        await http.get("/health")
        for _ in range(20):
            before = cpu_seconds(pid)
            task = asyncio.create_task(timed(http, method, spread_bomb(levels), wait))
            await asyncio.sleep(0.01)  # the bomb is on its way before /health is asked
            started = time.perf_counter()
            try:
                await http.get("/health", timeout=wait)
                health_waits.append(time.perf_counter() - started)
            except httpx.HTTPError:
                health_waits.append(None)
            answered, code = await task
            if answered is None:
                return {"cpu_ms": None, "health_ms": None, "code": code}
            cpu.append(cpu_seconds(pid) - before)
            if answered > 1:
                break
    waits = [wait for wait in health_waits if wait is not None]
    return {
        "cpu_ms": statistics.mean(cpu) * 1000,
        "health_ms": max(waits) * 1000 if len(waits) == len(health_waits) else None,
        "code": code,
    }


async def many(server: LiveServer, make: Any, count: int) -> dict[str, Any]:
    pid = server.pid
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        await http.post("/graphql", json={"query": make(-1)})  # warm: imports, first parse
        rss_before = rss_mb(pid)
        costs, code = [], "ok"
        for index in range(count):
            before = cpu_seconds(pid)
            _, code = await timed(http, "POST", make(index), 60)
            costs.append(cpu_seconds(pid) - before)
        rss_after = rss_mb(pid)
    return {
        "cpu_ms": statistics.mean(costs) * 1000,
        "rss_growth_mb": rss_after - rss_before,
        "code": code,
    }


SHAPES: dict[str, Any] = {
    "spread bomb n=8, POST": lambda s, t: bomb(s, "POST", 8, t),
    "spread bomb n=8, GET": lambda s, t: bomb(s, "GET", 8, t),
    "spread bomb n=10, POST": lambda s, t: bomb(s, "POST", 10, t),
    "512 new crowded 2.4 KB documents": lambda s, t: many(s, crowded, 512),
    "512 new valid 2.4 KB documents": lambda s, t: many(s, valid, 512),
    "512 by-id polls (one document)": lambda s, t: many(s, lambda _: POLL, 512),
}


async def measure(shape: str, wait: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        env = {"QIKINK_PUBLISHABLE_KEYS": PUBLISHABLE_KEY, "LOG_LEVEL": "WARNING"}
        with LiveServer(Path(workdir), env) as server:
            return await SHAPES[shape](server, wait)  # type: ignore[no-any-return]


def run_in(checkout: Path, shape: str, timeout: float) -> dict[str, Any]:
    """One shape measured by this script under `checkout`'s own Python (so its code serves)."""
    python = checkout / ".venv" / "bin" / "python"
    done = run(
        [str(python), __file__, "--measure", shape, "--timeout", str(timeout)],
        cwd=checkout,
        timeout=timeout * 3 + 120,
    )
    if done.returncode != 0:
        raise SystemExit(f"{shape} under {checkout} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def cell(figures: dict[str, Any], timeout: float) -> str:
    def ms(value: float | None) -> str:
        return f"> {timeout:.0f} s" if value is None else f"{value:,.1f} ms"

    parts = [f"CPU {ms(figures['cpu_ms'])}"]
    if "health_ms" in figures:
        parts.append(f"/health {ms(figures['health_ms'])}")
    if "rss_growth_mb" in figures:
        parts.append(f"RSS +{figures['rss_growth_mb']:.1f} MB")
    parts.append(figures["code"])
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="a checkout (with its .venv) to compare")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per bomb")
    parser.add_argument("--only", choices=list(SHAPES), action="append")
    parser.add_argument("--measure", choices=list(SHAPES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure, args.timeout))))
        return
    checkouts = {"this checkout": PROJECT_ROOT}
    if args.before:
        checkouts = {"before": args.before.resolve(), **checkouts}
    rows = [["shape", *checkouts]]
    for shape in args.only or SHAPES:
        row = [shape]
        for checkout in checkouts.values():
            row.append(cell(run_in(checkout, shape, args.timeout), args.timeout))
        rows.append(row)
        print(f"  measured: {shape}", file=sys.stderr)
    print("Per request, sent anonymously (publishable keys set, none sent); CPU of the server:")
    print_table(rows)


if __name__ == "__main__":
    main()
