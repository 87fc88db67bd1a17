"""What a GraphQL read costs against the bare stack under it: uvicorn + Starlette + Tortoise.

    .venv/bin/python bench/graphql_throughput.py                        # SQLite and PostgreSQL
    .venv/bin/python bench/graphql_throughput.py --database postgres --compare-workers 3

Per database: a fresh database seeded with 10,000 product and 10,000 order mappings; the
service (`qikink-graphql serve`) and a bare Starlette app calling the same service functions
(`throughput_bare.py`), each driven by `wrk` in turn, round after round, each round's ratio
taken of two runs seconds apart. Before the load both servers' JSON must be equal, and after
each run /metrics must count every operation `ok`. Each row also gives CPU ms a request
from /proc (the server, the PostgreSQL backends, wrk) and waits for the machine to go quiet
first. What it measures, the bars: bench/README.md; the figures: bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from common import create_database
from throughput_load import Load, graphql_outcomes, lua_script, measure, poll_path, poll_script
from throughput_ops import BENCH_DIR, CLI, JWT_SECRET, OPERATIONS, Operation
from throughput_report import Paired, Result, Row, print_result, verdict
from throughput_servers import Server, bare_server, child_env, graphql_server

from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import make_jwt
from tests.live_server import run

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextlib.contextmanager
def fresh_database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{workdir / 'bench.db'}"
        return
    # Not migrated here: Tortoise binds its models to one dialect a process (see `seed`).
    database = asyncio.run(create_database("throughput"))
    try:
        yield database.url
    finally:
        asyncio.run(database.drop())


def last_line(argv: list[str], workdir: Path, env: dict[str, str], what: str) -> str:
    """The last line `argv` printed; its output in the error when it fails."""
    done = run(argv, cwd=workdir, env=env, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return done.stdout.strip().splitlines()[-1]


def seed(database_url: str, workdir: Path) -> dict[str, Any]:
    argv = [sys.executable, str(BENCH_DIR / "throughput_seed.py"), database_url]
    seeded: dict[str, Any] = json.loads(last_line(argv, workdir, child_env(), "seeding"))
    return seeded


def create_api_key(database_url: str, workdir: Path) -> str:
    env = child_env(DATABASE_URL=database_url, APP_ENV="test")
    return last_line([str(CLI), "create-api-key", "bench"], workdir, env, "create-api-key")


def headers_for(op: Operation, credentials: dict[str, str]) -> dict[str, str]:
    if op.credential is None:
        return {}
    return {"Authorization": f"Bearer {credentials[op.credential]}"}


def request_body(op: Operation, value: str | None) -> dict[str, Any]:
    return {"query": op.query, "variables": {op.variable: value} if op.variable else {}}


def check_answers(
    server: Server, op: Operation, headers: dict[str, str], value: str | None
) -> None:
    """A few answers of `server` carry data and no errors (whichever worker answers)."""
    for _ in range(6):
        with httpx.Client(timeout=30) as http:  # a new connection each: maybe a new worker
            got = http.post(f"{server.url}/graphql", json=request_body(op, value), headers=headers)
        if got.status_code != 200 or "errors" in got.json() or not any(got.json()["data"].values()):
            raise RuntimeError(f"{op.name}: {got.status_code} {got.text[:600]}")


def check_same_json(
    graphql: Server, bare: Server, op: Operation, headers: dict[str, str], value: str | None
) -> None:
    body = request_body(op, value)
    got = httpx.post(f"{graphql.url}/graphql", json=body, headers=headers, timeout=30)
    want = httpx.post(f"{bare.url}{op.bare_path}", json=body, timeout=30)
    if got.status_code != 200 or "errors" in got.json() or got.json() != want.json():
        raise RuntimeError(
            f"{op.name}: the GraphQL answer differs from the bare one\n"
            f"GraphQL {got.status_code}: {got.text[:600]}\nbare {want.status_code}: "
            f"{want.text[:600]}"
        )
    if not any(got.json()["data"].values()):
        raise RuntimeError(f"{op.name}: empty answer {got.text[:300]}")


BY_ID = "qikinkOrderMapping(id)"


def write_poll_script(
    graphql: Server, bare: Server, op: Operation, value: str, workdir: Path
) -> Path:
    """The wrk script of a GET poll, once its answer is checked against the bare route's: the
    same data, cacheable; with If-None-Match, a 304 with no body."""
    path = poll_path(op, value)
    got = httpx.get(f"{graphql.url}{path}", timeout=30)
    want = httpx.post(f"{bare.url}{op.bare_path}", json=request_body(op, value), timeout=30)
    if got.status_code != 200 or got.json() != want.json() or "etag" not in got.headers:
        raise RuntimeError(f"{op.name}: the GET answer differs: {got.status_code} {got.text[:300]}")
    headers: dict[str, str] = {}
    if op.poll == "304":
        headers["If-None-Match"] = got.headers["etag"]
        again = httpx.get(f"{graphql.url}{path}", headers=headers, timeout=30)
        if again.status_code != 304 or again.content:
            raise RuntimeError(f"{op.name}: expected an empty 304, got {again.status_code}")
    script = workdir / f"poll-{op.poll}.lua"
    script.write_text(poll_script(path, headers))
    return script


def measure_graphql(
    server: Server,
    script: Path,
    args: argparse.Namespace,
    database_url: str,
    op: Operation,
    round_: int,
) -> Load:
    """`measure` for the service; with one worker, its /metrics must then count every request
    wrk made as an operation answered `ok`."""
    counted = server.workers == 1 and op.poll is None
    before = graphql_outcomes(server) if counted else {}
    load = measure(f"{server.url}/graphql", script, args, server, database_url, warm_up=round_ == 0)
    if counted:
        after = graphql_outcomes(server)
        not_ok = {
            k: after.get(k, 0) - before.get(k, 0)
            for k in after
            if k != "ok" and after.get(k, 0) != before.get(k, 0)
        }
        if not_ok:
            raise RuntimeError(f"{op.name}: GraphQL errors under load: {not_ok}")
        executed = after.get("ok", 0) - before.get("ok", 0)
        if executed < load.requests:
            raise RuntimeError(
                f"{op.name}: wrk counted {load.requests} requests, the server executed "
                f"{executed:.0f} operations"
            )
    return load


def bench_database(backend: str, args: argparse.Namespace, workdir: Path) -> Result:
    result = Result(backend)
    with fresh_database(backend, workdir) as database_url:
        started = time.perf_counter()
        seeded = seed(database_url, workdir)
        result.seed_seconds = time.perf_counter() - started
        result.shipped = seeded["shipped"]
        credentials = {
            "jwt": make_jwt(JWT_SECRET, actor_id="user_bench", expires_in=24 * 3600),
            "api_key": create_api_key(database_url, workdir),
        }
        scripts: dict[tuple[str, str], Path] = {}
        for op in OPERATIONS:
            if op.poll:
                continue  # written once the service answers (a 304 needs its ETag)
            values = seeded[op.pool] if op.pool else []
            for target, path in (("graphql", "/graphql"), ("bare", op.bare_path)):
                headers = headers_for(op, credentials) if target == "graphql" else {}
                script = workdir / f"{backend}-{target}-{OPERATIONS.index(op)}.lua"
                script.write_text(lua_script(path, op.query, headers, op.variable, values))
                scripts[(op.name, target)] = script

        with (
            SimulatorServer(QikinkSimulator()) as qikink,
            graphql_server(database_url, workdir, args.workers, qikink) as graphql,
            bare_server(database_url, workdir) as bare,
        ):
            for op in OPERATIONS:
                value = seeded[op.pool][123] if op.pool else None
                if op.poll:
                    scripts[(op.name, "graphql")] = write_poll_script(
                        graphql, bare, op, value or "", workdir
                    )
                    scripts[(op.name, "bare")] = scripts[(BY_ID, "bare")]
                    continue
                check_same_json(graphql, bare, op, headers_for(op, credentials), value)
            for op in OPERATIONS:
                row = Row(rounds=[], op=op)
                for round_ in range(args.rounds):
                    graphql_load = measure_graphql(
                        graphql, scripts[(op.name, "graphql")], args, database_url, op, round_
                    )
                    bare_load = measure(
                        f"{bare.url}{op.bare_path}",
                        scripts[(op.name, "bare")],
                        args,
                        bare,
                        database_url,
                        warm_up=round_ == 0,
                    )
                    row.rounds.append((graphql_load, bare_load))
                result.rows.append(row)
                print(f"  measured {op.name}", flush=True)
            result.rss = graphql.peak_rss()
            result.bare_rss = bare.peak_rss()

            if args.compare_workers and backend == "postgres" and args.workers == 1:
                # Both servers up at once (the idle one costs nothing), run round after round.
                op = next(o for o in OPERATIONS if o.name == BY_ID)
                script = scripts[(op.name, "graphql")]
                with graphql_server(database_url, workdir, args.compare_workers, qikink) as many:
                    check_answers(many, op, {}, seeded["orders"][7])
                    scaling = Paired(rounds=[])
                    for round_ in range(args.rounds):
                        loaded = measure(
                            f"{many.url}/graphql",
                            script,
                            args,
                            many,
                            database_url,
                            warm_up=round_ == 0,
                        )
                        one = measure_graphql(graphql, script, args, database_url, op, 1)
                        scaling.rounds.append((loaded, one))
                    result.scaling = (args.compare_workers, scaling)
                    result.scaling_rss = many.peak_rss()
    return result


def bench(args: argparse.Namespace) -> bool:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    backends = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(
        f"{os.cpu_count()} CPUs; GraphQL server: qikink-graphql serve --workers {args.workers}; "
        f"bare: uvicorn + Starlette + the same service functions"
    )
    all_ok = True
    with tempfile.TemporaryDirectory(prefix="qkg-throughput-") as tmp:
        for backend in backends:
            print(f"\n{backend}: seeding and serving...", flush=True)
            result = bench_database(backend, args, Path(tmp))
            all_ok = print_result(result, args) and all_ok
    print(f"\nall bars met: {verdict(all_ok)}")
    return all_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of each server, alternating; the median round's ratio counts",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the service")
    parser.add_argument(
        "--compare-workers",
        type=int,
        default=0,
        metavar="N",
        help="also run qikinkOrderMapping(id) on PostgreSQL with N workers (e.g. 3)",
    )
    args = parser.parse_args()
    sys.exit(0 if bench(args) else 1)


if __name__ == "__main__":
    main()
