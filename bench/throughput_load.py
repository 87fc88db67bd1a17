"""The throughput bench's load: wrk scripts, wrk runs, and the CPU everyone used meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import httpx
from common import POSTGRES_ADMIN_URL
from throughput_ops import (
    DISTURBED_CORES,
    METRICS_TOKEN,
    QUIET_CORES,
    QUIET_TIMEOUT,
    RETRIES_WHEN_DISTURBED,
    WARMUP_SECONDS,
    Operation,
)

from tests.live_server import run
from tests.waiting import wait_for

if TYPE_CHECKING:
    import argparse

    from throughput_servers import Server


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str = ""
    # CPU over the measured run, from /proc: ms per request of the server's processes and of
    # the PostgreSQL backends serving its database; the cores everyone else on the machine
    # used meanwhile (other people's work, not this bench's).
    server_cpu_ms: float = 0.0
    database_cpu_ms: float = 0.0
    wrk_cpu_ms: float = 0.0
    others_cores: float = 0.0

    @property
    def tail(self) -> float:
        return self.p99_ms / self.p50_ms if self.p50_ms else float("inf")


def _lua_string(text: str) -> str:
    assert "]==]" not in text
    return f"[==[{text}]==]"


def lua_script(
    path: str, query: str, headers: dict[str, str], variable: str | None, values: list[str]
) -> str:
    """A wrk script: POST `query` to `path`, `variable` drawn from `values` per request."""
    lines = ['wrk.method = "POST"', 'wrk.headers["Content-Type"] = "application/json"']
    # `wrk.headers[[==[...` would open a long string: the spaces matter.
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    if variable is None:
        body = json.dumps({"query": query, "variables": {}})
        lines += [f"wrk.body = {_lua_string(body)}", f"wrk.path = {_lua_string(path)}"]
        return "\n".join(lines) + "\n"
    marker = "@@VALUE@@"
    prefix, suffix = json.dumps({"query": query, "variables": {variable: marker}}).split(marker)
    lines += [
        f"local prefix = {_lua_string(prefix)}",
        f"local suffix = {_lua_string(suffix)}",
        "local values = {",
        *(f'  "{value}",' for value in values),
        "}",
        "local count = 0",
        "function setup(thread) count = count + 1; thread:set('tid', count) end",
        "function init(args) math.randomseed(os.time() * 1000 + tid) end",
        "function request()",
        "  local body = prefix .. values[math.random(#values)] .. suffix",
        f"  return wrk.format(nil, {_lua_string(path)}, nil, body)",
        "end",
    ]
    return "\n".join(lines) + "\n"


def poll_path(op: Operation, value: str) -> str:
    """The GET a storefront polls with: the query and its variables in the URL."""
    variables = json.dumps({op.variable: value}) if op.variable else "{}"
    return "/graphql?" + urllib.parse.urlencode({"query": op.query, "variables": variables})


def poll_script(path: str, headers: dict[str, str]) -> str:
    """A wrk script: the same GET of `path` on every request, with `headers`."""
    lines = ['wrk.method = "GET"', f"wrk.path = {_lua_string(path)}"]
    lines += [f"wrk.headers[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(number: str, unit: str) -> float:
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Load:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\b", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\b", output, re.MULTILINE)
    total = re.search(r"^\s+(\d+) requests in", output, re.MULTILINE)
    if not (rps and p50 and p99 and total):
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    errors = [
        line.strip()
        for line in output.splitlines()
        if line.strip().startswith(("Non-2xx", "Socket errors"))
    ]
    return Load(
        float(rps.group(1)),
        _ms(*p50.groups()),
        _ms(*p99.groups()),
        int(total.group(1)),
        "; ".join(errors),
    )


def run_wrk(url: str, script: Path, seconds: int, concurrency: int) -> Load:
    argv = [
        "wrk",
        "-t2",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = run(argv, timeout=seconds + 120)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}:\n{done.stdout}{done.stderr}")
    if done.stderr.strip():
        # A broken script is only reported on stderr: wrk then sends bare GETs instead.
        raise RuntimeError(f"wrk complained:\n{done.stderr}")
    return parse_wrk(done.stdout)


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of every CPU since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def _process_ticks(pids: list[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def _delta(before: dict[int, int], after: dict[int, int]) -> int:
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items())


def database_backends(database_url: str) -> list[int]:
    """The PostgreSQL backend processes connected to this database (none for SQLite)."""
    if not database_url.startswith("postgres"):
        return []
    name = database_url.rsplit("/", 1)[1]

    async def query() -> list[int]:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        finally:
            await conn.close()
        return [row["pid"] for row in rows]

    return asyncio.run(query())


def wait_for_quiet(limit: float = QUIET_TIMEOUT) -> float:
    """Wait (at most `limit` s) until others use under QUIET_CORES; returns what they used."""
    used: list[float] = []

    def quiet() -> bool:
        busy0, total0 = _machine_ticks()
        time.sleep(1.0)
        busy1, total1 = _machine_ticks()
        used.append((os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1))
        return used[-1] < QUIET_CORES

    wait_for(quiet, within=limit, every=0, what="a quiet machine", fail=False)
    return used[-1]


def measure(
    url: str,
    script: Path,
    args: argparse.Namespace,
    server: Server,
    database_url: str,
    *,
    warm_up: bool = True,
) -> Load:
    """wrk (after a warm-up, unless the server has just served this); a run that others
    disturbed is repeated (the calmest is kept)."""
    best: Load | None = None
    hz = os.sysconf("SC_CLK_TCK")
    for _ in range(1 + RETRIES_WHEN_DISTURBED):
        wait_for_quiet()
        if warm_up:
            run_wrk(url, script, WARMUP_SECONDS, args.concurrency)
        servers, backends = server.processes(), database_backends(database_url)
        server0, backend0 = _process_ticks(servers), _process_ticks(backends)
        busy0, _ = _machine_ticks()
        children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        load = run_wrk(url, script, args.seconds, args.concurrency)
        elapsed = time.monotonic() - started
        children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        busy1, _ = _machine_ticks()
        server_ticks = _delta(server0, _process_ticks(servers))
        backend_ticks = _delta(backend0, _process_ticks(database_backends(database_url)))
        wrk_seconds = (children1.ru_utime + children1.ru_stime) - (
            children0.ru_utime + children0.ru_stime
        )
        load.server_cpu_ms = 1000 * server_ticks / hz / max(load.requests, 1)
        load.database_cpu_ms = 1000 * backend_ticks / hz / max(load.requests, 1)
        load.wrk_cpu_ms = 1000 * wrk_seconds / max(load.requests, 1)
        others = (busy1 - busy0 - server_ticks - backend_ticks) / hz - wrk_seconds
        load.others_cores = max(others / elapsed, 0.0)
        if best is None or load.others_cores < best.others_cores:
            best = load
        if load.others_cores <= DISTURBED_CORES:
            break
    assert best is not None
    return best


def graphql_outcomes(server: Server) -> dict[str, float]:
    """qikink_graphql_requests_total by outcome, from the server's /metrics (one process)."""
    headers = {"authorization": f"Bearer {METRICS_TOKEN}"}
    text = httpx.get(f"{server.url}/metrics", headers=headers, timeout=30).text
    totals: dict[str, float] = {}
    for match in re.finditer(
        r'^qikink_graphql_requests_total\{operation="[^"]*",outcome="([^"]+)"\} ([\d.e+]+)$',
        text,
        re.MULTILINE,
    ):
        totals[match.group(1)] = totals.get(match.group(1), 0.0) + float(match.group(2))
    return totals
