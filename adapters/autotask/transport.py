"""One Autotask request: concurrency cap, timing, logging with secrets redacted, error translation, and retries.

Everything httpx raises or answers is turned into the PSA port's own errors here; nothing above this module sees httpx.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from application.ports import (
    AuthFailure,
    InFlightBudget,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaNotFound,
    PsaRejected,
    PsaUnavailable,
)
from domain.settings import ApiLogLevel

from .wire import ErrorAnswer, convert

MAX_RETRY_AFTER = 30.0
"""A request waits at most this long for one retry; a longer Retry-After (the hourly budget is spent) is reported as
throttling at once instead of holding the caller for minutes."""

MAX_BACKOFF = 4.0
MAX_THROTTLE_RETRIES = 30
"""Thread-limit refusals are retried until the deadline, and at most this often."""

UNSENDABLE = (
    "The request was not sent to Autotask: a credential or the address holds characters HTTP cannot carry (only "
    "visible ASCII); enter the API username, password and tracking identifier again in the settings."
)
_THROTTLE = re.compile(r"thread|threshold|too many requests|rate limit", re.IGNORECASE)
_PERMISSION = re.compile(r"permission", re.IGNORECASE)
_UNKNOWN_ZONE = re.compile(r"zone information could not be determined", re.IGNORECASE)
_BAD_INTEGRATION = re.compile(r"integration ?code is invalid", re.IGNORECASE)
_BAD_LOGIN = re.compile(
    r"""(?ix)
    authorization\ has\ been\ denied                                  # ASP.NET's own 401 words
    | \A\W*unauthori[sz]ed\W*\Z
    | invalid\ (api\ )?(credentials?|secret|password)
    | invalid\ user\ ?name\ or\ (password|secret)
    | user\ ?name\ or\ (password|secret)\ (is\ )?(invalid|incorrect|wrong)
    | (secret|password|credentials?)\ (is|are|was|were)\ (invalid|incorrect|wrong|not\ valid)
    | account\ (has\ been|is)\ locked
    | \b(login|authentication)\ failed
    """
)
"""A refused login in Autotask's words. Wrong secrets answer `401`, but some tenants answer `500` with these words: that
is a refused credential too (never retried, remembered so the API user is not locked), not a rejection or an outage."""
_USER_PARAM = re.compile(r"(?i)([?&]user=)[^&]*")
_JSON_TYPE = re.compile(r"(application|text)/([\w.-]+\+)?json")
"""Autotask answers `application/json` (its Swagger also names `text/json`). A success in any other media type is never
one, even when the body happens to parse: during maintenance Autotask answers `200` with an HTML page (`text/html`), so
a write's outcome is then unknown (`maybe_applied`, reconciled by externalID as after a timeout) and a read has no
answer. An answer naming no media type at all is judged by its body."""


class Unauthorized(PsaAuthError):
    """401: the gateway re-discovers the zone once before it believes the secret is wrong."""

    def __init__(self, message: str) -> None:
        super().__init__(AuthFailure.BAD_SECRET, message or "Unauthorized: the API user or secret is wrong.")


class MethodRefused(PsaRejected):
    """405: the tenant does not support this verb on this entity."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    endpoint: str
    """A template naming the endpoint, like "GET Tickets/{id}" (metrics, logs; its entity keys the in-flight budget)."""
    body: Any = None
    write: bool = False
    """It changes something: never retried unless the PSA surely did not receive it."""
    headers: dict[str, str] | None = field(default=None, repr=False)


class _Throttled(PsaUnavailable):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message, throttled=True)
        self.retry_after = retry_after


@dataclass
class Transport:
    """The shared request machinery of one connector: sends one Autotask request with its cap, retries and logging."""

    client: Callable[[], httpx.AsyncClient]
    logger: logging.Logger
    retries: int
    backoff_base: float
    budget: InFlightBudget
    """Autotask's 3 requests in flight per tracking identifier and entity, whatever the method (all processes)."""
    deadline: float
    """Seconds a request may spend waiting for a slot and retrying thread-limit refusals."""
    on_request: Callable[[str, str], None] | None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    now: Callable[[], float] = time.monotonic

    async def send(
        self,
        request: Request,
        *,
        tenant: str | None,
        log_level: ApiLogLevel,
        secrets: tuple[str, ...],
        count: Callable[[], None],
    ) -> Any:
        """Send with retries; answer the decoded JSON body (None when empty). `tenant` (a digest of the tracking
        identifier) keys the in-flight budget with the entity, the endpoint's first segment (None: exempt, as zone
        discovery is). A throttling refusal was not processed: it is retried, writes included, until the deadline."""
        ends = self.now() + self.deadline
        attempt = 0
        while True:
            try:
                if tenant is None:
                    count()
                    return await self._once(request, log_level, secrets)
                entity = request.endpoint.partition(" ")[2].split("/")[0]
                try:
                    async with self.budget.slot(f"{tenant}:{entity}", max(ends - self.now(), 0.0)):
                        count()
                        return await self._once(request, log_level, secrets)
                except TimeoutError:
                    raise PsaUnavailable(
                        f"Autotask's {entity} requests stayed busy (3 in flight at most) for "
                        f"{self.deadline:g} seconds.",
                        throttled=True,
                    ) from None
            except PsaUnavailable as error:
                retry_after = getattr(error, "retry_after", None)
                attempt += 1
                delay = self._delay(attempt, retry_after)
                if error.throttled and retry_after is None:
                    give_up = attempt > MAX_THROTTLE_RETRIES or self.now() + delay > ends
                else:
                    give_up = (
                        attempt > self.retries
                        or (request.write and error.maybe_applied)
                        or (retry_after is not None and retry_after > MAX_RETRY_AFTER)
                    )
                if give_up:
                    raise
                await self.sleep(delay)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return max(retry_after, 0.0)
        return float(min(self.backoff_base * (2 ** (attempt - 1)), MAX_BACKOFF) * random.uniform(0.5, 1.5))

    async def _once(self, request: Request, log_level: ApiLogLevel, secrets: tuple[str, ...]) -> Any:
        started = time.perf_counter()
        status: int | str
        try:
            content = None if request.body is None else msgspec.json.encode(request.body)
            response = await self.client().request(
                request.method, request.url, content=content, headers=request.headers
            )
            status = response.status_code
            result = _translate(response, request.write)
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            status = type(error).__name__
            result = _transport_error(error, request.write)
        except UnicodeEncodeError:  # a header (a credential) or the address holds what HTTP cannot carry: never sent
            status = "UnicodeEncodeError"
            result = PsaRejected(UNSENDABLE)
        duration_ms = (time.perf_counter() - started) * 1000
        outcome = _outcome(result)
        if self.on_request is not None:
            self.on_request(request.endpoint, outcome)
        if log_level is ApiLogLevel.REQUESTS or (log_level is ApiLogLevel.ERRORS and outcome != "ok"):
            detail = f": {result.message}" if isinstance(result, PsaError) else ""
            url = _USER_PARAM.sub(r"\1***", request.url)
            line = f"{request.method} {url} -> {status} in {duration_ms:.0f} ms"
            self.logger.log(logging.INFO if outcome == "ok" else logging.WARNING, "%s", _redact(line + detail, secrets))
        if isinstance(result, PsaError):
            result.message = _redact(result.message, secrets)  # Autotask or a proxy may echo what it was sent
            result.args = (result.message,)
            raise result
        return result


