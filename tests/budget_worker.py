"""One OS process of the multi-process budget test: `python -m tests.budget_worker ...`.

It connects to the shared database, builds a Qikink client, prints `ready`, waits for a `go`
line on stdin (the parent's start barrier), fires its calls at once, and prints one JSON line:
`{"ok": n, "rate_limited": n, "rate_limited_messages": {...}, "errors": {...}, "mints": n}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING

from services.shared import db
from services.shared.errors import RateLimited
from tests.qikink_process import connected_qikink_client

if TYPE_CHECKING:
    from services.qikink.client import QikinkClient


async def _one_call(client: QikinkClient, outcomes: Counter[str], refusals: Counter[str]) -> None:
    try:
        await client.list_orders(1, wait=False)
    except RateLimited as refused:
        outcomes["rate_limited"] += 1
        refusals[f"{type(refused).__name__}: {refused.message}"] += 1
    except Exception as failed:
        outcomes[f"{type(failed).__name__}: {failed}"] += 1
    else:
        outcomes["ok"] += 1


async def run(args: argparse.Namespace) -> dict[str, object]:
    async with connected_qikink_client(
        args.database_url,
        api_url=args.api_url,
        client_id=args.client_id,
        client_secret=args.client_secret,
        per_minute=args.budget,
        http_timeout=args.timeout,
    ) as client:
        # Open the database connection now, so the barrier releases processes that are warm.
        if not await db.ping(within=30):
            raise RuntimeError(f"the database at {args.database_url} does not answer")
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            raise RuntimeError(f"expected 'go' on stdin, got {line!r}")
        outcomes: Counter[str] = Counter()
        refusals: Counter[str] = Counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(args.calls):
                group.create_task(_one_call(client, outcomes, refusals))
        return {
            "ok": outcomes.pop("ok", 0),
            "rate_limited": outcomes.pop("rate_limited", 0),
            "rate_limited_messages": dict(refusals),
            "errors": dict(outcomes),
            "mints": client.tokens.mints,
        }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.budget_worker")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--budget", type=int, required=True, help="calls a minute; 0 is off")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=20.0)
    result = asyncio.run(run(parser.parse_args()))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
