"""The sync under test in bench/sale_day.py: `qikink-graphql sync` as a process of its own,
the source it started from, and the quiet minute between two runs."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from common import PROJECT_ROOT

from tests.live_server import cli_executable, end_process_group_async, spawn_async

if TYPE_CHECKING:
    from pathlib import Path

    from simulator import QikinkSimulator

# The budget's window is 60 s plus a second of slack, judged by when a call left; a little
# more lets the last call's own trip pass too, so run 2 finds the window truly empty.
QUIET_SECONDS = 62.0
# What the service and the syncs import. Were it edited between their starts, they ran
# different code and the two runs would not compare.
SERVICE_CODE = (
    "cli",
    "config.py",
    "models",
    "resolvers",
    "schema",
    "services",
    "simulator",
    "web",
)


def code_digest() -> str:
    """A digest of the service's source as it is on disk now."""
    digest = hashlib.sha256()
    for name in SERVICE_CODE:
        path = PROJECT_ROOT / name
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(PROJECT_ROOT)).encode() + b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


@dataclass
class SyncRun:
    label: str
    started_at: float = 0.0
    seconds: float = 0.0
    returncode: int | None = None
    code: str = ""
    lines: list[str] = field(default_factory=list)
    spawned: asyncio.Event = field(default_factory=asyncio.Event)

    def reported_calls(self) -> int | None:
        """The Qikink calls the sync says it made (its own count, the token left out)."""
        # Joined first: the terminal width may have wrapped the line anywhere.
        found = re.findall(r"(\d+)\s+Qikink\s+calls", " ".join(self.lines))
        return int(found[-1]) if found else None


async def run_sync(run: SyncRun, env: dict[str, str], cwd: Path, at_most: float) -> SyncRun:
    """`qikink-graphql sync` to its end, its lines printed as they come."""
    run.code = code_digest()
    started = time.perf_counter()
    run.started_at = time.time()
    # Its own group: a Ctrl-C meant for the bench reaches it only through
    # end_process_group_async. Its output, stderr too, is read as it comes.
    process = await spawn_async([cli_executable(), "sync"], cwd=cwd, env=env)
    run.spawned.set()
    try:
        async with asyncio.timeout(at_most):
            assert process.stdout is not None
            async for raw in process.stdout:
                for line in raw.decode(errors="replace").replace("\r", "\n").splitlines():
                    if line.strip():
                        run.lines.append(line.rstrip())
                        elapsed = time.time() - run.started_at
                        print(f"    sync ({run.label}, {elapsed:5.1f} s) | {line.rstrip()}")
            run.returncode = await process.wait()
        run.seconds = time.perf_counter() - started
    finally:
        await end_process_group_async(process)
    return run


async def wait_for_empty_window(sim: QikinkSimulator) -> None:
    announced = False
    while True:
        last = max((r.at for r in list(sim.requests)), default=0.0)
        remaining = last + QUIET_SECONDS - time.time()
        if remaining <= 0:
            return
        if not announced:
            print(f"  waiting {remaining:.0f} s for the budget's window to empty")
            announced = True
        await asyncio.sleep(min(remaining, 5.0))
