"""Customers and their Autotask company mappings."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from application.errors import UseCaseError
from application.ports import Company
from application.use_cases.clear_mapping import ClearMapping
from application.use_cases.confirm_mapping import ConfirmMapping
from application.use_cases.list_customers import CustomerView, ListCustomers
from application.use_cases.map_customer import MapCustomer
from application.use_cases.refresh_all_mappings import MappingsRefreshed, RefreshAllMappings
from application.use_cases.refresh_mapping import RefreshMapping
from application.use_cases.search_companies import SearchCompanies
from domain.roles import Actor, Permission
from entrypoints.http.parameters import CustomerId
from entrypoints.web import words
from entrypoints.web.plumbing import done, field, page, whole_number

CUSTOMERS_SHOWN = 500


def _counts(r: MappingsRefreshed) -> str:
    return (
        f"Re-checked {r.checked} mapping{'s' * (r.checked != 1)}: {r.ok} ok, {r.renamed} renamed, "
        f"{r.invalid} invalid ({r.autotask_calls} Autotask calls)."
    )


async def _views(actor: Actor, list_customers: ListCustomers) -> list[CustomerView]:
    return await list_customers.execute(actor, CUSTOMERS_SHOWN)


class CustomerPages(Controller):
    path = "/customers"

    @get("/")
    async def customers(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        list_customers: NamedDependency[ListCustomers],
        refresh_all_mappings: NamedDependency[RefreshAllMappings],
    ) -> Template:
        notice = None
        views = await _views(web_actor, list_customers)
        # Opening the page re-checks the mappings against Autotask, so a rename there shows without a click.
        if web_actor.may(Permission.MANAGE_MAPPINGS) and any(v.mapping and v.mapping.company_id for v in views):
            try:
                await refresh_all_mappings.execute(web_actor, quiet=True)
            except UseCaseError as error:
                notice = words.failed(error, "re-checking the mappings")
            views = await _views(web_actor, list_customers)
        return page(
            request,
            "customers.html",
            web_actor,
            views=views,
            notice=notice,
            may_map=web_actor.may(Permission.MANAGE_MAPPINGS),
        )

    @get("/{customer_id:str}")
    async def customer(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        list_customers: NamedDependency[ListCustomers],
        search_companies: NamedDependency[SearchCompanies],
        customer_id: CustomerId,
    ) -> Template:
        view = next((v for v in await _views(web_actor, list_customers) if v.customer.id == customer_id), None)
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
            view=view,
            customer_id=customer_id,
            search=search,
            companies=companies,
            more=more,
            notice=notice,
            may_map=web_actor.may(Permission.MANAGE_MAPPINGS),
        )

    @post("/refresh-all")
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

    @post("/{customer_id:str}/map")
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

    @post("/{customer_id:str}/{action:str}")
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
        try:
            if action == "refresh":
                m = await refresh_mapping.execute(web_actor, customer_id)
                text = f"Re-checked: {m.status.value}" + (f" ({m.status_reason})" if m.status_reason else ".")
            elif action == "confirm":
                m = await confirm_mapping.execute(web_actor, customer_id)
                text = f"The new name {m.company_name} is confirmed."
            elif action == "clear":
                await clear_mapping.execute(web_actor, customer_id)
                text = "The mapping was cleared; no tickets can be created for this customer until it is mapped."
            else:
                return done("/customers", "error", "Unknown action.")
        except UseCaseError as error:
            return done("/customers", "error", words.failed(error, f"{action} of the mapping"))
        return done("/customers", "ok", text)
