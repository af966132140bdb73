"""Company mappings on the wire: a mapping in and out, Autotask company search, suggestions, import and refresh."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from domain.mapping import MappingStatus
from entrypoints.http.schemas.common import Id


class MappingIn(Struct, forbid_unknown_fields=True):
    company_id: Annotated[int, Meta(ge=1, le=2_147_483_647)]


class AcceptSuggestionsIn(Struct, forbid_unknown_fields=True):
    customer_ids: Annotated[list[Id], Meta(min_length=1, max_length=500)]


class MappingOut(Struct):
    psa: str
    company_id: int | None
    company_name: str | None
    previous_company_name: str | None
    status: MappingStatus
    status_reason: str | None
    last_synced_at: datetime | None


class CompanyOut(Struct):
    id: int
    name: str
    is_active: bool


class CompanyList(Struct):
    """One page of matches in Autotask's order (by id); `more` says more matches exist (type more to narrow)."""

    items: list[CompanyOut]
    next_cursor: str | None = None
    more: bool = False


class SuggestionOut(Struct):
    customer_id: str
    customer_name: str
    company_id: int
    company_name: str
    match: str
    """`exact` (the names are the same) or `normalized` (the same after case, punctuation and legal suffixes)."""


class SuggestionPage(Struct):
    items: list[SuggestionOut]
    next_cursor: str | None


class RefusedOut(Struct):
    customer_id: str
    code: str


class AcceptedOut(Struct):
    mapped: int
    refused: list[RefusedOut]


class ImportedOut(Struct):
    mapped: int
    removed: int
    unchanged: int
    dry_run: bool


class MappingsRefreshedOut(Struct):
    checked: int
    ok: int
    renamed: int
    invalid: int
    autotask_calls: int
