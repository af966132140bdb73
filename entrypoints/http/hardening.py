"""HTTP hardening (ADR 0008): body size and JSON depth limits, `OPTIONS` answers, and failed authentication slowed per
client. The security headers are in entrypoints/shared/headers.py (ADR 0037)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 4 * 1024 * 1024
"""A request body above this many bytes is refused with 413 payload_too_large before it is read whole."""
MAX_JSON_DEPTH = 32
"""JSON nested deeper than this (arrays and objects) is refused with 400 invalid_input; the deepest body the API
takes is 3 levels (a run, its objects, one object)."""


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether decoded JSON nests arrays/objects deeper than `limit` (iterative: no recursion on hostile input)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            if isinstance(item, dict | list)
            for child in (item.values() if isinstance(item, dict) else item)
        ]
        if not level:
            return False
    return any(isinstance(item, dict | list) for item in level)


def allowed_methods(app: Litestar) -> dict[str, str]:
    """Each HTTP route's path template → its `Allow` header (every method it answers)."""
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format, set()).update(route.methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


def options_allow(allowed: dict[str, str]) -> Callable[[ASGIApp], ASGIApp]:
    """`OPTIONS` answers `Allow` with every method of the route (Litestar lists only the first handler's methods when
    one path has handlers for several methods)."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
                await app(scope, receive, send)
                return

            async def send_with_allow(message: Message) -> None:
                allow = allowed.get(str(scope.get("path_template", "")))
                if message["type"] == "http.response.start" and allow and message["status"] < 300:
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                    message["headers"] = [*headers, (b"allow", allow.encode())]
                await send(message)

            await app(scope, receive, send_with_allow)

        return handle

    return middleware


class AuthThrottle:
    """Failed authentication slowed per client, in this process: each failure within `window` seconds of the previous
    one doubles the delay before the 401 (from `base` up to `cap` seconds). At most `clients` addresses are tracked (the
    least recently failing are forgotten first), so memory stays bounded whatever a client sends."""

    def __init__(
        self,
        *,
        base: float = 0.05,
        cap: float = 2.0,
        window: float = 60.0,
        clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base, self.cap, self.window, self.clients = base, cap, window, clients
        self.clock, self.sleep = clock, sleep
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def delay(self, client: str) -> float:
        """Record one failure of `client` and answer how long to hold its 401."""
        now = self.clock()
        count, last = self._failures.pop(client, (0, now))
        count = count + 1 if now - last <= self.window else 1
        self._failures[client] = (count, now)
        while len(self._failures) > self.clients:
            self._failures.popitem(last=False)
        return min(self.cap, self.base * 2.0 ** min(count - 1, 64))

    async def failed(self, client: str) -> None:
        await self.sleep(self.delay(client))

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)
