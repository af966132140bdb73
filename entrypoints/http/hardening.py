"""HTTP hardening (ADR 0008): body size and JSON depth limits, security headers on every answer, `Cache-Control:
no-store` on API answers, and failed authentication slowed per client."""

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

SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
"""JSON answers load nothing and are never framed."""
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)
"""The /schema page: Swagger UI from this server only (its start-up script is inline), nothing from elsewhere."""
NO_STORE_PREFIXES = ("/api/", "/metrics")


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


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook (it sees every answer, an unrouted 404 too): the default security headers (an answer may
    set its own first), `no-store` on API and metrics answers, and a Content-Security-Policy fit for the answer (the
    docs page may run its own scripts)."""
    if message["type"] != "http.response.start":
        return
    path = str(scope.get("path", ""))
    extra = [*SECURITY_HEADERS, (b"content-security-policy", DOCS_CSP if path.startswith("/schema") else API_CSP)]
    if path.startswith(NO_STORE_PREFIXES):
        extra.append((b"cache-control", b"no-store"))
    headers = list(message.get("headers", []))
    present = {bytes(name).lower() for name, _ in headers}
    message["headers"] = headers + [(name, value) for name, value in extra if name not in present]


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
