"""What the admin UI tests need around a browser: Debian's Chromium and a live server.

The browser is Debian's `chromium` package driven by Playwright (never a browser download);
when `/usr/bin/chromium` is missing it is installed with apt-get. The server is the real
`qikink-graphql serve` in a subprocess, pointed at a simulator this process runs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LiveServer",
    "ensure_chromium",
    "run_cli",
    "start_live_server",
    "unavailable",
]

CHROMIUM = Path("/usr/bin/chromium")
# A quiet browser: no background downloads, updates or sync, so nothing leaves the machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-domain-reliability",
]
CLI = Path(sys.executable).with_name("qikink-graphql")
# The service's own settings, cleared so a developer's environment cannot leak into the run.
_SETTING_PREFIXES = (
    "QIKINK_",
    "MEDUSA_",
    "RECONCILE_",
    "SUBMIT_",
    "SYNC_",
    "WORKER_",
)
_SETTINGS = {
    "APP_ENV",
    "DATABASE_URL",
    "JWT_SECRET",
    "RUN_WORKER",
    "GRAPHIQL_ENABLED",
    "INTROSPECTION_ENABLED",
    "CORS_ORIGINS",
    "LOG_LEVEL",
}


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine; fail in CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the admin UI tests may not be skipped)")
    pytest.skip(reason)


def ensure_chromium() -> str:
    """The path of Debian's Chromium, installing the package with apt-get when it is missing."""
    if CHROMIUM.exists():
        return str(CHROMIUM)
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        unavailable(f"{CHROMIUM} is missing and there is no apt-get to install Debian's chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt_get, "install", "-y", "-q", "chromium"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        # A fresh machine may have no package lists yet.
        subprocess.run(
            [apt_get, "update", "-q"], env=env, capture_output=True, text=True, timeout=600
        )
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not CHROMIUM.exists():
        tail = (done.stderr or done.stdout)[-1500:]
        unavailable(f"`apt-get install chromium` failed (exit {done.returncode}): {tail}")
    return str(CHROMIUM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """`qikink-graphql serve` running in a subprocess, with an admin API key for it."""

    url: str
    api_key: str
    process: subprocess.Popen[bytes]
    log_path: Path
    workdir: Path
    env: dict[str, str] = field(repr=False)
    http: httpx.Client = field(repr=False)

    def cli(self, *args: str) -> str:
        """Run `qikink-graphql ARGS` on this server's database; returns its last stdout line."""
        return run_cli(self.workdir, self.env, *args)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation as the admin; fail the test on any GraphQL error."""
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def wait_for(
        self, what: str, check: Callable[[], bool], *, within: float = 20.0, every: float = 0.1
    ) -> None:
        deadline = time.monotonic() + within
        while not check():
            if self.process.poll() is not None:
                raise AssertionError(f"the server died waiting for {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: still not true after {within} s")
            time.sleep(every)

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _server_env(workdir: Path, settings: dict[str, str]) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in _SETTINGS and not name.startswith(_SETTING_PREFIXES)
    }
    env.update(settings)
    env["DATABASE_URL"] = f"sqlite://{workdir / 'admin.db'}"
    return env


def run_cli(workdir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(CLI), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


def start_live_server(workdir: Path, settings: dict[str, str]) -> LiveServer:
    """Make an API key, start `serve` on a free port and wait for /health.

    Both run in `workdir` (so no `.env` of the checkout is read) with the service settings
    given, over a clean environment.
    """
    env = _server_env(workdir, settings)
    api_key = run_cli(workdir, env, "create-api-key", "admin-ui")
    port = _free_port()
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, headers={"authorization": f"Bearer {api_key}"}, timeout=10.0)
    server = LiveServer(url, api_key, process, log_path, workdir, env, http)

    def healthy() -> bool:
        try:
            return http.get("/health").status_code == 200
        except httpx.TransportError:
            return False

    try:
        server.wait_for("the server to answer /health", healthy, within=60)
    except BaseException:
        server.stop()
        raise
    return server
