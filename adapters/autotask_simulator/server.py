"""Running the simulator over real HTTP: in a background thread for tests and the demo, or blocking for the CLI."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from .app import create_app
from .simulator import Simulator


@contextmanager
def running_simulator(sim: Simulator, startup_timeout: float = 10.0) -> Iterator[str]:
    """Serve `sim` on 127.0.0.1 at a free port; yields the zone-discovery base `http://127.0.0.1:PORT/atservicesrest`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(sim), log_level="warning", lifespan="off", access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"autotask-simulator-{port}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the Autotask simulator did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}/atservicesrest"
    finally:
        server.should_exit = True
        thread.join(timeout=startup_timeout)
        sock.close()


def serve(host: str, port: int, sim: Simulator | None = None) -> None:
    """Serve a simulator (the seeded one by default) until interrupted; for `backupchecks simulator`."""
    uvicorn.run(
        create_app(sim if sim is not None else Simulator.seeded()),
        host=host,
        port=port,
        log_level="info",
        log_config=None,
    )  # the process formats every logger (entrypoints/logs.py)
