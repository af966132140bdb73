"""Autotask query filters: `{"op", "field", "value"}` conditions and `and`/`or` groups with `items`."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from .fields import EntitySchema, FieldError, Record, coerce, parse_time

GROUPS = ("and", "or")
COMPARE = ("eq", "noteq", "gt", "gte", "lt", "lte")
TEXT = ("beginswith", "endswith", "contains")
LISTS = ("in", "notin")
EXISTS = ("exist", "notexist")
MAX_IN_VALUES = 500

Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    """A query Autotask answers with 500 and this message in `errors`."""


def lower_keys(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise QueryError("The query body must be a JSON object.")
    return {str(k).lower(): v for k, v in body.items()}


def uses_operator(conditions: Any, op: str) -> bool:
    for item in conditions if isinstance(conditions, list) else []:
        item = lower_keys(item) if isinstance(item, dict) else {}
        if str(item.get("op", "")).lower() == op or uses_operator(item.get("items"), op):
            return True
    return False


def compile_filter(schema: EntitySchema, conditions: Any) -> Predicate:
    """A predicate for a top-level `filter` list (its items are and-ed)."""
    if not isinstance(conditions, list) or not conditions:
        raise QueryError("A query needs a filter with at least one condition.")
    return _group(schema, "and", conditions)


def _group(schema: EntitySchema, op: str, items: Any) -> Predicate:
    if not isinstance(items, list) or not items:
        raise QueryError(f"The '{op}' group needs at least one item.")
    parts = [_condition(schema, lower_keys(item)) for item in items]
    if op == "and":
        return lambda rec: all(p(rec) for p in parts)
    return lambda rec: any(p(rec) for p in parts)


def _condition(schema: EntitySchema, cond: dict[str, Any]) -> Predicate:
    op = str(cond.get("op", "")).lower()
    if op in GROUPS:
        return _group(schema, op, cond.get("items"))
    if op not in COMPARE + TEXT + LISTS + EXISTS:
        return lambda rec: True  # Autotask silently ignores an unknown operator: the query comes back unfiltered
    if cond.get("udf"):
        raise QueryError(f"Unable to find user-defined field '{cond.get('field')}' in the {schema.entity} entity.")
    spec = schema.field(str(cond.get("field", "")))
    if spec is None:
        raise QueryError(f"Unable to find field '{cond.get('field')}' in the {schema.entity} entity.")
    name = spec["name"]
    if op in EXISTS:
        want = op == "exist"
        return lambda rec: (rec.get(name) not in (None, "")) == want
    raw = cond.get("value")
    if op in LISTS:
        if not isinstance(raw, list):
            raise QueryError(f"The '{op}' operator needs a list value for field '{name}'.")
        if len(raw) > MAX_IN_VALUES:
            raise QueryError(f"The '{op}' operator takes at most {MAX_IN_VALUES} values ({len(raw)} given).")
        values = [_key(spec, v) for v in raw]
        inside = op == "in"
        return lambda rec: rec.get(name) is not None and (_key(spec, rec[name]) in values) == inside
    if op in TEXT:
        text = str(raw).lower()
        test = {"beginswith": str.startswith, "endswith": str.endswith, "contains": str.__contains__}[op]
        return lambda rec: rec.get(name) is not None and test(str(rec[name]).lower(), text)
    value = _key(spec, raw)
    compare: Callable[[Any, Any], bool] = {
        "eq": operator.eq,
        "noteq": operator.ne,
        "gt": operator.gt,
        "gte": operator.ge,
        "lt": operator.lt,
        "lte": operator.le,
    }[op]
    return lambda rec: rec.get(name) is not None and compare(_key(spec, rec[name]), value)


def _key(spec: dict[str, Any], value: Any) -> Any:
    """A comparable form: numbers as numbers, times as datetimes, text case-insensitive (SQL Server collation)."""
    try:
        if spec["dataType"] == "datetime":
            return parse_time(value)
        if spec["dataType"] == "string":
            return str(value).lower()
        return coerce(spec, value)
    except (FieldError, ValueError):
        raise QueryError(
            f"Unable to convert value '{value}' of field '{spec['name']}' to type {spec['dataType']}."
        ) from None
