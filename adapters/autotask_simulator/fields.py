"""Entity field documents (the `entityInformation/fields` answers) and the checks Autotask derives from them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any

Record = dict[str, Any]


class FieldError(ValueError):
    """A value Autotask would refuse; the message is what the API puts in `errors`."""


def load_document(name: str) -> dict[str, Any]:
    """A fields document shipped in `data/` (for example `tickets_fields.json`)."""
    text = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def simple_document(*fields: tuple[str, str, bool, bool]) -> dict[str, Any]:
    """A small fields document from (name, dataType, isRequired, isReadOnly) rows, for entities without picklists."""
    return {
        "fields": [
            {
                "name": n,
                "dataType": t,
                "length": 0,
                "isRequired": req,
                "isReadOnly": ro,
                "isQueryable": True,
                "isReference": False,
                "referenceEntityType": "",
                "isPickList": False,
                "picklistValues": [],
                "picklistParentValueField": "",
            }
            for n, t, req, ro in fields
        ]
    }


def format_time(value: datetime) -> str:
    """As Autotask's .NET serialiser writes it: milliseconds without trailing zeros, none at all on a whole second."""
    fraction = f"{value.microsecond // 1000:03d}".rstrip("0")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def parse_time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(value)
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def coerce(spec: dict[str, Any], value: Any) -> Any:
    """The stored form of a value sent for a field, or FieldError."""
    if value is None:
        return None
    kind, name = spec["dataType"], spec["name"]
    try:
        if kind in ("integer", "long", "short", "byte"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(value)
        if kind in ("decimal", "double", "float"):
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if kind == "boolean":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false", "1", "0"):
                return str(value).lower() in ("true", "1")
            raise ValueError(value)
        if kind == "datetime":
            return format_time(parse_time(value))
        if isinstance(value, dict | list):
            raise ValueError(value)
        return value if isinstance(value, str) else str(value)
    except (ValueError, TypeError, OverflowError):
        raise FieldError(f"Unable to convert value '{value}' of field '{name}' to type {kind}.") from None


class EntitySchema:
    """One entity's fields document, with case-insensitive lookup and value checks."""

    def __init__(self, entity: str, document: dict[str, Any]) -> None:
        self.entity = entity
        self.document = copy.deepcopy(document)
        self.fields: dict[str, dict[str, Any]] = {f["name"].lower(): f for f in self.document["fields"]}

    def answer(self) -> dict[str, Any]:
        """The body of `GET /V1.0/{Entity}/entityInformation/fields`."""
        return {"fields": self.document["fields"]}

    def names(self) -> list[str]:
        return [f["name"] for f in self.document["fields"]]

    def field(self, name: str) -> dict[str, Any] | None:
        return self.fields.get(str(name).lower())

    def writable(self) -> list[str]:
        return [f["name"] for f in self.document["fields"] if not f["isReadOnly"] and f["name"] != "id"]

    def empty_record(self) -> Record:
        return {name: None for name in self.names()}

    def picklist_value(self, name: str, value: Any) -> dict[str, Any] | None:
        spec = self.field(name)
        for pick in (spec or {}).get("picklistValues") or []:
            if pick["value"] == str(value):
                return dict(pick)
        return None

    def value_errors(self, record: Record, changed: set[str]) -> list[str]:
        """Length, picklist and parent-picklist problems of the changed fields of a record."""
        errors: list[str] = []
        for name in sorted(changed):
            spec, value = self.fields[name.lower()], record.get(name)
            if value is None:
                continue
            if spec["dataType"] == "string" and spec.get("length") and len(value) > spec["length"]:
                errors.append(
                    f"Value for field '{name}' exceeds the maximum length of {spec['length']} characters "
                    f"({len(value)} given)."
                )
            if spec.get("isPickList") and spec.get("picklistValues"):
                errors.extend(self._picklist_errors(record, spec, value))
        return errors

    def _picklist_errors(self, record: Record, spec: dict[str, Any], value: Any) -> list[str]:
        name = spec["name"]
        pick = self.picklist_value(name, value)
        if pick is None:
            return [f"Invalid picklist value '{value}' for field '{name}': not in the {self.entity} picklist."]
        if not pick["isActive"]:
            return [f"Picklist value '{value}' ({pick['label']}) for field '{name}' is inactive."]
        parent_field = self.field(spec.get("picklistParentValueField") or "")
        if parent_field is not None and pick["parentValue"]:
            parent = record.get(parent_field["name"])
            if parent is None or str(parent) != pick["parentValue"]:
                parent_name = parent_field["name"]
                given = f"{parent_name} '{parent}'" if parent is not None else f"an empty {parent_name}"
                return [
                    f"Value '{value}' ({pick['label']}) for field '{name}' is not valid for {given}: "
                    f"it belongs to {parent_name} '{pick['parentValue']}'."
                ]
        return []

    def missing_required(self, record: Record) -> list[str]:
        return [
            f"Missing Required Field: {f['name']}."
            for f in self.document["fields"]
            if f["isRequired"] and not f["isReadOnly"] and record.get(f["name"]) in (None, "")
        ]

    def apply(self, record: Record, body: Record, skip: frozenset[str] = frozenset()) -> tuple[set[str], list[str]]:
        """Write the writable fields of a (camelCase or PascalCase) body into `record`; returns changed names, errors.

        Unknown and read-only fields are ignored, as Autotask does.
        """
        changed: set[str] = set()
        errors: list[str] = []
        for key, raw in body.items():
            spec = self.field(key)
            if spec is None or spec["isReadOnly"] or spec["name"] in skip:
                continue
            try:
                value = coerce(spec, raw)
            except FieldError as exc:
                errors.append(str(exc))
                continue
            if record.get(spec["name"]) != value:
                changed.add(spec["name"])
            record[spec["name"]] = value
        return changed, errors

    def set_required(self, name: str, required: bool) -> None:
        self._spec(name)["isRequired"] = required

    def set_picklist_active(self, name: str, value: int | str, active: bool) -> None:
        for pick in self._spec(name)["picklistValues"]:
            if pick["value"] == str(value):
                pick["isActive"] = active
                return
        raise KeyError(f"{self.entity}.{name} has no picklist value {value}")

    def add_picklist_value(self, name: str, value: int | str, label: str, *, active: bool, default: bool) -> None:
        """Add (or replace) a value of a picklist; `default` makes it the only `isDefaultValue`."""
        picks = self._spec(name)["picklistValues"]
        picks[:] = [p for p in picks if p["value"] != str(value)]
        if default:
            for pick in picks:
                pick["isDefaultValue"] = False
        sort = max((p["sortOrder"] for p in picks), default=0) + 1
        picks.append(
            {
                "value": str(value),
                "label": label,
                "isDefaultValue": default,
                "sortOrder": sort,
                "parentValue": "",
                "isActive": active,
                "isSystem": False,
            }
        )

    def _spec(self, name: str) -> dict[str, Any]:
        spec = self.field(name)
        if spec is None:
            raise KeyError(f"{self.entity} has no field {name}")
        return spec