class RedactUserParam(logging.Filter):
    """httpx logs every request URL at INFO; zone discovery carries the API username in `?user=`. This filter, put on
    the "httpx" logger by the connector, blanks it there too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _USER_PARAM.sub(r"\1***", str(a)) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


def redact_httpx_log() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactUserParam) for f in httpx_logger.filters):
        httpx_logger.addFilter(RedactUserParam())


def _redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _outcome(result: Any) -> str:
    if not isinstance(result, PsaError):
        return "ok"
    if isinstance(result, PsaUnavailable):
        return "throttled" if result.throttled else "unavailable"
    return "error"


def _transport_error(error: httpx.HTTPError | httpx.InvalidURL, write: bool) -> PsaUnavailable:
    """Did the request reach the server? Not when the connection (or a pooled one) never came or the URL was unusable;
    maybe otherwise (a lost answer, or one that could not be decoded)."""
    unsent = isinstance(
        error,
        httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.InvalidURL | httpx.UnsupportedProtocol,
    )
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "failed"
    message = f"The request to Autotask {kind} ({type(error).__name__})."
    return PsaUnavailable(message, maybe_applied=write and not unsent)


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait, from delay-seconds or an HTTP date (a date without a zone is UTC); None when unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return seconds if math.isfinite(seconds) else None


def _message(response: httpx.Response) -> tuple[str, bool, bool]:
    """Autotask's own words; whether they came as an `errors` list; whether as JSON at all (an `errors` list or a
    `Message`), rather than a proxy's page."""
    try:
        answer = convert(response.json(), ErrorAnswer)
    except (ValueError, PsaUnavailable):
        return response.text.strip()[:500] or response.reason_phrase, False, False
    return answer.text() or response.reason_phrase, bool(answer.errors), bool(answer.text())


def _content_type(response: httpx.Response) -> str:
    """The answer's media type, lower case and without parameters ("" when it names none)."""
    kind: str = response.headers.get("Content-Type", "")
    return kind.split(";", 1)[0].strip().lower()


def _not_json(status: int, kind: str) -> str:
    if "html" in kind:
        return f"Autotask answered {status} with an HTML page, not JSON (maintenance?)."
    return f"Autotask answered {status} with {kind[:100]}, not JSON."


def _translate(response: httpx.Response, write: bool) -> Any:
    """The decoded answer, or the port error it means (returned, not raised, so the caller logs it first)."""
    status = response.status_code
    if 200 <= status < 300:
        if not response.content:
            return None
        kind = _content_type(response)
        if kind and not _JSON_TYPE.fullmatch(kind):
            return PsaUnavailable(_not_json(status, kind), maybe_applied=write)
        try:
            return response.json()
        except ValueError:
            return PsaUnavailable(f"Autotask answered {status} with a body that is not JSON.", maybe_applied=write)
    message, has_errors, worded = _message(response)
    if status == 429 or (status >= 500 and worded and _THROTTLE.search(message)):
        return _Throttled(message or "Throttled by Autotask.", _retry_after(response.headers.get("Retry-After")))
    if worded and _UNKNOWN_ZONE.search(message):
        return PsaAuthError(AuthFailure.UNKNOWN_USER, message)
    if worded and _BAD_INTEGRATION.search(message):
        return PsaAuthError(AuthFailure.BAD_TRACKING_IDENTIFIER, message)
    if status == 401 or (status >= 500 and worded and _BAD_LOGIN.search(message)):
        return Unauthorized(message)
    if status == 403 or (status >= 500 and _PERMISSION.search(message)):
        return PsaForbidden(message)
    if status == 404:
        return PsaNotFound(message)
    if status == 405:
        return MethodRefused(message)
    if status >= 500 and not has_errors:
        return PsaUnavailable(f"Autotask answered {status}: {message}", maybe_applied=write)
    return PsaRejected(message)
