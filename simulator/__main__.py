"""Run the fake Qikink as its own process: `python -m simulator --port 8765`."""

from __future__ import annotations

import argparse

import uvicorn

from simulator.app import create_simulator_app
from simulator.state import QikinkSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--client-id", default="123456789012345")
    parser.add_argument("--client-secret", default="sim-secret")
    parser.add_argument("--account-number", default="654367")
    parser.add_argument("--rate-limit", type=int, default=30, help="per minute; 0 disables it")
    parser.add_argument(
        "--token-expires-in",
        type=int,
        default=3600,
        help="seconds; 0 omits expires_in from the token reply",
    )
    parser.add_argument(
        "--known-sku", action="append", help="repeat to accept only these SKUs (default: any)"
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds every reply takes (default 0)"
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    sim = QikinkSimulator(
        client_id=args.client_id,
        client_secret=args.client_secret,
        account_number=args.account_number,
        rate_limit_per_minute=args.rate_limit,
        token_expires_in=args.token_expires_in or None,
        known_skus=set(args.known_sku) if args.known_sku else None,
        latency_seconds=args.latency,
    )
    uvicorn.run(
        create_simulator_app(sim),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
