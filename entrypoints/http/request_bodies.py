"""Reading request bodies: JSON only, within the depth limit, and values of exactly the types the route declares."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, HTTPException, SerializationException, ValidationException

from entrypoints.http.hardening import MAX_JSON_DEPTH, too_deep

TOO_DEEP = f"The body nests arrays and objects more than {MAX_JSON_DEPTH} deep."


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
