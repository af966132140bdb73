"""Path and query parameters shared by the API's rooms: ids, page sizes, cursors and times, with their limits."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.openapi.spec import OpenAPIFormat
from litestar.params import PathParameter, QueryParameter

from entrypoints.http.pagination import CURSOR, CURSOR_FORMAT
from entrypoints.http.schemas.common import RFC3339, SINGLE_LINE

CustomerId = Annotated[
    str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE, description="Backupchecks' own customer id.")
]
RunId = Annotated[
    str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE, description="Backupchecks' own run id.")
]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (1-500).")]


def cursor_parameter(keyset: str) -> Any:
    """The `cursor` query parameter of a list whose keyset is `keyset` (named in its format, so a client or a fuzzer
    knows which cursors fit: `name` (customers, users), `run` (runs), `seq` (audit), `company` (Autotask company
    search))."""
    return QueryParameter(
        min_length=1,
        max_length=512,
        pattern=CURSOR,
        schema_extra={"format": f"{CURSOR_FORMAT}-{keyset}"},
        description="Opaque: the previous page's `next_cursor`, as it was given; any other value is 400 invalid_input.",
    )


Moment = Annotated[
    str | None,
    QueryParameter(
        max_length=40,
        pattern=RFC3339,
        schema_extra={"format": OpenAPIFormat.DATE_TIME},
        description="RFC 3339 with its offset (a number is not a time).",
    ),
]
NameCursor = Annotated[str | None, cursor_parameter("name")]
RunCursor = Annotated[str | None, cursor_parameter("run")]
SeqCursor = Annotated[str | None, cursor_parameter("seq")]
CompanyCursor = Annotated[str | None, cursor_parameter("company")]
