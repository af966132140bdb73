"""Customer ↔ Autotask company mappings, the company search that finds a mapping's company, and the bulk mapping
refresh (admin, operator)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.response import Stream

from application.errors import (
    CompanyInaccessible,
    CompanyInactive,
    CompanyNotFound,
    CustomerNotFound,
    ImportInvalid,
    InvalidInput,
    MappingChanged,
    MappingInvalid,
    MappingMissing,
    NotConfigured,
)
from application.use_cases.clear_mapping import ClearMapping
from application.use_cases.confirm_mapping import ConfirmMapping
from application.use_cases.map_customer import MapCustomer
from application.use_cases.mapping_files import ExportMappings, ImportMappings
from application.use_cases.mapping_suggestions import AcceptSuggestions, SuggestMappings
from application.use_cases.refresh_all_mappings import RefreshAllMappings
from application.use_cases.refresh_mapping import RefreshMapping
from application.use_cases.search_companies import SearchCompanies
from domain.roles import Actor
from entrypoints.http.pagination import decode_cursor, encode_cursor, paginate
from entrypoints.http.parameters import CompanyCursor, CustomerId, Limit, NameCursor
from entrypoints.http.response_specs import api_responses
from entrypoints.http.schemas.common import SINGLE_LINE, out
from entrypoints.http.schemas.mappings import (
    AcceptedOut,
    AcceptSuggestionsIn,
    CompanyList,
    CompanyOut,
    ImportedOut,
    MappingIn,
    MappingOut,
    MappingsRefreshedOut,
    RefusedOut,
    SuggestionOut,
    SuggestionPage,
)


class MappingController(Controller):
    path = "/customers/{customer_id:str}/autotask-mapping"
    tags = ("mappings",)

    @put(
        "/",
        operation_id="mapCustomer",
        status_code=200,
        responses=api_responses(
            400, 403, CustomerNotFound, NotConfigured, CompanyNotFound, CompanyInactive, CompanyInaccessible, 502, 503
        ),
    )
    async def map_customer(
        self,
        actor: NamedDependency[Actor],
        map_customer: NamedDependency[MapCustomer],
        customer_id: CustomerId,
        data: JSONBody[MappingIn],
    ) -> MappingOut:
        return out(await map_customer.execute(actor, customer_id, data.company_id), MappingOut)

    @delete("/", operation_id="clearMapping", status_code=204, responses=api_responses(400, 403, CustomerNotFound))
    async def clear_mapping(
        self, actor: NamedDependency[Actor], clear_mapping: NamedDependency[ClearMapping], customer_id: CustomerId
    ) -> None:
        await clear_mapping.execute(actor, customer_id)

    @post(
        "/refresh",
        operation_id="refreshMapping",
        status_code=200,
        responses=api_responses(400, 403, CustomerNotFound, NotConfigured, MappingMissing, MappingChanged, 502, 503),
    )
    async def refresh_mapping(
        self, actor: NamedDependency[Actor], refresh_mapping: NamedDependency[RefreshMapping], customer_id: CustomerId
    ) -> MappingOut:
        return out(await refresh_mapping.execute(actor, customer_id), MappingOut)

    @post(
        "/confirm",
        operation_id="confirmMapping",
        status_code=200,
        responses=api_responses(400, 403, CustomerNotFound, MappingMissing, MappingInvalid),
    )
    async def confirm_mapping(
        self, actor: NamedDependency[Actor], confirm_mapping: NamedDependency[ConfirmMapping], customer_id: CustomerId
    ) -> MappingOut:
        return out(await confirm_mapping.execute(actor, customer_id), MappingOut)


class AutotaskController(Controller):
    path = "/autotask"
    tags = ("autotask",)

    @get("/companies", operation_id="searchCompanies", responses=api_responses(400, 403, NotConfigured, 502, 503))
    async def search_companies(
        self,
        actor: NamedDependency[Actor],
        search_companies: NamedDependency[SearchCompanies],
        search: Annotated[
            str,
            QueryParameter(min_length=1, max_length=100, pattern=SINGLE_LINE, description="Part of a company name."),
        ],
        limit: Limit = 50,
        cursor: CompanyCursor = None,
    ) -> CompanyList:
        after_id = decode_cursor(cursor, int)[0] if cursor else None
        page = await search_companies.execute(actor, search, limit, after_id)
        next_cursor = None if page.after_id is None else encode_cursor(page.after_id)
        return CompanyList([out(c, CompanyOut) for c in page.companies], next_cursor, next_cursor is not None)

    @get(
        "/mapping-suggestions",
        operation_id="suggestMappings",
        responses=api_responses(400, 403, NotConfigured, 502, 503),
    )
    async def suggest_mappings(
        self,
        actor: NamedDependency[Actor],
        suggest_mappings: NamedDependency[SuggestMappings],
        limit: Limit = 50,
        cursor: NameCursor = None,
    ) -> SuggestionPage:
        after = decode_cursor(cursor, str)[0] if cursor else None
        found, next_cursor = paginate(
            await suggest_mappings.execute(actor, limit + 1, after), limit, lambda s: (s.customer_id,)
        )
        return SuggestionPage([out(s, SuggestionOut) for s in found], next_cursor)

    @post(
        "/mapping-suggestions/accept",
        operation_id="acceptMappingSuggestions",
        status_code=200,
        responses=api_responses(400, 403, NotConfigured, 502, 503),
    )
    async def accept_suggestions(
        self,
        actor: NamedDependency[Actor],
        accept_suggestions: NamedDependency[AcceptSuggestions],
        data: JSONBody[AcceptSuggestionsIn],
    ) -> AcceptedOut:
        accepted = await accept_suggestions.execute(actor, data.customer_ids)
        return AcceptedOut(accepted.mapped, [RefusedOut(c, code) for c, code in accepted.refused])

    @get("/mappings/export", operation_id="exportMappings", responses=api_responses(403))
    async def export_mappings(
        self, actor: NamedDependency[Actor], export_mappings: NamedDependency[ExportMappings]
    ) -> Stream:
        lines = await export_mappings.execute(actor)
        disposition = 'attachment; filename="autotask-mappings.csv"'
        return Stream(lines, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})

    @post(
        "/mappings/import",
        operation_id="importMappings",
        status_code=200,
        responses=api_responses(400, 403, ImportInvalid, NotConfigured, MappingChanged, 502, 503),
    )
    async def import_mappings(
        self,
        request: Request[Any, Any, Any],
        actor: NamedDependency[Actor],
        import_mappings: NamedDependency[ImportMappings],
        dry_run: Annotated[
            bool, QueryParameter(description="true: check the file and count what it would change; apply nothing.")
        ] = False,
    ) -> ImportedOut:
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise InvalidInput("body", "The file is not UTF-8 text.") from error
        return out(await import_mappings.execute(actor, text, dry_run=dry_run), ImportedOut)

    @post(
        "/mappings/refresh",
        operation_id="refreshAllMappings",
        status_code=200,
        responses=api_responses(403, NotConfigured, 502, 503),
    )
    async def refresh_all_mappings(
        self, actor: NamedDependency[Actor], refresh_all_mappings: NamedDependency[RefreshAllMappings]
    ) -> MappingsRefreshedOut:
        return out(await refresh_all_mappings.execute(actor), MappingsRefreshedOut)
