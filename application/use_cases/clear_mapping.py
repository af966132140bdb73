"""Clear a customer's mapping: its status becomes `missing` and ticket creation is blocked."""

from __future__ import annotations

from application.errors import NotFound
from application.use_cases.common import UseCase, audit, authorize, refuse
from application.use_cases.refresh_mapping import changed, store_checked
from domain.audit import Outcome
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission


class ClearMapping(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CompanyMapping:
        action, target = "mapping.clear", ("customer", customer_id)
        await authorize(self.deps, actor, Permission.MANAGE_MAPPINGS, action, target)
        async with self.deps.uow(read_only=True) as uow:
            customer = await uow.customers.get(customer_id)
        if customer is None:
            await refuse(self.deps, actor, action, target, NotFound("customer_not_found", "Unknown customer."))
        async with self.deps.uow() as uow:
            previous = await uow.mappings.get(customer_id)
            cleared = previous.cleared() if previous else CompanyMapping.missing(customer_id)
            stored = await store_checked(uow, previous, cleared)
            if stored:
                await audit(uow, self.deps, actor, action, target, Outcome.OK,
                            previous_company_id=previous.company_id if previous else None)
                await uow.commit()
        if not stored:
            await refuse(self.deps, actor, action, target, changed())
        return cleared
