"""The error answers as the OpenAPI document describes them: the problem document's shape and each route's
`responses=` (its error statuses and the codes under them, taken from the use cases' own error classes)."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from msgspec import UNSET, Struct, UnsetType

from application.errors import AutotaskUnavailable, UseCaseError
from entrypoints.http.problems import MEDIA_TYPE, use_case_status


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
    502: "autotask_rejected: Autotask answered with an error (its text in `detail`); autotask_permission_denied: the "
    "Autotask API user lacks a permission",
    503: f"{AutotaskUnavailable.code}: Autotask did not answer (timeout, network, throttled)",
}


def api_responses(
    *errors: int | type[UseCaseError] | tuple[int, str], success: dict[int, tuple[Any, str]] | None = None
) -> dict[int, ResponseSpec]:
    """The OpenAPI `responses=` of one `/api/v1` route: 401 always, the error statuses given as problem documents, and
    other success statuses as `{status: (type, text)}`. An error class names its code under its status (so the lists
    are the use cases' own error classes and cannot drift); a `(status, text)` pair says something else."""
    specs = {
        status: ResponseSpec(data_container=kind, description=text, generate_examples=False)
        for status, (kind, text) in (success or {}).items()
    }
    notes: dict[int, list[str]] = {401: []}
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
