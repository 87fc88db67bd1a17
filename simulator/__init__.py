"""A faithful, controllable fake of the Qikink print-on-demand API (see qikink-api.md)."""

from __future__ import annotations

from simulator.app import create_simulator_app
from simulator.clock import ManualClock
from simulator.server import AppServer, SimulatorServer
from simulator.state import ENDPOINTS, FAULT_KINDS, QikinkSimulator, SimRequest

__all__ = [
    "ENDPOINTS",
    "FAULT_KINDS",
    "AppServer",
    "ManualClock",
    "QikinkSimulator",
    "SimRequest",
    "SimulatorServer",
    "create_simulator_app",
]
