"""Every answer's security headers, defined once (ADR 0008, ADR 0037): the defaults of every answer (`security_headers`,
a `before_send` hook that also sees an unrouted 404), and the stricter set of the web pages (`page_headers`)."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.types import Message, Scope

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

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


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


def page_headers(response: Response[Any]) -> Response[Any]:
    """Every web answer: a strict CSP (no inline script), no framing, no sniffing, no cross-site Referer, no caching
    of pages that may show data."""
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Cache-Control", "no-store")
    return response
