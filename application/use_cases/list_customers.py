"""Customers with their Autotask mapping (null when never mapped): a page of them, how many a filter selects, and one
customer by id."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import CustomerNotFound
from application.ports import CustomerQuery, MappingFilter
from domain.mapping import CompanyMapping, MappingStatus
from domain.roles import Actor, Permission
from domain.runs import Customer


class CustomerAction(StrEnum):
    """What the caller may do to a customer's mapping now (each a POST of the pages and the API)."""

    MAP = "map"
    """Choose (or change) the Autotask company."""
    REFRESH = "refresh"
    CONFIRM = "confirm"
    """Accept the company's new name."""
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer: Customer
    mapping: CompanyMapping | None
    actions: tuple[CustomerAction, ...] = ()
    """Decided here (`customer_view`), as RunView's are, so no page decides by role or status."""


def customer_view(actor: Actor, customer: Customer, mapping: CompanyMapping | None) -> CustomerView:
    """The customer with what the caller may do to its mapping now: a mapper may map any customer, and re-check or
    clear a mapped one; a renamed company's new name may be confirmed."""
    if not actor.may(Permission.MANAGE_MAPPINGS):
        return CustomerView(customer, mapping)
    actions = [CustomerAction.MAP]
    if mapping is not None and mapping.company_id:
        actions.append(CustomerAction.REFRESH)
        if mapping.status is MappingStatus.RENAMED:
            actions.append(CustomerAction.CONFIRM)
        actions.append(CustomerAction.CLEAR)
    return CustomerView(customer, mapping, tuple(actions))


class ListCustomers(UseCase):
    async def execute(
        self,
        actor: Actor,
        limit: int = 50,
        after: str | None = None,
        search: str | None = None,
        mapping: MappingFilter | None = None,
    ) -> list[CustomerView]:
        """A page by id: the customers, then their mappings, in one query each whatever the page's size."""
        await Attempt(self.deps, actor, "customer.list", ("customers", "*")).authorized(Permission.VIEW_RUNS)
        query = CustomerQuery(search=search or None, mapping=mapping, limit=limit, after=after)
        async with self.deps.uow(read_only=True) as uow:
            customers = await uow.customers.query(query)
            mappings = await uow.mappings.get_many([c.id for c in customers])
        return [customer_view(actor, c, mappings.get(c.id)) for c in customers]


class ListCustomerNames(UseCase):
    async def execute(self, actor: Actor, limit: int) -> list[Customer]:
        """The first `limit` customers by id, ids and names only (no mapping read): what a customer filter offers,
        one light statement whatever the fleet's size."""
        await Attempt(self.deps, actor, "customer.list", ("customers", "*")).authorized(Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            return await uow.customers.list(limit)


class CountCustomers(UseCase):
    async def execute(self, actor: Actor, search: str | None = None, mapping: MappingFilter | None = None) -> int:
        """How many customers the search and mapping filter select (one count in the database)."""
        await Attempt(self.deps, actor, "customer.list", ("customers", "*")).authorized(Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            return await uow.customers.count(CustomerQuery(search=search or None, mapping=mapping))


class GetCustomer(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CustomerView:
        """Any customer by id, with its mapping; CustomerNotFound when Backupchecks does not know it."""
        await Attempt(self.deps, actor, "customer.get", ("customer", customer_id)).authorized(Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            customer = await uow.customers.get(customer_id)
            mapping = None if customer is None else await uow.mappings.get(customer_id)
        if customer is None:
            raise CustomerNotFound()
        return customer_view(actor, customer, mapping)
