"""The status each error answers, for both entrypoints (the API as a problem document, the pages as an error page),
and the log lines of the errors a client is not told the reason of."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request

from application.errors import (
    AutotaskRejected,
    AutotaskUnavailable,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    StorageError,
    StorageRefused,
    StorageUnavailable,
    Unprocessable,
    UseCaseError,
)

LOGGER = logging.getLogger("backupchecks.http")
USE_CASE_STATUS: tuple[tuple[type[UseCaseError], int], ...] = (
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Unprocessable, 422),
    (InvalidInput, 400),
    (AutotaskRejected, 502),
    (AutotaskUnavailable, 503),
)
STORAGE_STATUS = {StorageUnavailable: 503, StorageRefused: 422}


def use_case_status(error: UseCaseError | type[UseCaseError]) -> int:
    kind = error if isinstance(error, type) else type(error)
    return next((status for cls, status in USE_CASE_STATUS if issubclass(kind, cls)), 500)


def storage_status(request: Request[Any, Any, Any], error: StorageError) -> int:
    """The database failed: 503 when it did not answer (as /ready says), 422 when it refused a value; nothing was
    stored either way. The driver's reason (parameters masked) goes to the log, not to the client. 500 (logged as
    `log_unexpected` does) for a storage error of no known kind."""
    status = next((s for cls, s in STORAGE_STATUS.items() if isinstance(error, cls)), None)
    if status is None:
        log_unexpected(request, error)
        return 500
    LOGGER.warning("storage error on %s %s: %s", request.method, _route(request), error.reason)
    return status


def log_unexpected(request: Request[Any, Any, Any], error: Exception) -> None:
    """A true bug: logged with its traceback (the answer reveals nothing)."""
    LOGGER.error("unhandled error on %s %s", request.method, _route(request), exc_info=error)


def _route(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("path_template", request.url.path))
