"""Map a customer to an Autotask company, checked live. IDs lead; nothing maps automatically."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import CompanyInaccessible, CompanyInactive, CompanyNotFound, MappingChanged, UseCaseError
from application.mapping_checks import customer_exists, store_checked
from application.ports import PsaError, PsaForbidden, PsaGateway
from application.psa_connection import connected, look_up_company, psa_error
from domain.mapping import CompanyLookup, CompanyMapping, LookupOutcome
from domain.roles import Actor, Permission

_REFUSALS: dict[LookupOutcome, type[CompanyNotFound | CompanyInactive]] = {
    LookupOutcome.NOT_FOUND: CompanyNotFound,
    LookupOutcome.INACTIVE: CompanyInactive,
}


async def _look_up(gateway: PsaGateway, company_id: int) -> CompanyLookup:
    """The company, found and active; otherwise the refusal (or failure), noting the company id."""
    try:
        lookup = await look_up_company(gateway, company_id)
    except PsaForbidden as error:  # nothing is mapped; the API user's rights, not the company, are the problem
        raise CompanyInaccessible(
            f"Autotask company {company_id} is not accessible to the API user: check its "
            f"security level ({error.message})."
        ).noting(company_id=company_id) from error
    except PsaError as error:
        raise psa_error(error).noting(company_id=company_id) from error
    if lookup.outcome is not LookupOutcome.FOUND:
        refusal: UseCaseError = _REFUSALS[lookup.outcome](company_id)
        raise refusal.noting(company_id=company_id)
    return lookup


class MapCustomer(UseCase):
    async def execute(self, actor: Actor, customer_id: str, company_id: int) -> CompanyMapping:
        async with Attempt(self.deps, actor, "mapping.set", ("customer", customer_id)) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            await customer_exists(self.deps, customer_id)
            _, gateway = await connected(self.deps)
            lookup = await _look_up(gateway, company_id)
            async with self.deps.uow() as uow:
                previous = await uow.mappings.get(customer_id)
                mapping = CompanyMapping.from_lookup(customer_id, lookup, self.deps.clock.now(), replacing=previous)
                stored = await store_checked(uow, previous, mapping)
                if stored:
                    await attempt.record(uow, company_id=company_id, company_name=mapping.company_name)
                    await uow.commit()
            if not stored:
                raise MappingChanged()
            return mapping
