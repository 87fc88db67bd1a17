"""The service as a merchant runs it, `qikink-graphql serve` on a loopback port, black-box;
and the one way tests and benches run a child process: `run` (to its end) and `spawn` (in the
background, in a process group of its own that `end_process_group` ends), or from async code
`spawn_async` and `end_process_group_async`.

Used by the GraphQL-over-HTTP audit, the fuzz run, the admin UI tests (with a key and a client
on top, tests/admin_browser.py) and the Medusa end-to-end test: all talk to the real process
over real HTTP. The server gets a fresh SQLite database in its own folder (also its working
directory, so no `.env` of the checkout is read), `APP_ENV=test`, no periodic sync, and no
service setting inherited from the caller's environment: unless the caller passes Qikink
settings, it runs against its built-in simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import httpx

from config import Settings
from tests.waiting import wait_for

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

__all__ = [
    "PROJECT_ROOT",
    "LiveServer",
    "cli_executable",
    "end_process_group",
    "end_process_group_async",
    "environ_without_settings",
    "free_port",
    "require_tool",
    "run",
    "spawn",
    "spawn_async",
    "tail",
]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # migrating and importing on a loaded CI machine takes a few seconds
STOP_GRACE = 10.0
# Every setting the service reads: none is inherited from the caller's shell, so nothing
# points the server away from its simulator or changes how it runs.
_SETTINGS = frozenset(name.upper() for name in Settings.model_fields)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_tool(name: str, why: str) -> str:
    """The full path of the executable `name`; a clear error naming `why` when it is missing."""
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"`{name}` is not on PATH: {why}")
    return path


def cli_executable() -> str:
    """The console script of the virtualenv running this Python (`.venv/bin/qikink-graphql`),
    as a merchant runs it."""
    beside = Path(sys.executable).with_name("qikink-graphql")
    if beside.exists():
        return str(beside)
    return require_tool("qikink-graphql", "install the project (`make test` does)")


def end_process_group(process: subprocess.Popen[bytes], *, grace: float = STOP_GRACE) -> int | None:
    """SIGTERM the group `process` leads (started with start_new_session), then SIGKILL;
    its exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=grace)
    return process.returncode


def run(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
    log: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` to its end (killed after `timeout` s): its output captured as text, or
    appended to `log`. The exit code is the caller's to judge."""
    common: dict[str, Any] = {"cwd": cwd, "env": env, "timeout": timeout, "check": False}
    if log is None:
        return subprocess.run(argv, capture_output=True, text=True, **common)
    with log.open("ab") as out:
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, **common)
    return subprocess.CompletedProcess(done.args, done.returncode, "", "")


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path,
) -> subprocess.Popen[bytes]:
    """Start `argv` in the background, output appended to `log`, in a process group of its own
    (so `end_process_group` ends whatever it starts too)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def spawn_async(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    talk: bool = False,
) -> asyncio.subprocess.Process:
    """`spawn` for async code, in a process group of its own: output appended to `log`; with
    `talk`, stdin and stdout are pipes the caller speaks over (stderr still to `log`); with no
    `log`, stdout is a pipe that stderr joins, to read as it comes."""
    pipe = asyncio.subprocess.PIPE
    with contextlib.ExitStack() as files:
        out = files.enter_context(log.open("ab")) if log is not None else None
        return await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=env,
            stdin=pipe if talk else asyncio.subprocess.DEVNULL,
            stdout=pipe if talk or out is None else out,
            stderr=asyncio.subprocess.STDOUT if out is None else out,
            start_new_session=True,
        )


async def end_process_group_async(
    process: asyncio.subprocess.Process, *, grace: float = STOP_GRACE
) -> int | None:
    """`end_process_group` for a process `spawn_async` started, awaited."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout=grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    return process.returncode


def environ_without_settings() -> dict[str, str]:
    """This process's environment less every setting the service reads: a child given it
    (and its own settings on top) runs as told, whatever the caller's shell holds."""
    return {key: value for key, value in os.environ.items() if key.upper() not in _SETTINGS}


def tail(path: Path, lines: int = 150) -> str:
    if not path.exists():
        return f"({path} was never written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


class LiveServer:
    """`with LiveServer(workdir) as server:` serves on `server.graphql_url` until the block ends.

    `workers` > 1 runs `serve --workers N` (uvicorn's worker processes), ready once every
    worker has logged its start-up (so LOG_LEVEL must be INFO or DEBUG).
    """

    def __init__(
        self,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        *,
        workers: int = 1,
        executable: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.workers = workers
        # Another install's `qikink-graphql` (a wheel's, in a virtualenv of its own).
        self.executable = executable or cli_executable()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.graphql_url = f"{self.url}/graphql"
        self.log_path = workdir / "server.log"
        self.env: dict[str, str] = {
            **environ_without_settings(),
            "APP_ENV": "test",
            # Three slashes and an absolute path: Tortoise's form for an absolute SQLite file.
            "DATABASE_URL": f"sqlite://{workdir / 'live.db'}",
            "SYNC_INTERVAL_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def cli(self, *args: str) -> str:
        """Run one `qikink-graphql` command on this server's database; its stdout."""
        done = run([self.executable, *args], cwd=self.workdir, env=self.env)
        if done.returncode != 0:
            raise RuntimeError(
                f"qikink-graphql {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def spawn(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start one long-running `qikink-graphql` command on this server's database and
        settings, output to `log`, in its own process group (so `end_process_group` ends
        whatever it started too)."""
        return spawn([self.executable, *args], cwd=self.workdir, env=self.env, log=log)

    def create_api_key(self, name: str) -> str:
        """A new admin API key (`create-api-key` prints it alone on its last line)."""
        return self.cli("create-api-key", name).strip().splitlines()[-1].strip()

    def start(self) -> None:
        """Start serving; after `stop()`, a restart of the same service (database, port)."""
        if self._process is not None:
            raise RuntimeError("the server is running already")
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start #{self.starts} =====\n".encode())
        self._process = self.spawn(
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            *(["--workers", str(self.workers)] if self.workers > 1 else []),
            log=self.log_path,
        )
        try:
            wait_for(
                self._healthy,
                within=START_TIMEOUT,
                what=f"{self.url}/ready answering",
                explain=lambda: tail(self.log_path),
            )
        except BaseException:
            self.stop()
            raise

    def _healthy(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {self._process.returncode} while starting:\n"
                f"{tail(self.log_path)}"
            )
        if self.workers > 1 and self.log().count("Application startup complete") < self.workers:
            return False
        try:
            # Ready, not only up: the database answers too.
            return httpx.get(f"{self.url}/ready", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> int | None:
        """Stop serving (SIGTERM, then SIGKILL after a grace); the exit code."""
        process, self._process = self._process, None
        if process is None:
            return None
        return end_process_group(process)

    @property
    def pid(self) -> int:
        """The serving process's id (its CPU and memory are read off /proc by the benches)."""
        if self._process is None:
            raise RuntimeError("the server is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
