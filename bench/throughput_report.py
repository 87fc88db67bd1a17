"""The throughput bench's results: rounds paired with the bare route's, and what is printed."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from throughput_ops import MAX_P99_OVER_P50, MAX_RSS_MB, MIN_WORKER_SCALING, ROWS, Operation

if TYPE_CHECKING:
    import argparse

    from throughput_load import Load


@dataclass
class Paired:
    """Runs of two servers back to back, round after round: drift in the machine's speed over
    minutes (seen here: the same server 30 % faster a few minutes later) hits both runs of a
    round alike, so their ratio is steadier than that of runs far apart."""

    rounds: list[tuple[Load, Load]]

    @property
    def ratios(self) -> list[float]:
        return [a.requests_per_second / b.requests_per_second for a, b in self.rounds]

    @property
    def ratio(self) -> float:
        """The median round's ratio."""
        return statistics.median_low(self.ratios)

    @property
    def median_round(self) -> tuple[Load, Load]:
        return self.rounds[self.ratios.index(self.ratio)]


@dataclass
class Row(Paired):
    """One operation: (GraphQL, bare) per round."""

    op: Operation

    @property
    def graphql(self) -> Load:
        return self.median_round[0]

    @property
    def bare(self) -> Load:
        return self.median_round[1]


@dataclass
class Result:
    database: str
    rows: list[Row] = field(default_factory=list)
    rss: list[tuple[int, str, float]] = field(default_factory=list)
    bare_rss: list[tuple[int, str, float]] = field(default_factory=list)
    seed_seconds: float = 0.0
    shipped: int = 0
    # qikinkOrderMapping(id) with N workers against one: (N, (N workers, 1 worker) per round)
    scaling: tuple[int, Paired] | None = None
    scaling_rss: list[tuple[int, str, float]] = field(default_factory=list)


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def _rounds(paired: Paired) -> str:
    return ", ".join(
        f"{a.requests_per_second:.0f} / {b.requests_per_second:.0f} = {ratio:.2f}"
        for (a, b), ratio in zip(paired.rounds, paired.ratios, strict=True)
    )


def print_result(result: Result, args: argparse.Namespace) -> bool:
    print(
        f"\n== {result.database}: {ROWS} product + {ROWS} order mappings ({result.shipped} "
        f"SHIPPED), seeded in {result.seed_seconds:.1f} s; wrk -t2 -c{args.concurrency} "
        f"-d{args.seconds}s, {args.rounds} rounds, {args.workers} uvicorn worker(s)"
    )
    header = (
        f"{'operation':<34} {'GraphQL r/s':>11} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'bare r/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}  "
        f"{'ratio bar':>10} {'p99<=4xp50':>10}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for row in result.rows:
        g, b = row.graphql, row.bare
        ratio_ok = row.ratio >= row.op.min_ratio
        tail_ok = g.tail <= MAX_P99_OVER_P50
        ok = ok and tail_ok and (ratio_ok or not row.op.bar)
        print(
            f"{row.op.name:<34} {g.requests_per_second:>11.0f} {g.p50_ms:>7.2f} {g.p99_ms:>7.2f} "
            f"{b.requests_per_second:>9.0f} {b.p50_ms:>7.2f} {b.p99_ms:>7.2f} {row.ratio:>6.2f}  "
            f"{(verdict(ratio_ok) + f' >={row.op.min_ratio}') if row.op.bar else 'info':>10} "
            f"{verdict(tail_ok):>10}"
        )
        database = (
            f" + database {g.database_cpu_ms:.2f} / {b.database_cpu_ms:.2f}"
            if result.database == "postgres"
            else ""
        )
        print(f"    GraphQL / bare by round: {_rounds(row)}; the row shows the median round")
        print(
            f"    CPU ms/request, GraphQL / bare: server {g.server_cpu_ms:.2f} / "
            f"{b.server_cpu_ms:.2f}{database}, wrk {g.wrk_cpu_ms:.2f} / {b.wrk_cpu_ms:.2f}; "
            f"others on the machine used {g.others_cores:.2f} / {b.others_cores:.2f} cores"
        )
        for load, who in ((g, "GraphQL"), (b, "bare")):
            # wrk counts a 304 among its "Non-2xx or 3xx responses": the 304 poll's all are.
            if load.errors and not (
                row.op.poll == "304" and who == "GraphQL" and load.errors.startswith("Non-2xx")
            ):
                ok = False
                print(f"    {who} errors: {load.errors}")
    for label, rss in (
        (f"{args.workers} worker(s)", result.rss),
        (f"{result.scaling[0]} workers" if result.scaling else "", result.scaling_rss),
    ):
        if not rss:
            continue
        workers = [mb for _, role, mb in rss if role == "worker"]
        rss_ok = bool(workers) and max(workers) < MAX_RSS_MB
        ok = ok and rss_ok
        listed = ", ".join(f"{role} {mb:.0f} MB" for _, role, mb in rss)
        print(
            f"peak RSS (VmHWM) of the service, {label}: {listed}; every worker under "
            f"{MAX_RSS_MB:.0f} MB: {verdict(rss_ok)}"
        )
    bare = ", ".join(f"{mb:.0f} MB" for _, _, mb in result.bare_rss)
    print(f"peak RSS of the bare server: {bare}")
    if result.scaling is not None:
        n, scaling = result.scaling
        many, one = scaling.median_round
        scale_ok = scaling.ratio >= MIN_WORKER_SCALING
        ok = ok and scale_ok
        print(
            f"qikinkOrderMapping(id) with {n} workers: {many.requests_per_second:.0f} r/s "
            f"(p50 {many.p50_ms:.2f} ms, p99 {many.p99_ms:.2f} ms) vs 1 worker "
            f"{one.requests_per_second:.0f} r/s: x{scaling.ratio:.2f}; >= {MIN_WORKER_SCALING}: "
            f"{verdict(scale_ok)}"
        )
        print(f"    {n} workers / 1 by round: {_rounds(scaling)}; the median round shown")
        print(
            f"    CPU ms/request: servers {many.server_cpu_ms:.2f}, database "
            f"{many.database_cpu_ms:.2f}, wrk {many.wrk_cpu_ms:.2f}; others used "
            f"{many.others_cores:.2f} cores"
        )
        if many.errors:
            print(f"    errors: {many.errors}")
    return ok
