"""Clear a customer's mapping: its status becomes `missing` and ticket creation is blocked."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import MappingChanged
from application.mapping_checks import customer_exists, store_checked
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission


class ClearMapping(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CompanyMapping:
        async with Attempt(self.deps, actor, "mapping.clear", ("customer", customer_id)) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            await customer_exists(self.deps, customer_id)
            async with self.deps.uow() as uow:
                previous = await uow.mappings.get(customer_id)
                cleared = previous.cleared() if previous else CompanyMapping.missing(customer_id)
                stored = await store_checked(uow, previous, cleared)
                if stored:
                    await attempt.record(uow, previous_company_id=previous.company_id if previous else None)
                    await uow.commit()
            if not stored:
                raise MappingChanged()
            return cleared
