"""What every resource's wire shapes share: the patterns and limits of ids and text, the `Saved` answer of a PUT, the
copy of a domain object into a response struct, and the reading of RFC 3339 times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta, Struct

from application.errors import InvalidInput

SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control character (C0, DEL, C1): ids, names and every other one-line value (NUL cannot be stored everywhere)."""
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
"""Multi-line text (messages) keeps tab, line feed and carriage return."""
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
Id = Annotated[str, Meta(min_length=1, max_length=64, pattern=SINGLE_LINE)]
Text = Annotated[str, Meta(min_length=1, max_length=255, pattern=SINGLE_LINE)]
LongText = Annotated[str, Meta(max_length=4000, pattern=MULTI_LINE)]
PicklistId = Annotated[int, Meta(ge=0, le=2_147_483_647)]
T = TypeVar("T")


class Saved(Struct):
    id: str
    created: bool


# A response is the domain object's own fields under the same names: msgspec copies them (`from_attributes`), nested
# objects and enum values included. Only what the HTTP answer adds or reshapes is spelled out.


def out(value: object, shape: type[T]) -> T:
    """`value` (an object, or a dict whose values may be objects) as the response struct `shape`."""
    return msgspec.convert(value, shape, from_attributes=True)


def fields_of(value: Any, exclude: str | None = None) -> dict[str, Any]:
    """A dataclass's fields by name, one level deep (nested objects stay objects for `out` to copy)."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.name != exclude}


def as_utc(value: datetime, field: str) -> datetime:
    """A time in UTC (a time without a zone is taken as UTC); 400 when its offset takes it out of range."""
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as error:
        raise InvalidInput(field, "This time is out of range.") from error


def parse_time(text: str, field: str) -> datetime:
    """An RFC 3339 time (the pattern already checked its shape); 400 when it names no real moment (month 13)."""
    try:
        return datetime.fromisoformat(text.upper())
    except ValueError as error:
        raise InvalidInput(field, "This is not a valid RFC 3339 time.") from error


def utc(value: str | None, field: str) -> datetime | None:
    """A query's RFC 3339 time in UTC."""
    return None if value is None else as_utc(parse_time(value, field), field)
