"""An operator accepts a renamed company: the mapping goes back to ok."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import MappingChanged, MappingInvalid
from application.mapping_checks import load_mapping, store_checked
from domain.mapping import CompanyMapping, MappingStatus
from domain.roles import Actor, Permission


class ConfirmMapping(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CompanyMapping:
        async with Attempt(self.deps, actor, "mapping.confirm", ("customer", customer_id)) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            mapping = await load_mapping(self.deps, customer_id)
            if mapping.status is MappingStatus.INVALID:
                raise MappingInvalid(mapping.status_reason or "The mapping is invalid.")
            confirmed = mapping.confirmed()
            async with self.deps.uow() as uow:
                stored = await store_checked(uow, mapping, confirmed)
                if stored:
                    await attempt.record(uow, company_id=confirmed.company_id, company_name=confirmed.company_name)
                    await uow.commit()
            if not stored:
                raise MappingChanged()
            return confirmed
