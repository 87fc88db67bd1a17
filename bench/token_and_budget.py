"""Token mints and the shared rate budget under a cold burst of GraphQL calls.

Run from the project root (a few seconds per backend):

    .venv/bin/python bench/token_and_budget.py                       # SQLite, a temp file
    .venv/bin/python bench/token_and_budget.py --database postgres   # a throwaway PG database

Two scenarios, each on a fresh database and a fresh simulator (30 requests a minute, the same
budget the app is given). A load process fires `--calls` concurrent cold
`{ qikinkOrders { orderId } }` POSTs at once, each on its own connection:

- A: one `qikink-graphql serve` process takes every call;
- B: `--processes` of them on the same database share the calls equally.

The simulator runs in this process, the app in its own processes, the load in another, so
none of them steals the others' interpreter lock.

What bounds each number:

- token mints: 1, however many processes (one shared token, a mint lease in the database);
- calls that reached the simulator: the budget, 30 (the mint takes one slot, 29 reads);
- ok: the 29 slots left after the mint; refused RATE_LIMITED: the rest, refused before they
  leave the app, never by the simulator;
- latency: every cold call first waits for the one mint, and the mint waits behind the
  burst's own GraphQL parsing in its process; then each call takes the budget's transaction,
  and those run one at a time per database (SQLite's write lock, PostgreSQL's advisory
  lock), so the p99 of a burst grows with its size. No refusal waits for a slot to free:
  the warm refusals, one at a time, show what a refusal costs without a queue;
- max requests in any 60 s window: what the simulator saw, never more than the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import ssl
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from common import fresh_database

from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import make_jwt
from tests.live_server import LiveServer, spawn_async

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

BUDGET = 30
QUERY = "{ qikinkOrders { orderId } }"
# The proxy fields are an admin's: every call carries a Medusa admin's token.
JWT_SECRET = "bench-secret-" + "x" * 40
THIS_SCRIPT = Path(__file__).resolve()
PROJECT_ROOT = THIS_SCRIPT.parent.parent
START_TIMEOUT = 60.0
CALL_TIMEOUT = 60.0
WARM_CALLS = 20


# -- the load process: `token_and_budget.py load --calls N URL...` ----------------------------


def admin_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {make_jwt(JWT_SECRET)}"}


async def _one_call(
    http: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> tuple[str, float]:
    """(outcome, seconds): outcome is "ok", an `extensions.code`, or an HTTP status."""
    started = time.perf_counter()
    response = await http.post(f"{url}/graphql", json={"query": QUERY}, headers=headers)
    seconds = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}", seconds
    errors = body.get("errors") if isinstance(body, dict) else None
    if errors:
        return str((errors[0].get("extensions") or {}).get("code", "no code")), seconds
    orders = (body.get("data") or {}).get("qikinkOrders")
    if response.status_code == 200 and isinstance(orders, list):
        return "ok", seconds
    return f"HTTP {response.status_code}", seconds


async def load(urls: list[str], calls: int, warm: int) -> None:
    """Fire the burst and then the warm calls; print one JSON object with every outcome."""
    # One client (so one connection) per call: a shared pool of hundreds of connections
    # costs the client more per request than the server spends on a refusal.
    tls = ssl.create_default_context()
    timeout = httpx.Timeout(CALL_TIMEOUT)
    clients = [httpx.AsyncClient(verify=tls, timeout=timeout) for _ in range(calls)]
    headers = admin_headers()
    try:
        started_at = time.time()
        started = time.perf_counter()
        burst = await asyncio.gather(
            *(_one_call(http, urls[i % len(urls)], headers) for i, http in enumerate(clients))
        )
        wall = time.perf_counter() - started
        warm_outcomes = []
        async with httpx.AsyncClient(verify=tls, timeout=timeout) as http:
            for index in range(warm):
                warm_outcomes.append(await _one_call(http, urls[index % len(urls)], headers))
    finally:
        for http in clients:
            await http.aclose()
    result = {"started_at": started_at, "wall": wall, "burst": burst, "warm": warm_outcomes}
    print(json.dumps(result), flush=True)


# -- the bench --------------------------------------------------------------------------------


@dataclass
class Report:
    name: str
    sim: QikinkSimulator
    load: dict[str, Any]

    def print(self) -> None:
        burst = self.load["burst"]
        counts = Counter(kind for kind, _ in burst)
        other = {kind: n for kind, n in counts.items() if kind not in ("ok", "RATE_LIMITED")}
        at_sim = Counter(f"{r.endpoint}:{r.outcome}" for r in self.sim.requests)
        mints = [r.at for r in self.sim.requests if r.endpoint == "token"]
        mint_after = (
            f"{(mints[0] - self.load['started_at']) * 1000:.0f} ms after the burst began"
            if mints
            else "-"
        )
        rows = [
            ("token mints (simulator)", str(self.sim.tokens_minted)),
            ("calls that reached the simulator", str(len(self.sim.requests))),
            ("  by endpoint:outcome", ", ".join(f"{k}={v}" for k, v in sorted(at_sim.items()))),
            ("ok", str(counts["ok"])),
            ("refused RATE_LIMITED", str(counts["RATE_LIMITED"])),
            ("other", str(sum(other.values())) + (f" {other}" if other else "")),
            ("refusal latency p50 / p99", _percentiles(burst, "RATE_LIMITED")),
            ("success latency p50 / p99", _percentiles(burst, "ok")),
            ("the mint reached the simulator", mint_after),
            (
                f"{len(self.load['warm'])} warm refusals, one at a time",
                _percentiles(self.load["warm"], "RATE_LIMITED"),
            ),
            ("max requests in any 60 s window", str(self.sim.max_requests_in_window(60))),
            ("burst wall time", f"{self.load['wall'] * 1000:.0f} ms"),
        ]
        print(f"\n{self.name}")
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")


def _percentiles(outcomes: list[list[Any]], kind: str) -> str:
    times = sorted(seconds * 1000 for got, seconds in outcomes if got == kind)
    if not times:
        return "-"
    if len(times) == 1:
        return f"{times[0]:.1f} / {times[0]:.1f} ms (1 call)"
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return f"{cuts[49]:.1f} / {cuts[98]:.1f} ms ({len(times)} calls)"


async def _spawn(workdir: Path, *args: str) -> tuple[asyncio.subprocess.Process, Path]:
    """This script in a child process, its stderr kept in a file for failure messages."""
    log = workdir / f"{args[0]}-{secrets.token_hex(4)}.stderr"
    proc = await spawn_async(
        [sys.executable, str(THIS_SCRIPT), *args], cwd=PROJECT_ROOT, log=log, talk=True
    )
    return proc, log


@contextlib.asynccontextmanager
async def app_servers(
    count: int, database_url: str, sim_server: SimulatorServer, workdir: Path
) -> AsyncIterator[list[str]]:
    """`count` `qikink-graphql serve` processes on one database; yields their base URLs."""
    sim = sim_server.sim
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "QIKINK_API_URL": sim_server.url,
        "QIKINK_CLIENT_ID": sim.client_id,
        "QIKINK_CLIENT_SECRET": sim.client_secret,
        "QIKINK_RATE_LIMIT_REQUESTS_PER_MINUTE": str(BUDGET),
        "RUN_WORKER": "false",
        "LOG_LEVEL": "WARNING",
    }
    servers = []
    for index in range(count):
        (workdir / f"app-{index}").mkdir(exist_ok=True)
        servers.append(LiveServer(workdir / f"app-{index}", env))
    try:
        for server in servers:
            await asyncio.to_thread(server.start)
        yield [server.url for server in servers]
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)


async def run_load(workdir: Path, urls: list[str], calls: int) -> dict[str, Any]:
    proc, log = await _spawn(workdir, "load", "--calls", str(calls), *urls)
    try:
        async with asyncio.timeout(START_TIMEOUT + CALL_TIMEOUT):
            stdout, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        stderr = await asyncio.to_thread(log.read_text)
        raise RuntimeError(f"the load process exited with {proc.returncode}:\n{stderr}")
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def scenario(name: str, backend: str, workdir: Path, *, processes: int, calls: int) -> Report:
    with SimulatorServer(QikinkSimulator(rate_limit_per_minute=BUDGET)) as sim_server:
        async with (
            fresh_database(backend, workdir, name.split()[0].lower()) as database_url,
            app_servers(processes, database_url, sim_server, workdir) as urls,
        ):
            outcomes = await run_load(workdir, urls, calls)
        return Report(name, sim_server.sim, outcomes)


async def bench(args: argparse.Namespace) -> None:
    print(
        f"backend {args.database}: {args.calls} concurrent cold `{QUERY}` calls, "
        f"budget {BUDGET}/min, simulator limit {BUDGET}/min"
    )
    with tempfile.TemporaryDirectory(prefix="qkg-bench-") as tmp:
        workdir = Path(tmp)
        one = await scenario("A one process", args.database, workdir, processes=1, calls=args.calls)
        one.print()
        many = await scenario(
            f"B {args.processes} processes",
            args.database,
            workdir,
            processes=args.processes,
            calls=args.calls,
        )
        many.print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--calls", type=int, default=200, help="the burst, over all processes")
    parser.add_argument("--processes", type=int, default=4, help="app processes in scenario B")
    # The bench's own child: the load, in a process of its own.
    commands = parser.add_subparsers(dest="command", help=argparse.SUPPRESS)
    loading = commands.add_parser("load")
    loading.add_argument("--calls", type=int, required=True)
    loading.add_argument("urls", nargs="+")
    args = parser.parse_args()
    if args.command == "load":
        asyncio.run(load(args.urls, args.calls, WARM_CALLS))
    else:
        asyncio.run(bench(args))


if __name__ == "__main__":
    main()
