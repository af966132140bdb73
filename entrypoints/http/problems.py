"""Errors to HTTP, in one place: the exception handlers that answer each error with an RFC 9457 problem document
(`application/problem+json`; the status each error answers: entrypoints/shared/errors.py). How the OpenAPI document
describes these answers: `response_specs.py`; how bodies are read before a route runs: `request_bodies.py`."""

from __future__ import annotations

import dataclasses
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.types import ExceptionHandlersMap

from application.errors import ImportInvalid, InvalidInput, SettingInvalid, StorageError, UseCaseError
from entrypoints.shared.errors import log_unexpected, storage_status, use_case_status
from entrypoints.shared.pagination import CURSOR
from entrypoints.shared.settings import BASE_URL
from entrypoints.shared.values import MULTI_LINE, RFC3339, RUN_STATUSES, SINGLE_LINE

MEDIA_TYPE = "application/problem+json"
FIELD_IN_MESSAGE = re.compile(r"field `([^`]+)`")
MISSING_PARAMETER = re.compile(r"^Missing required (\w+) parameter '([^']+)'")

PATTERN_WORDS = {
    RUN_STATUSES: "Run statuses, comma-separated: success, warning, error, missed.",
    RFC3339: "A date and time in RFC 3339 with its offset, such as 2026-01-15T02:10:00Z.",
    SINGLE_LINE: "One line of text, without control characters.",
    MULTI_LINE: "Text without control characters (tabs and line breaks are allowed).",
    CURSOR: "The previous page's next_cursor, exactly as it was given.",
    BASE_URL: "An http:// or https:// URL on one line.",
}
"""What each pattern the API checks allows, in words: a mismatch says this, never the regex (msgspec names it by its
repr)."""

HTTP_CODES = {
    400: InvalidInput.code,
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


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
    """The database failed (`storage_status`: 503 or 422, the reason logged, nothing stored)."""
    status = storage_status(request, error)
    if status == 500:
        return internal_error()
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
    code = getattr(error, "code", None) or HTTP_CODES.get(status, "bad_request" if status == 400 else "client_error")
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
    return {"field": _field(key, message), "message": _pattern_in_words(message)}


def _pattern_in_words(message: str) -> str:
    """A regex mismatch as what the value may be; any other message as it is."""
    for pattern, words in PATTERN_WORDS.items():
        if f"matching regex {pattern!r}" in message:
            return words
    return message


def _field(key: str, message: str) -> str:
    """The field a validation error names (msgspec names a missing or unknown field only in its message)."""
    if key in ("", "data"):
        named = FIELD_IN_MESSAGE.search(message)
        return named.group(1) if named else "body"
    return key


def on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[dict[str, Any]]:
    """A true bug: logged with its traceback, answered with a generic problem that reveals nothing."""
    log_unexpected(request, error)
    return internal_error()


def internal_error() -> Response[dict[str, Any]]:
    return problem(500, "internal_error", "Something went wrong on our side; it has been logged.")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    UseCaseError: on_use_case_error,
    StorageError: on_storage_error,
    HTTPException: on_http_error,
    Exception: on_unexpected,
}
