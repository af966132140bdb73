"""HTTP hardening (ADR 0008): body size and JSON depth limits, `OPTIONS` answers, and failed token checks limited per
client address (ADR 0035). The security headers are in entrypoints/shared/headers.py (ADR 0037)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.exceptions import TooManyRequestsException
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


class TooManyAttempts(TooManyRequestsException):
    """429: the client's address spent its budget of failed token checks; `Retry-After` says when one more fits."""

    code = "authentication_locked"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            detail=f"Too many failed token checks from this address: wait {retry_after} s before trying again.",
            headers={"Retry-After": str(retry_after)},
        )


@dataclass
class _Budget:
    """One address's failed token checks: `spent` (leaking away at the throttle's rate since `at`) and the checks in
    flight, each of which may still fail."""

    spent: float
    at: float
    in_flight: int = 0
    settled: asyncio.Event = field(default_factory=asyncio.Event)


class AuthThrottle:
    """Failed token checks limited per client address, in this process (ADR 0035): a token bucket of `burst` failures
    refilled at `rate` per second. A check is admitted only while its address's spent failures plus its checks in
    flight stay within the budget, so parallel guesses cannot overrun it (an admitted check that would not fit waits for
    one in flight to settle). An address whose failures alone fill the budget is refused (`limited` answers how many
    seconds until one more check fits) and its token is not checked at all. A success clears the address's failures. At
    most `clients` addresses are tracked (the least recently seen are forgotten first), so memory stays bounded
    whatever a client sends."""

    def __init__(
        self,
        *,
        burst: int = 10,
        rate: float = 1 / 6,
        clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst, self.rate, self.clients, self.clock = burst, rate, clients, clock
        self._budgets: OrderedDict[str, _Budget] = OrderedDict()

    def _budget(self, client: str) -> _Budget:
        now = self.clock()
        budget = self._budgets.pop(client, None) or _Budget(0.0, now)
        budget.spent, budget.at = max(0.0, budget.spent - (now - budget.at) * self.rate), now
        self._budgets[client] = budget
        while len(self._budgets) > self.clients:
            self._budgets.popitem(last=False)[1].settled.set()  # its waiters look again, at a budget of their own
        return budget

    async def admit(self, client: str) -> int | None:
        """Reserve one token check for `client`: None once admitted (report it with `failed` or `succeeded`), else
        the whole seconds until the address may try again (nothing reserved)."""
        while True:
            budget = self._budget(client)
            if budget.spent + 1 > self.burst:
                return max(1, math.ceil((budget.spent + 1 - self.burst) / self.rate))
            if budget.spent + budget.in_flight + 1 <= self.burst:
                budget.in_flight += 1
                return None
            budget.settled.clear()
            await budget.settled.wait()

    def failed(self, client: str) -> None:
        """The admitted check found no user: one failure spent."""
        self._settle(client, lambda spent: spent + 1)

    def succeeded(self, client: str) -> None:
        """The admitted check found a user: the address's failures are cleared."""
        self._settle(client, lambda _: 0.0)

    def released(self, client: str) -> None:
        """The admitted check could not run to an answer (the database failed): nothing spent."""
        self._settle(client, lambda spent: spent)

    def _settle(self, client: str, spend: Callable[[float], float]) -> None:
        budget = self._budget(client)
        budget.in_flight = max(0, budget.in_flight - 1)
        budget.spent = spend(budget.spent)
        budget.settled.set()
