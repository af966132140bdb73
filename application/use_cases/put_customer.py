"""Backupchecks core creates or renames a customer. Its name is Backupchecks' own."""

from __future__ import annotations

from application.errors import InvalidInput
from application.use_cases.common import UseCase, audit, authorize, refuse
from domain.audit import Outcome
from domain.roles import Actor, Permission
from domain.runs import Customer


class PutCustomer(UseCase):
    async def execute(self, actor: Actor, customer: Customer) -> bool:
        """True when the customer is new."""
        action, target = "customer.put", ("customer", customer.id)
        await authorize(self.deps, actor, Permission.WRITE_CORE_DATA, action, target)
        if not customer.name.strip():
            await refuse(self.deps, actor, action, target, InvalidInput("name", "A customer needs a name."))
        async with self.deps.uow() as uow:
            created = await uow.customers.save(customer)
            await audit(uow, self.deps, actor, action, target, Outcome.OK, created=created, name=customer.name)
            await uow.commit()
        return created
