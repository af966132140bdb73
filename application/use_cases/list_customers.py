"""Customers with their Autotask mapping (null when never mapped)."""

from __future__ import annotations

from dataclasses import dataclass

from application.use_cases.common import UseCase, authorize
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission
from domain.runs import Customer


@dataclass(frozen=True, slots=True)
class CustomerView:
    customer: Customer
    mapping: CompanyMapping | None


class ListCustomers(UseCase):
    async def execute(self, actor: Actor, limit: int = 50, after: str | None = None) -> list[CustomerView]:
        await authorize(self.deps, actor, Permission.VIEW_RUNS, "customer.list", ("customers", "*"))
        async with self.deps.uow() as uow:
            customers = await uow.customers.list(limit, after)
            return [CustomerView(c, await uow.mappings.get(c.id)) for c in customers]
