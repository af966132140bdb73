"""An Autotask REST v1.0 simulator: the other side of the Autotask contract, with faults you can switch on.

It shares no code with the client in `adapters.autotask` on purpose: a misreading of the contract must not pass on both
sides. Use `Simulator` (the tenant's state), `create_app(sim)` (the ASGI app), `running_simulator(sim)` (real HTTP in a
background thread) and `serve(host, port)` (blocking).
"""

from .app import create_app
from .server import running_simulator, serve
from .simulator import Fault, Simulator

__all__ = ["Fault", "Simulator", "create_app", "running_simulator", "serve"]
