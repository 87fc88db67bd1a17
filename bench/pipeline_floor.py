"""How much of a GraphQL POST's cost is the service's own, and how much Strawberry's.

    .venv/bin/python bench/pipeline_floor.py [--database postgres] [--rounds 3]

Each POST operation of graphql_throughput.py against three servers on one seeded database,
driven by wrk in turn, round after round: the service (`qikink-graphql serve`), Strawberry's
stock view over the same schema with the service's document cache, executor and name converter
and none of its other layers (`throughput_floor.py`, the floor of Strawberry's documented
pipeline), and the bare route (`throughput_bare.py`). All three must first give the same JSON.
The row shows the round with the median service / bare ratio; "service / floor" is what the
service's own layers leave, "floor / bare" what Strawberry's pipeline itself leaves.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import print_table
from graphql_throughput import (
    check_same_json,
    create_api_key,
    fresh_database,
    headers_for,
    seed,
)
from throughput_load import Load, lua_script, measure
from throughput_ops import BENCH_DIR, JWT_SECRET, OPERATIONS
from throughput_servers import bare_server, child_env, graphql_server, running

from simulator import QikinkSimulator, SimulatorServer
from tests.graphql_client import make_jwt
from tests.live_server import free_port


def floor_server(database_url: str, workdir: Path) -> Any:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "throughput_floor.py"), database_url, str(port)]
    return running("floor", argv, child_env(), port, workdir)


HEADER = ["operation", "service r/s", "floor r/s", "bare r/s", "service / floor", "floor / bare"]


def bench(backend: str, args: argparse.Namespace, workdir: Path) -> list[list[str]]:
    rows = [[*HEADER, "service / bare"]]
    with fresh_database(backend, workdir) as database_url:
        seeded = seed(database_url, workdir)
        credentials = {
            "jwt": make_jwt(JWT_SECRET, actor_id="user_bench", expires_in=24 * 3600),
            "api_key": create_api_key(database_url, workdir),
        }
        with (
            SimulatorServer(QikinkSimulator()) as qikink,
            graphql_server(database_url, workdir, 1, qikink) as service,
            floor_server(database_url, workdir) as floor,
            bare_server(database_url, workdir) as bare,
        ):
            servers = {"service": service, "floor": floor, "bare": bare}
            for op in (op for op in OPERATIONS if op.poll is None):
                values = seeded[op.pool] if op.pool else []
                headers = headers_for(op, credentials)
                for server in (service, floor):
                    check_same_json(server, bare, op, headers, values[123] if values else None)
                scripts = {}
                for name in servers:
                    path = op.bare_path if name == "bare" else "/graphql"
                    sent = {} if name == "bare" else headers
                    scripts[name] = workdir / f"{backend}-{name}-{OPERATIONS.index(op)}.lua"
                    scripts[name].write_text(lua_script(path, op.query, sent, op.variable, values))
                rounds: list[dict[str, Load]] = []
                for round_ in range(args.rounds):
                    loads = {}
                    for name, server in servers.items():
                        path = op.bare_path if name == "bare" else "/graphql"
                        load = measure(
                            f"{server.url}{path}",
                            scripts[name],
                            args,
                            server,
                            database_url,
                            warm_up=round_ == 0,
                        )
                        if load.errors:
                            raise RuntimeError(f"{op.name}: {name} answered errors: {load.errors}")
                        loads[name] = load
                    rounds.append(loads)
                ratios = [
                    r["service"].requests_per_second / r["bare"].requests_per_second for r in rounds
                ]
                median = rounds[ratios.index(statistics.median_low(ratios))]
                rps = {name: load.requests_per_second for name, load in median.items()}
                rows.append(
                    [
                        op.name,
                        *(f"{rps[name]:.0f}" for name in servers),
                        f"{rps['service'] / rps['floor']:.2f}",
                        f"{rps['floor'] / rps['bare']:.2f}",
                        f"{rps['service'] / rps['bare']:.2f}",
                    ]
                )
                print(f"  measured {op.name}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three servers")
    parser.add_argument("--concurrency", type=int, default=32, help="wrk connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    with tempfile.TemporaryDirectory(prefix="qkg-floor-") as tmp:
        print(f"{args.database}: seeding and serving...", flush=True)
        rows = bench(args.database, args, Path(tmp))
    print(
        f"\n== {args.database}: wrk -t2 -c{args.concurrency} -d{args.seconds}s, "
        f"{args.rounds} rounds, the median round (service / bare) shown"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
