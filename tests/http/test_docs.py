"""docs/http-api.md stays true to the server: every operation of the OpenAPI document and every error code its answers
list is written there (the document is generated from the code; the page is what callers read)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.http.conftest import Client

PAGE = (Path(__file__).parents[2] / "docs" / "http-api.md").read_text(encoding="utf-8")
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


async def test_every_operation_and_error_code_of_the_openapi_document_is_in_the_http_api_page(
    client: Client,
) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    missing_operations, missing_codes = [], set()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "put", "post", "delete", "patch"} and not re.search(
                rf"{method.upper()} {re.escape(path)}(?![\w/-])", PAGE
            ):
                missing_operations.append(f"{method.upper()} {path}")
            for status, answer in operation.get("responses", {}).items():
                if not status.startswith("2"):
                    missing_codes |= {c for c in CODE.findall(answer.get("description", "")) if c not in PAGE}
    assert not missing_operations, missing_operations
    assert not missing_codes, sorted(missing_codes)
