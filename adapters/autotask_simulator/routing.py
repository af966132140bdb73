"""Which Autotask endpoint a path names. Autotask matches paths and entity names case-insensitively."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ENTITIES = {
    name.lower(): name
    for name in (
        "Companies",
        "Tickets",
        "TicketNotes",
        "TimeEntries",
        "BillingCodes",
        "TicketCategories",
        "TicketCategoryFieldDefaults",
    )
}


@dataclass(frozen=True)
class Endpoint:
    entity: str  # as in the path, canonical casing ("Tickets", "zoneInformation", ...)
    template: str  # "Tickets/{id}/Notes": with the method, the key of `Simulator.counts`
    actions: dict[str, str]  # HTTP method -> action
    item_id: int | None = None


def _int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def resolve(path: str) -> Endpoint | None:
    """The endpoint for a request path, or None (404)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3 or [p.lower() for p in parts[:2]] != ["atservicesrest", "v1.0"]:
        return None
    rest, low = parts[2:], [p.lower() for p in parts[2:]]
    if low == ["zoneinformation"]:
        return Endpoint("zoneInformation", "zoneInformation", {"GET": "zone"})
    if low == ["thresholdinformation"]:
        return Endpoint("ThresholdInformation", "ThresholdInformation", {"GET": "threshold"})
    entity = ENTITIES.get(low[0])
    if entity is None:
        return None
    item_id = _int(rest[1]) if len(rest) > 1 else None
    if len(rest) == 1:
        if entity == "TicketNotes":  # notes are created under their ticket only
            return None
        writes = {"POST": "create", "PATCH": "update", "PUT": "replace"} if entity == "Tickets" else {}
        return Endpoint(entity, entity, writes)
    if len(rest) == 2 and item_id is not None:
        return Endpoint(entity, f"{entity}/{{id}}", {"GET": "get"}, item_id)
    if low[1:] == ["query"]:
        return Endpoint(entity, f"{entity}/query", {"POST": "query", "GET": "query"})
    if low[1:] == ["query", "count"]:
        return Endpoint(entity, f"{entity}/query/count", {"POST": "count", "GET": "count"})
    if low[1:] in (["query", "next"], ["query", "prev"]):
        return Endpoint(entity, f"{entity}/query/{low[2]}", {"POST": "query", "GET": "query"})
    if low[1:] == ["entityinformation"]:
        return Endpoint(entity, f"{entity}/entityInformation", {"GET": "info"})
    if low[1:] == ["entityinformation", "fields"]:
        return Endpoint(entity, f"{entity}/entityInformation/fields", {"GET": "fields"})
    if low[1:] == ["entityinformation", "userdefinedfields"]:
        return Endpoint(entity, f"{entity}/entityInformation/userDefinedFields", {"GET": "udfs"})
    if entity == "Tickets" and len(rest) == 3 and item_id is not None and low[2] == "notes":
        return Endpoint(entity, "Tickets/{id}/Notes", {"POST": "note"}, item_id)
    return None


def lenient_json(text: str) -> Any:
    """Parse JSON the way Autotask's .NET server does: trailing commas, unquoted property names (Datto's own Postman
    collection relies on both) and single-quoted strings (a public client's `search` sends them) are accepted."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif c == "'":
            j, chars = i + 1, []
            while j < n and text[j] != "'":
                chars.append(text[j + 1] if text[j] == "\\" and j + 1 < n else text[j])
                j += 2 if text[j] == "\\" else 1
            out.append(json.dumps("".join(chars)))
            i = j + 1
        elif c == ",":
            j = i + 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] not in "}]":
                out.append(c)
            i = j
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            k = j
            while k < n and text[k].isspace():
                k += 1
            word = text[i:j]
            out.append(json.dumps(word) if k < n and text[k] == ":" else word)
            i = j
        else:
            out.append(c)
            i += 1
    return json.loads("".join(out))
