"""The throughput bench's servers: the service (`qikink-graphql serve`) and the bare baseline,
each in its own process, with their CPU and memory read from /proc."""

from __future__ import annotations

import contextlib
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from throughput_ops import (
    BENCH_DIR,
    CLI,
    JWT_SECRET,
    METRICS_TOKEN,
    PROJECT_ROOT,
    START_TIMEOUT,
    STOP_TIMEOUT,
)

from tests.live_server import end_process_group, environ_without_settings, free_port, spawn
from tests.waiting import wait_for

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator

    from simulator import SimulatorServer


def child_env(**values: str) -> dict[str, str]:
    """This environment minus every service setting (no developer's shell leaks in)."""
    env = environ_without_settings()
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    env.update(values)
    return env


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    workers: int = 1

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    started = self.log.read_text(errors="replace")
                    return self.workers == 1 or (
                        started.count("Application startup complete") >= self.workers
                    )
            return False

        wait_for(ready, within=START_TIMEOUT, what=f"{self.name} started", explain=self.output)

    def processes(self) -> list[int]:
        """The server's process and its descendants (uvicorn's worker processes)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(children.get(pid, []))
        return found

    def peak_rss(self) -> list[tuple[int, str, float]]:
        """(pid, role, VmHWM in MB) of every process of the server."""
        rows = []
        for pid in self.processes():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
                if match is None:
                    continue
                if "resource_tracker" in cmdline:
                    role = "resource tracker"
                elif "spawn_main" in cmdline:
                    role = "worker"
                elif self.workers > 1:
                    role = "supervisor"
                else:
                    role = "worker"
                rows.append((pid, role, int(match.group(1)) / 1024))
        return rows

    def stop(self) -> None:
        # The server's own process group (start_new_session): nothing else is in it.
        end_process_group(self.proc, grace=STOP_TIMEOUT)


@contextlib.contextmanager
def running(
    name: str, argv: list[str], env: dict[str, str], port: int, workdir: Path, workers: int = 1
) -> Iterator[Server]:
    log = workdir / f"{name.replace(' ', '-')}-{secrets.token_hex(3)}.log"
    # In `workdir`: no developer's .env is read, no ./data is made.
    proc = spawn(argv, cwd=workdir, env=env, log=log)
    server = Server(name, f"http://127.0.0.1:{port}", proc, log, workers)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def graphql_server(database_url: str, workdir: Path, workers: int, qikink: SimulatorServer) -> Any:
    port = free_port()
    # `serve --workers N` refuses the in-process simulator: every server of the bench gets
    # the same one, on its own port (the reads measured here never call Qikink).
    env = child_env(
        DATABASE_URL=database_url,
        APP_ENV="test",
        JWT_SECRET=JWT_SECRET,
        METRICS_TOKEN=METRICS_TOKEN,
        RUN_WORKER="false",
        LOG_LEVEL="WARNING",
        QIKINK_API_URL=qikink.url,
        QIKINK_CLIENT_ID=qikink.sim.client_id,
        QIKINK_CLIENT_SECRET=qikink.sim.client_secret,
    )
    argv = [str(CLI), "serve", "--port", str(port), "--workers", str(workers)]
    return running(f"graphql x{workers}", argv, env, port, workdir, workers)


def bare_server(database_url: str, workdir: Path) -> Any:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "throughput_bare.py"), database_url, str(port)]
    return running("bare", argv, child_env(), port, workdir)
