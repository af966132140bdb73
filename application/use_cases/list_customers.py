"""Customers with their Autotask mapping (null when never mapped)."""

from __future__ import annotations

from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import UseCase
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission
from domain.runs import Customer


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer: Customer
    mapping: CompanyMapping | None


class ListCustomers(UseCase):
    async def execute(self, actor: Actor, limit: int = 50, after: str | None = None) -> list[CustomerView]:
        await Attempt(self.deps, actor, "customer.list", ("customers", "*")).authorized(Permission.VIEW_RUNS)
        async with self.deps.uow(read_only=True) as uow:
            customers = await uow.customers.list(limit, after)
            mappings = await uow.mappings.get_many([c.id for c in customers])
        return [CustomerView(c, mappings.get(c.id)) for c in customers]
