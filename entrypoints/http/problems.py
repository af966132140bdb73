"""Errors to HTTP, in one place: the status each error answers and the exception handlers that answer it with an
RFC 9457 problem document (`application/problem+json`). How the OpenAPI document describes these answers:
`response_specs.py`; how bodies are read before a route runs: `request_bodies.py`."""

from __future__ import annotations

import dataclasses
import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.types import ExceptionHandlersMap

from application.errors import (
    AutotaskRejected,
    AutotaskUnavailable,
    Conflict,
    Forbidden,
    ImportInvalid,
    InvalidInput,
    NotFound,
    SettingInvalid,
    StorageError,
    StorageRefused,
    StorageUnavailable,
    Unprocessable,
    UseCaseError,
)

MEDIA_TYPE = "application/problem+json"
FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")
MISSING_PARAMETER = re.compile(r"^Missing required (\w+) parameter '([^']+)'")
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
HTTP_CODES = {
    400: InvalidInput.code,
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}
STORAGE_STATUS = {StorageUnavailable: 503, StorageRefused: 422}


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"urn:backupchecks:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def use_case_status(error: UseCaseError | type[UseCaseError]) -> int:
    kind = error if isinstance(error, type) else type(error)
    return next((status for cls, status in USE_CASE_STATUS if issubclass(kind, cls)), 500)


def on_use_case_error(_: Request[Any, Any, Any], error: UseCaseError) -> Response[dict[str, Any]]:
    status = use_case_status(error)
    if status == 500:
        return on_unexpected(_, error)
    named = error if isinstance(error, InvalidInput | SettingInvalid) else None
    errors: list[dict[str, Any]] | None = [{"field": named.field, "message": named.message}] if named else None
    if isinstance(error, ImportInvalid):
        errors = [dataclasses.asdict(e) for e in error.errors]
    return problem(status, error.code, error.message, errors=errors)


def on_storage_error(request: Request[Any, Any, Any], error: StorageError) -> Response[dict[str, Any]]:
    """The database failed: 503 when it did not answer (as /ready says), 422 when it refused a value; nothing was
    stored either way. The driver's reason (parameters masked) goes to the log, not to the client."""
    status = next((s for cls, s in STORAGE_STATUS.items() if isinstance(error, cls)), None)
    if status is None:
        return on_unexpected(request, error)
    LOGGER.warning(
        "storage error on %s %s: %s", request.method, request.scope.get("path_template", request.url.path), error.reason
    )
    headers = {"Retry-After": "5"} if status == 503 else None
    return problem(status, error.code, error.message_default, headers=headers)


def on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[dict[str, Any]]:
    status = error.status_code
    if status >= 500:
        return on_unexpected(request, error)
    if isinstance(error, ValidationException):
        return problem(400, InvalidInput.code, "The request is not valid.", errors=_validation_errors(error))
    if isinstance(error, NotAuthorizedException):
        return problem(401, "unauthorized", "A valid bearer token is needed.", headers={"WWW-Authenticate": "Bearer"})
    code = HTTP_CODES.get(status, "bad_request" if status == 400 else "client_error")
    detail = [{"field": "body", "message": str(error.detail)}] if status == 400 else None
    return problem(status, code, str(error.detail), errors=detail, headers=error.headers)


def _validation_errors(error: ValidationException) -> list[dict[str, str]]:
    """One `{"field", "message"}` per problem, in words meant for the client (never an exception's own text)."""
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [_field_error(e) for e in extra if isinstance(e, dict)]
    if errors:
        return errors
    missing = MISSING_PARAMETER.match(str(error.detail))  # a required path/query parameter left out
    if missing:
        kind, name = missing.groups()
        return [{"field": name, "message": f"The {kind} parameter {name} is required."}]
    return [{"field": "body", "message": "The request is not valid."}]


def refused_fields(error: ValidationException) -> list[str]:
    """The names of the values a validation error refused (for the audit record: names, never values)."""
    return [e["field"] for e in _validation_errors(error)]


def _field_error(error: dict[str, Any]) -> dict[str, str]:
    key, message = str(error.get("key") or ""), str(error.get("message", ""))
    if key and message == f"'{key}'":  # a KeyError's text: the value is absent (a body never sent is `data`)
        if key == "data":
            return {"field": "body", "message": "A JSON object is required."}
        return {"field": key, "message": "This value is required."}
    return {"field": _field(key, message), "message": message}


def _field(key: str, message: str) -> str:
    """The field a validation error names (msgspec names a missing or unknown field only in its message)."""
    if key in ("", "data"):
        named = FIELD_IN_MESSAGE.search(message)
        return named.group(1) if named else "body"
    return key


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    """A true bug: logged with its traceback, answered with a generic problem that reveals nothing."""
    LOGGER.error(
        "unhandled error on %s %s", request.method, request.scope.get("path_template", request.url.path), exc_info=error
    )
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    UseCaseError: on_use_case_error,
    StorageError: on_storage_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
