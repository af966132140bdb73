"""Errors to HTTP, in one place: RFC 9457 problem documents (`application/problem+json`)."""

from __future__ import annotations

import dataclasses
import logging
import re
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    SerializationException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap
from msgspec import UNSET, Struct, UnsetType

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
from entrypoints.http.hardening import MAX_JSON_DEPTH, TooManyAttempts, too_deep

MEDIA_TYPE = "application/problem+json"
TOO_DEEP = f"The body nests arrays and objects more than {MAX_JSON_DEPTH} deep."
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


class FieldError(Struct, omit_defaults=True):
    """One item of `errors`: `{field, message}` in a `400 invalid_input`; `{line, customer_id, code, message}` in a
    mappings file's `422 import_invalid`."""

    message: str
    field: str | UnsetType = UNSET
    line: int | UnsetType = UNSET
    customer_id: str | UnsetType = UNSET
    code: str | UnsetType = UNSET


class Problem(Struct, omit_defaults=True):
    """An error answer (RFC 9457), as the OpenAPI document describes it."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldError] | UnsetType = UNSET


ERROR_MEANINGS = {
    400: "invalid_input: a value is missing, malformed or out of range (see `errors`)",
    401: "unauthorized: no bearer token, or one that matches no user",
    403: "forbidden: your role may not do this",
    404: "not found",
    409: "the state does not allow it",
    422: "the request names something that cannot be used",
    429: f"{TooManyAttempts.code}: too many failed token checks from this address; not checked now, see Retry-After",
    502: "autotask_rejected: Autotask answered with an error (its text in `detail`); autotask_permission_denied: the "
    "Autotask API user lacks a permission",
    503: f"{AutotaskUnavailable.code}: Autotask did not answer (timeout, network, throttled)",
}
STORAGE_STATUS = {StorageUnavailable: 503, StorageRefused: 422}


def api_responses(
    *errors: int | type[UseCaseError] | tuple[int, str], success: dict[int, tuple[Any, str]] | None = None
) -> dict[int, ResponseSpec]:
    """The OpenAPI `responses=` of one `/api/v1` route: 401 and 429 (ADR 0035) always, the error statuses given as
    problem documents, and other success statuses as `{status: (type, text)}`. An error class names its code under its
    status (so the lists are the use cases' own error classes and cannot drift); a `(status, text)` pair says something
    else."""
    specs = {
        status: ResponseSpec(data_container=kind, description=text, generate_examples=False)
        for status, (kind, text) in (success or {}).items()
    }
    notes: dict[int, list[str]] = {401: [], 429: []}
    for error in errors:
        if isinstance(error, tuple):
            notes.setdefault(error[0], []).append(error[1])
        elif isinstance(error, int):
            notes.setdefault(error, [])
        else:
            notes.setdefault(use_case_status(error), []).append(error.code)
    for status in sorted(notes):
        codes = ", ".join(notes[status])
        specs[status] = problem_response(ERROR_MEANINGS[status] + (f": {codes}" if codes else ""))
    return specs


def problem_response(description: str) -> ResponseSpec:
    """An error answer in the OpenAPI document: a problem document."""
    return ResponseSpec(data_container=Problem, description=description, media_type=MEDIA_TYPE, generate_examples=False)


class ApiRequest(Request[Any, Any, Any]):
    """JSON bodies only: a body sent as another media type is 415 and bytes that are not UTF-8 are 400, not 500.
    A body without a Content-Type is read as JSON (some clients leave it out)."""

    async def json(self) -> Any:
        media_type = self.content_type[0]
        if (
            media_type
            and media_type != "application/json"
            and not media_type.endswith("+json")
            and (await self.body()).strip()
        ):
            raise HTTPException(status_code=415, detail="Send the body as application/json.")
        try:
            value = await super().json()
        except UnicodeDecodeError as error:
            raise ClientException("The body is not valid UTF-8.") from error
        except SerializationException as error:  # the decoder's own text names bytes and internals: not for clients
            raise ClientException("The body is not valid JSON.") from error
        except RecursionError as error:  # nested beyond what the decoder can follow
            raise ClientException(TOO_DEEP) from error
        if too_deep(value):
            raise ClientException(TOO_DEEP)
        return value


async def check_body_strictly(request: Request[Any, Any, Any]) -> None:
    """Refuse a body whose values only fit the route's type after conversion (`"true"` for a boolean, `"100"` for an
    id): Litestar converts leniently, the OpenAPI document promises JSON types exactly."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None or not (await request.body()).strip():
        return
    value = await request.json()
    try:
        msgspec.convert(value, data.annotation, strict=False)
    except msgspec.ValidationError:
        return  # invalid however read: Litestar's own validation reports it, with any path or query errors
    try:
        msgspec.convert(_integral(value), data.annotation, strict=True)
    except msgspec.ValidationError as error:
        message, _, where = str(error).partition(" - at `$")
        key = where.rstrip("`").lstrip(".")
        raise ValidationException("The request is not valid.", extra=[{"key": key, "message": message}]) from None


def _integral(value: Any) -> Any:
    """JSON has one number type: `100.0` is the integer 100 (as JSON Schema's `integer` says)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    return value


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
