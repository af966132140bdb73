"""An httpx transport to a Litestar app served in this event loop (the API's or the simulator's)."""

from __future__ import annotations

import httpx
from litestar import Litestar


def asgi_transport(app: Litestar) -> httpx.ASGITransport:
    # Litestar types the ASGI callable's scope and events as TypedDicts, httpx as plain dicts: the same call, two types.
    return httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's ASGI types are narrower than httpx's
