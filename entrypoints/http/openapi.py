"""What the generated OpenAPI document cannot say by itself, added after generation, so the document says exactly
what the server accepts and answers (checked by schemathesis with every check, ADR 0008)."""

from __future__ import annotations

import importlib
import pkgutil

from litestar import Litestar
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from msgspec import Struct

from domain.settings import UDF_NAME_MAX, UDF_VALUE_MAX, UDFS_MAX
from entrypoints.http import schemas as wire
from entrypoints.http.hardening import MAX_BODY_BYTES, MAX_JSON_DEPTH
from entrypoints.http.schemas.common import MULTI_LINE, RFC3339, SINGLE_LINE

REQUEST_BODIES = frozenset(
    kind
    for module in pkgutil.iter_modules(wire.__path__)
    for kind in vars(importlib.import_module(f"{wire.__name__}.{module.name}")).values()
    if isinstance(kind, type) and issubclass(kind, Struct) and kind.__struct_config__.forbid_unknown_fields
)
"""Every request body of every resource's wire module: each refuses a field it does not know (400 invalid_input)."""
LIMITS = (
    f"Bodies are JSON (`application/json`), at most {MAX_BODY_BYTES} bytes (413 payload_too_large) and nested at "
    f"most {MAX_JSON_DEPTH} deep (400 invalid_input). Control characters are refused (400 invalid_input) in ids "
    "and one-line text; multi-line text (messages) keeps tab, line feed and carriage return."
)


def make_exact(app: Litestar) -> None:
    """Complete the app's (cached) OpenAPI document in place."""
    document = app.openapi_schema
    document.info.description = LIMITS
    schemas = document.components.schemas if document.components and document.components.schemas else {}
    for struct in REQUEST_BODIES:
        if struct.__name__ in schemas:
            schemas[struct.__name__].additional_properties = False
    if "RunIn" in schemas and schemas["RunIn"].properties:
        schemas["RunIn"].properties["run_at"] = Schema(
            type=OpenAPIType.STRING,
            format=OpenAPIFormat.DATE_TIME,
            pattern=RFC3339,
            max_length=40,
            description="RFC 3339 with its offset; a number is refused.",
        )
    if "RunIn" in schemas and schemas["RunIn"].properties:
        schemas["RunIn"].properties["messages"] = Schema(
            type=OpenAPIType.ARRAY,
            max_items=500,
            items=Schema(type=OpenAPIType.STRING, max_length=4000, pattern=MULTI_LINE),
        )
    for name in ("SettingsIn", "TestTicketIn"):
        for prop in (schemas[name].properties or {}).values() if name in schemas else ():
            for choice in [prop, *(prop.one_of or [])] if isinstance(prop, Schema) else []:
                if isinstance(choice, Schema) and choice.maximum is not None and choice.minimum is None:
                    choice.minimum = 0  # an id or an interval: Litestar leaves out a lower bound of 0
    if "SettingsIn" in schemas and schemas["SettingsIn"].properties:
        schemas["SettingsIn"].properties["ticket_udfs"] = Schema(
            type=OpenAPIType.OBJECT,
            max_properties=UDFS_MAX,
            property_names=Schema(type=OpenAPIType.STRING, min_length=1, max_length=UDF_NAME_MAX, pattern=SINGLE_LINE),
            additional_properties=Schema(type=OpenAPIType.STRING, max_length=UDF_VALUE_MAX, pattern=MULTI_LINE),
            description="Values for the tenant's ticket user-defined fields, by name; `{}` sends none.",
        )
    if "TicketsRefreshIn" in schemas and schemas["TicketsRefreshIn"].properties:
        schemas["TicketsRefreshIn"].properties["run_ids"] = Schema(
            one_of=[_ids(max_items=5000), Schema(type=OpenAPIType.NULL)]
        )
    if "AcceptSuggestionsIn" in schemas and schemas["AcceptSuggestionsIn"].properties:
        schemas["AcceptSuggestionsIn"].properties["customer_ids"] = _ids(min_items=1, max_items=500)
    paths = document.paths or {}
    for item in paths.values():
        for operation in (item.put, item.post):
            if isinstance(operation, Operation) and operation.request_body and operation.responses:
                _body_refusals(operation)
    refresh = paths.get("/api/v1/autotask/tickets/refresh")
    if refresh and isinstance(refresh.post, Operation) and isinstance(refresh.post.request_body, RequestBody):
        refresh.post.request_body.required = False  # no body: every link
    mappings = paths.get("/api/v1/autotask/mappings/export")
    if mappings and isinstance(mappings.get, Operation) and mappings.get.responses:
        mappings.get.responses["200"] = OpenAPIResponse(
            description="Every customer's mapping: `customer_id,customer_name,company_id,company_name,status`.",
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
        )
    export = paths.get("/api/v1/audit/export")
    if export and isinstance(export.get, Operation) and export.get.responses:
        text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
        export.get.responses["200"] = OpenAPIResponse(
            description="The records, one JSON object a line (`format=jsonl`) or CSV with a header (`format=csv`).",
            content={"application/jsonl": text, "text/csv": text},
        )


def _ids(*, max_items: int, min_items: int | None = None) -> Schema:
    """A list of ids as the API reads them (Litestar leaves out the items' lower length bound)."""
    item = Schema(type=OpenAPIType.STRING, min_length=1, max_length=64, pattern=SINGLE_LINE)
    return Schema(type=OpenAPIType.ARRAY, min_items=min_items, max_items=max_items, items=item)


def _body_refusals(operation: Operation) -> None:
    """A route that reads a body may also answer 413 and 415 (as problem documents, like its 400)."""
    responses = operation.responses or {}
    invalid = responses.get("400")
    if not isinstance(invalid, OpenAPIResponse):
        return
    responses["413"] = OpenAPIResponse(
        description=f"payload_too_large: a body over {MAX_BODY_BYTES} bytes", content=invalid.content
    )
    responses["415"] = OpenAPIResponse(
        description="unsupported_media_type: a body that is not application/json", content=invalid.content
    )
