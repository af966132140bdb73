"""Customers: written by Backupchecks core (admin), read by every role."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from application.errors import CustomerNotFound
from application.ports import MappingFilter
from application.use_cases.list_customers import GetCustomer, ListCustomers
from application.use_cases.put_customer import PutCustomer
from domain.roles import Actor
from entrypoints.http.pagination import decode_cursor, paginate
from entrypoints.http.parameters import CustomerId, Limit, NameCursor
from entrypoints.http.response_specs import api_responses
from entrypoints.http.schemas.common import SINGLE_LINE, Saved
from entrypoints.http.schemas.customers import CustomerIn, CustomerOut, CustomerPage, customer_in, customer_out


class CustomerController(Controller):
    path = "/customers"
    tags = ("customers",)

    @put(
        "/{customer_id:str}",
        operation_id="putCustomer",
        status_code=201,
        responses=api_responses(400, 403, success={200: (Saved, "The customer existed and was updated.")}),
    )
    async def put_customer(
        self,
        actor: NamedDependency[Actor],
        put_customer: NamedDependency[PutCustomer],
        customer_id: CustomerId,
        data: JSONBody[CustomerIn],
    ) -> Response[Saved]:
        created = await put_customer.execute(actor, customer_in(customer_id, data))
        return Response(Saved(customer_id, created), status_code=201 if created else 200)

    @get("/", operation_id="listCustomers", responses=api_responses(400))
    async def list_customers(
        self,
        actor: NamedDependency[Actor],
        list_customers: NamedDependency[ListCustomers],
        search: Annotated[
            str | None,
            QueryParameter(
                max_length=100, pattern=SINGLE_LINE, description="Part of the name or id (case-insensitive)."
            ),
        ] = None,
        mapping: Annotated[
            MappingFilter | None,
            QueryParameter(description="A mapping status, or `unmapped` (no company: never mapped, or cleared)."),
        ] = None,
        limit: Limit = 50,
        cursor: NameCursor = None,
    ) -> CustomerPage:
        after = decode_cursor(cursor, str)[0] if cursor else None
        found = await list_customers.execute(actor, limit + 1, after, search=search, mapping=mapping)
        views, next_cursor = paginate(found, limit, lambda v: (v.customer.id,))
        return CustomerPage([customer_out(v) for v in views], next_cursor)

    @get("/{customer_id:str}", operation_id="getCustomer", responses=api_responses(400, CustomerNotFound))
    async def get_customer(
        self, actor: NamedDependency[Actor], get_customer: NamedDependency[GetCustomer], customer_id: CustomerId
    ) -> CustomerOut:
        return customer_out(await get_customer.execute(actor, customer_id))
