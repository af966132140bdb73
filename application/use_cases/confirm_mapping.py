"""An operator accepts a renamed company: the mapping goes back to ok."""

from __future__ import annotations

from application.errors import Conflict
from application.use_cases.common import UseCase, audit, authorize, refuse
from application.use_cases.refresh_mapping import changed, load_mapping, store_checked
from domain.audit import Outcome
from domain.mapping import CompanyMapping, MappingStatus
from domain.roles import Actor, Permission


class ConfirmMapping(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CompanyMapping:
        action, target = "mapping.confirm", ("customer", customer_id)
        await authorize(self.deps, actor, Permission.MANAGE_MAPPINGS, action, target)
        mapping = await load_mapping(self.deps, actor, action, customer_id)
        if mapping.status is MappingStatus.INVALID:
            await refuse(self.deps, actor, action, target,
                         Conflict("mapping_invalid", mapping.status_reason or "The mapping is invalid."))
        confirmed = mapping.confirmed()
        async with self.deps.uow() as uow:
            stored = await store_checked(uow, mapping, confirmed)
            if stored:
                await audit(uow, self.deps, actor, action, target, Outcome.OK, company_id=confirmed.company_id,
                            company_name=confirmed.company_name)
                await uow.commit()
        if not stored:
            await refuse(self.deps, actor, action, target, changed())
        return confirmed
