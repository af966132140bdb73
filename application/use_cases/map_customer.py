"""Map a customer to an Autotask company, checked live. IDs lead; nothing maps automatically."""

from __future__ import annotations

from application.errors import NotFound, Unprocessable
from application.ports import PsaError, PsaForbidden
from application.use_cases.common import UseCase, audit, authorize, connected, look_up_company, psa_error, refuse
from application.use_cases.refresh_mapping import changed, store_checked
from domain.audit import Outcome
from domain.mapping import CompanyMapping, LookupOutcome
from domain.roles import Actor, Permission

_REFUSALS = {
    LookupOutcome.NOT_FOUND: ("company_not_found", "No Autotask company has ID {id}."),
    LookupOutcome.INACTIVE: ("company_inactive", "Autotask company {id} is inactive."),
}


class MapCustomer(UseCase):
    async def execute(self, actor: Actor, customer_id: str, company_id: int) -> CompanyMapping:
        action, target = "mapping.set", ("customer", customer_id)
        await authorize(self.deps, actor, Permission.MANAGE_MAPPINGS, action, target)
        async with self.deps.uow(read_only=True) as uow:
            customer = await uow.customers.get(customer_id)
        if customer is None:
            await refuse(self.deps, actor, action, target, NotFound("customer_not_found", "Unknown customer."))
        _, gateway = await connected(self.deps, actor, action, target)
        try:
            lookup = await look_up_company(gateway, company_id)
        except PsaForbidden as error:  # nothing is mapped; the API user's rights, not the company, are the problem
            await refuse(self.deps, actor, action, target, Unprocessable(
                "company_inaccessible", f"Autotask company {company_id} is not accessible to the API user: "
                                        f"check its security level ({error.message})."), company_id=company_id)
        except PsaError as error:
            await refuse(self.deps, actor, action, target, psa_error(error), Outcome.FAILED, company_id=company_id)
        if lookup.outcome is not LookupOutcome.FOUND:
            code, message = _REFUSALS[lookup.outcome]
            await refuse(self.deps, actor, action, target, Unprocessable(code, message.format(id=company_id)),
                         company_id=company_id)
        async with self.deps.uow() as uow:
            previous = await uow.mappings.get(customer_id)
            mapping = CompanyMapping.from_lookup(customer_id, lookup, self.deps.clock.now(), replacing=previous)
            stored = await store_checked(uow, previous, mapping)
            if stored:
                await audit(uow, self.deps, actor, action, target, Outcome.OK, company_id=company_id,
                            company_name=mapping.company_name)
                await uow.commit()
        if not stored:
            await refuse(self.deps, actor, action, target, changed())
        return mapping
