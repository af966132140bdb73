"""One JSON line per request on the `backupchecks.http` logger, a request id on every answer, and the latency
histogram. Only the route template is logged (never the query string, never headers: they may carry a token)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.logs import Event
from entrypoints.metrics import Metrics

LOGGER = logging.getLogger("backupchecks.http")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_log(metrics: Metrics) -> Any:
    """A Litestar middleware factory bound to this app's metrics."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def handle(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            method = str(scope.get("method", ""))
            incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
            request_id = incoming if REQUEST_ID.match(incoming) else uuid.uuid4().hex
            status = 500
            started = time.perf_counter()

            async def send_with_id(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                await send(message)

            try:
                await app(scope, receive, send_with_id)
            finally:
                duration = time.perf_counter() - started
                route = scope.get("path_template") or "unmatched"
                metrics.request_latency.labels(method=method, route=route, status=str(status)).observe(duration)
                state = scope.get("state") or {}
                LOGGER.info(
                    Event(
                        "request",
                        request_id=request_id,
                        method=method,
                        route=route,
                        status=status,
                        user=state.get("user"),
                        duration_ms=round(duration * 1000, 2),
                    )
                )

        return handle

    return middleware
