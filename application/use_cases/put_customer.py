"""Backupchecks core creates or renames a customer. Its name is Backupchecks' own."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import InvalidInput
from domain.roles import Actor, Permission
from domain.runs import Customer


class PutCustomer(UseCase):
    async def execute(self, actor: Actor, customer: Customer) -> bool:
        """True when the customer is new."""
        async with Attempt(self.deps, actor, "customer.put", ("customer", customer.id)) as attempt:
            attempt.authorize(Permission.WRITE_CORE_DATA)
            if not customer.name.strip():
                raise InvalidInput("name", "A customer needs a name.")
            async with self.deps.uow() as uow:
                created = await uow.customers.save(customer)
                await attempt.record(uow, created=created, name=customer.name)
                await uow.commit()
            return created
