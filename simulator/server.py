"""A real uvicorn serving the simulator on a loopback port, for what needs real sockets."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Self

import uvicorn

from simulator.app import create_simulator_app
from simulator.state import QikinkSimulator

if TYPE_CHECKING:
    from types import TracebackType

    from starlette.types import ASGIApp

__all__ = ["AppServer", "SimulatorServer"]


class AppServer:
    """Serves an ASGI app from a background thread; `with AppServer(app) as server: server.url`.

    `start()` returns once uvicorn is accepting, and fails loudly if it could not start.
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("the simulator server is already running")
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.url = f"http://{self.host}:{self.port}"
        # log_config=None leaves the host process's logging alone.
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._socket = listener
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [listener]},
            name="qikink-simulator",
            daemon=True,
        )
        self._thread.start()
        self._wait_until_started()
        return self

    def _wait_until_started(self, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while self._server is not None and not self._server.started:
            if self._thread is None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the simulator's uvicorn died while starting")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the simulator's uvicorn did not start within {within} s")
            time.sleep(0.002)

    def _before_stop(self) -> None:
        """A hook for subclasses: end whatever would hold the graceful shutdown open."""

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._before_stop()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class SimulatorServer(AppServer):
    """The simulator on a real loopback port: `with SimulatorServer() as server: server.url`."""

    def __init__(
        self, sim: QikinkSimulator | None = None, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.sim = sim if sim is not None else QikinkSimulator()
        super().__init__(create_simulator_app(self.sim), host=host, port=port)

    def _before_stop(self) -> None:
        # Injected delays would otherwise hold uvicorn's graceful shutdown open.
        self.sim.wake()
