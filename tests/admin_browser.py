"""What the admin UI tests need around a browser: Debian's Chromium and a live server.

The browser is Debian's `chromium` package driven by Playwright (never a browser download);
when `/usr/bin/chromium` is missing it is installed with apt-get. The server is the real
`qikink-graphql serve` in a subprocess, pointed at a simulator this process runs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import httpx
import pytest

from tests import live_server, waiting

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "LiveServer",
    "ensure_chromium",
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
    done = live_server.run(install, env=env, timeout=900)
    if done.returncode != 0:
        # A fresh machine may have no package lists yet.
        live_server.run([apt_get, "update", "-q"], env=env, timeout=600)
        done = live_server.run(install, env=env, timeout=900)
    if done.returncode != 0 or not CHROMIUM.exists():
        tail = (done.stderr or done.stdout)[-1500:]
        unavailable(f"`apt-get install chromium` failed (exit {done.returncode}): {tail}")
    return str(CHROMIUM)


class LiveServer(live_server.LiveServer):
    """`qikink-graphql serve` in a subprocess (`tests.live_server`), with an admin API key
    for it and a client that signs in with that key."""

    def __init__(self, workdir: Path, settings: Mapping[str, str]) -> None:
        super().__init__(workdir, env=settings)
        self.api_key = ""
        self.http: httpx.Client | None = None

    def start(self) -> None:
        self.api_key = self.create_api_key("admin-ui")
        super().start()
        self.http = httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {self.api_key}"}, timeout=10.0
        )

    def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation as the admin; fail the test on any GraphQL error."""
        assert self.http is not None, "the server is not running"
        response = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def wait_for(
        self, what: str, check: Callable[[], bool], *, within: float = 20.0, every: float = 0.1
    ) -> None:
        def holds() -> bool:
            if check():
                return True
            if not self.running:
                raise AssertionError(f"the server died waiting for {what}:\n{self.log()[-4000:]}")
            return False

        waiting.wait_for(holds, within=within, every=every, what=what)

    def stop(self) -> int | None:
        if self.http is not None:
            self.http.close()
            self.http = None
        return super().stop()


def start_live_server(workdir: Path, settings: Mapping[str, str]) -> LiveServer:
    """Make an API key, start `serve` on a free port and wait for /health.

    Both run in `workdir` (so no `.env` of the checkout is read) with the service settings
    given, over an environment holding no other service setting.
    """
    server = LiveServer(workdir, settings)
    server.start()
    return server
