"""Customers and their Autotask company mappings."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Stream, Template

from application.errors import CustomerNotFound, ImportInvalid, UseCaseError
from application.ports import Company, MappingFilter
from application.use_cases.clear_mapping import ClearMapping
from application.use_cases.confirm_mapping import ConfirmMapping
from application.use_cases.list_customers import (
    CountCustomers,
    CustomerAction,
    CustomerView,
    GetCustomer,
    ListCustomers,
)
from application.use_cases.map_customer import MapCustomer
from application.use_cases.mapping_files import ExportMappings, ImportMappings
from application.use_cases.mapping_suggestions import ACCEPT_MAX, AcceptSuggestions, SuggestMappings
from application.use_cases.refresh_all_mappings import MappingsRefreshed, RefreshAllMappings
from application.use_cases.refresh_mapping import RefreshMapping
from application.use_cases.search_companies import SearchCompanies
from domain.roles import Actor, Permission
from domain.suggestions import Suggestion
from entrypoints.shared.pagination import decode_cursor, paginate
from entrypoints.shared.parameters import CustomerId
from entrypoints.web import words
from entrypoints.web.customer_rows import MAPPING_FILTERS, customer_row, customer_rows
from entrypoints.web.plumbing import done, field, page, whole_number

PAGE_SIZE = 50
SUGGESTIONS_SHOWN = 100


def _counts(r: MappingsRefreshed) -> str:
    return (
        f"Re-checked {r.checked} mapping{'s' * (r.checked != 1)}: {r.ok} ok, {r.renamed} renamed, "
        f"{r.invalid} invalid ({r.autotask_calls} Autotask calls)."
    )


def _mapping_filter(text: str | None) -> MappingFilter | None:
    try:
        return MappingFilter(text) if text else None
    except ValueError:
        return None


class CustomerPages(Controller):
    path = "/customers"

    @get("/", name="customers")
    async def customers(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        list_customers: NamedDependency[ListCustomers],
        count_customers: NamedDependency[CountCustomers],
        refresh_all_mappings: NamedDependency[RefreshAllMappings],
        suggest_mappings: NamedDependency[SuggestMappings],
    ) -> Template:
        q = request.query_params
        search = (q.get("search") or "").strip()[:100]
        mapping = _mapping_filter(q.get("mapping"))
        try:
            after = decode_cursor(q["cursor"], str)[0] if q.get("cursor") else None
        except UseCaseError:
            after = None

        async def views() -> tuple[list[CustomerView], str | None]:
            found = await list_customers.execute(web_actor, PAGE_SIZE + 1, after, search=search, mapping=mapping)
            return paginate(found, PAGE_SIZE, lambda v: (v.customer.id,))

        notice = None
        shown, next_cursor = await views()
        # After the page is sent, a re-check of the mappings (at most one per interval), so a rename shows soon.
        background = None
        if any(CustomerAction.REFRESH in v.actions for v in shown):
            background = BackgroundTask(refresh_all_mappings.on_page_view, web_actor)
        suggestions: list[Suggestion] | None = None
        if q.get("suggest") == "1" and web_actor.may(Permission.MANAGE_MAPPINGS):
            try:
                suggestions = await suggest_mappings.execute(web_actor, SUGGESTIONS_SHOWN)
            except UseCaseError as error:
                notice = words.failed(error, "suggesting companies")
        filters = [(k, v) for k, v in (("search", search), ("mapping", mapping.value if mapping else "")) if v]
        return page(
            request,
            "customers.html",
            web_actor,
            background=background,
            views=customer_rows(shown),
            total=await count_customers.execute(web_actor, search=search, mapping=mapping),
            search=search,
            mapping=mapping.value if mapping else "",
            mapping_filters=MAPPING_FILTERS,
            first_query=filters if after else None,
            next_query=[*filters, ("cursor", next_cursor)] if next_cursor else None,
            suggestions=suggestions,
            notice=notice,
            may_map=web_actor.may(Permission.MANAGE_MAPPINGS),
        )

    @post("/mappings/accept", name="mappings_accept")
    async def accept_suggestions(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        accept_suggestions: NamedDependency[AcceptSuggestions],
    ) -> Redirect:
        ids = [v.strip() for v in form.getall("customer_id", []) if isinstance(v, str) and v.strip()]
        if not ids:
            return done("/customers?suggest=1", "error", "Tick at least one suggestion to accept.")
        try:
            accepted = await accept_suggestions.execute(web_actor, ids[:ACCEPT_MAX])
        except UseCaseError as error:
            return done("/customers?suggest=1", "error", words.failed(error, "accepting the suggestions"))
        text = f"Mapped {accepted.mapped} customer{'s' * (accepted.mapped != 1)}."
        if accepted.refused:
            text += " Not mapped: " + ", ".join(f"{c} ({code.replace('_', ' ')})" for c, code in accepted.refused) + "."
        return done("/customers?suggest=1", "error" if accepted.refused else "ok", text)

    @get("/mappings/export", name="mappings_export")
    async def export_mappings(
        self, web_actor: NamedDependency[Actor], export_mappings: NamedDependency[ExportMappings]
    ) -> Stream:
        lines = await export_mappings.execute(web_actor)
        disposition = 'attachment; filename="autotask-mappings.csv"'
        return Stream(lines, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})

    @post("/mappings/import", name="mappings_import")
    async def import_mappings(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        import_mappings: NamedDependency[ImportMappings],
    ) -> Redirect:
        upload = form.get("file")
        raw = await upload.read() if isinstance(upload, UploadFile) else b""
        dry_run = field(form, "mode") != "apply"
        if not raw.strip():
            return done("/customers", "error", "Choose a CSV file (customer_id,company_id) to import.")
        try:
            result = await import_mappings.execute(web_actor, raw.decode("utf-8-sig"), dry_run=dry_run)
        except UnicodeDecodeError:
            return done("/customers", "error", "The file is not UTF-8 text; nothing was imported.")
        except ImportInvalid as error:
            shown = "; ".join(
                f"line {e.line} ({e.customer_id or 'no customer'}): {e.message}" for e in error.errors[:8]
            )
            more = f"; and {len(error.errors) - 8} more" if len(error.errors) > 8 else ""
            return done("/customers", "error", f"Nothing was imported: {error.message} {shown}{more}.")
        except UseCaseError as error:
            return done("/customers", "error", words.failed(error, "importing the mappings"))
        counts = f"{result.mapped} mapped, {result.removed} removed, {result.unchanged} unchanged"
        if dry_run:
            return done("/customers", "info", f"Dry run: the file would leave {counts}. Nothing was applied.")
        return done("/customers", "ok", f"Imported: {counts}.")

    @get("/{customer_id:str}", name="customer")
    async def customer(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        get_customer: NamedDependency[GetCustomer],
        search_companies: NamedDependency[SearchCompanies],
        customer_id: CustomerId,
    ) -> Template:
        try:
            view: CustomerView | None = await get_customer.execute(web_actor, customer_id)
        except CustomerNotFound:
            view = None
        search = (request.query_params.get("search") or "").strip()[:100]
        companies: list[Company] = []
        more, notice = False, None
        if view is not None and search:
            try:
                found = await search_companies.execute(web_actor, search)
                companies, more = found.companies, found.after_id is not None
            except UseCaseError as error:
                notice = words.failed(error, "searching Autotask companies")
        return page(
            request,
            "customer.html",
            web_actor,
            status_code=200 if view else 404,
            view=customer_row(view) if view else None,
            customer_id=customer_id,
            search=search,
            companies=companies,
            more=more,
            notice=notice,
        )

    @post("/refresh-all", name="mappings_refresh_all")
    async def refresh_all(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        refresh_all_mappings: NamedDependency[RefreshAllMappings],
    ) -> Redirect:
        try:
            return done("/customers", "ok", _counts(await refresh_all_mappings.execute(web_actor)))
        except UseCaseError as error:
            return done("/customers", "error", words.failed(error, "re-checking the mappings"))

    @post("/{customer_id:str}/map", name="customer_map")
    async def map(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        map_customer: NamedDependency[MapCustomer],
        customer_id: CustomerId,
    ) -> Redirect:
        company_id = whole_number(field(form, "company_id"), 2**31 - 1)
        if not company_id:
            return done(f"/customers/{customer_id}", "error", "Enter the Autotask company ID (a whole number).")
        try:
            mapping = await map_customer.execute(web_actor, customer_id, company_id)
        except UseCaseError as error:
            return done(f"/customers/{customer_id}", "error", words.failed(error, "mapping the customer"))
        return done("/customers", "ok", f"Mapped to Autotask company {mapping.company_name} (ID {mapping.company_id}).")

    @post("/{customer_id:str}/{action:str}", name="customer_action")
    async def act(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        refresh_mapping: NamedDependency[RefreshMapping],
        confirm_mapping: NamedDependency[ConfirmMapping],
        clear_mapping: NamedDependency[ClearMapping],
        customer_id: CustomerId,
        action: Annotated[str, PathParameter(max_length=16)],
    ) -> Redirect:
        chosen = next((a for a in CustomerAction if a.value == action and a is not CustomerAction.MAP), None)
        try:
            match chosen:
                case CustomerAction.REFRESH:
                    m = await refresh_mapping.execute(web_actor, customer_id)
                    text = f"Re-checked: {m.status.value}" + (f" ({m.status_reason})" if m.status_reason else ".")
                case CustomerAction.CONFIRM:
                    m = await confirm_mapping.execute(web_actor, customer_id)
                    text = f"The new name {m.company_name} is confirmed."
                case CustomerAction.CLEAR:
                    await clear_mapping.execute(web_actor, customer_id)
                    text = "The mapping was cleared; no tickets can be created for this customer until it is mapped."
                case _:  # `map` posts the company to its own route
                    return done("/customers", "error", "Unknown action.")
        except UseCaseError as error:
            return done("/customers", "error", words.failed(error, f"{action} of the mapping"))
        return done("/customers", "ok", text)
