"""Keyset pagination: a page is fetched as limit + 1, and its cursor is the opaque keyset of the last item seen."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from application.errors import InvalidInput

CURSOR = r"^[A-Za-z0-9_-]+$"
CURSOR_FORMAT = "backupchecks-cursor"
"""A page's `next_cursor` (base64url, no padding); a value of this shape that is not one of ours is 400."""
KEY_TEXT_MAX = 255
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
T = TypeVar("T")


def encode_cursor(*keys: Any) -> str:
    """An opaque cursor: base64url of the keyset (the last item already seen)."""
    raw = json.dumps([k.isoformat() if isinstance(k, datetime) else k for k in keys], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple[Any, ...]:
    """The keyset in `cursor`, each value of the type named; InvalidInput when it is not one of ours."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(types):
            raise ValueError("wrong shape")
        return tuple(_cursor_value(v, t) for v, t in zip(raw, types, strict=True))
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidInput("cursor", "This cursor is not valid; start again without one.") from error


def _cursor_value(value: Any, kind: type) -> Any:
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        return moment.astimezone(UTC)
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise ValueError("wrong type")
    if isinstance(value, int) and not 0 <= value < 2**63:  # a storage key, never beyond a signed 64-bit integer
        raise ValueError("out of range")
    if isinstance(value, str) and (len(value) > KEY_TEXT_MAX or CONTROL.search(value)):
        raise ValueError("not a key")  # ids and names are one-line text of at most 255 characters
    return value


def paginate(items: Sequence[T], limit: int, key: Callable[[T], tuple[Any, ...]]) -> tuple[list[T], str | None]:
    """The first `limit` of `items` (fetched as limit + 1) and the cursor after the last one when more follow."""
    page = list(items[:limit])
    return page, encode_cursor(*key(page[-1])) if len(items) > limit else None
