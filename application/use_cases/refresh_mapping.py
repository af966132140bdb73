"""Re-check one customer's mapping against Autotask now: renamed and invalid as found."""

from __future__ import annotations

from application.errors import Conflict, NotFound
from application.ports import PsaError, PsaGateway, UnitOfWork
from application.use_cases.common import Deps, UseCase, audit, authorize, connected, look_up_company, psa_error, refuse
from domain.audit import Outcome
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission


async def load_mapping(deps: Deps, actor: Actor, action: str, customer_id: str) -> CompanyMapping:
    """The customer's mapping to a company, or an audited `mapping_missing` refusal."""
    async with deps.uow(read_only=True) as uow:
        customer = await uow.customers.get(customer_id)
        mapping = await uow.mappings.get(customer_id)
    if customer is None:
        await refuse(deps, actor, action, ("customer", customer_id),
                     NotFound("customer_not_found", "Unknown customer."))
    if mapping is None or mapping.company_id is None:
        await refuse(deps, actor, action, ("customer", customer_id),
                     Conflict("mapping_missing", "The customer is not mapped to an Autotask company."))
    return mapping


def changed() -> Conflict:
    return Conflict("mapping_changed", "The mapping was changed while it was being checked; look at it again.")


async def store_checked(uow: UnitOfWork, before: CompanyMapping | None, after: CompanyMapping) -> bool:
    """Store `after` only over `before` (compare-and-set on the version; `before` None: the customer had no mapping),
    so no write is computed from a mapping someone else has changed meanwhile."""
    if before is None:
        await uow.mappings.save(after)
        return True
    return await uow.mappings.update(after, before.version)


async def recheck(deps: Deps, gateway: PsaGateway, mapping: CompanyMapping) -> CompanyMapping:
    assert mapping.company_id is not None
    lookup = await look_up_company(gateway, mapping.company_id)
    return mapping.after_lookup(lookup, deps.clock.now())


class RefreshMapping(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CompanyMapping:
        action, target = "mapping.refresh", ("customer", customer_id)
        await authorize(self.deps, actor, Permission.MANAGE_MAPPINGS, action, target)
        mapping = await load_mapping(self.deps, actor, action, customer_id)
        _, gateway = await connected(self.deps, actor, action, target)
        try:
            checked = await recheck(self.deps, gateway, mapping)
        except PsaError as error:
            await refuse(self.deps, actor, action, target, psa_error(error), Outcome.FAILED)
        async with self.deps.uow() as uow:
            stored = await store_checked(uow, mapping, checked)
            if stored:
                await audit(uow, self.deps, actor, action, target, Outcome.OK, status=checked.status.value,
                            company_id=checked.company_id, company_name=checked.company_name)
                await uow.commit()
        if not stored:
            await refuse(self.deps, actor, action, target, changed())
        return checked
