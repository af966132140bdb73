"""What the mapping use cases share: the customer's mapping to a company (or the refusal), a live re-check of it, and
storing the checked mapping only over the one it was computed from."""

from __future__ import annotations

from application.deps import Deps
from application.errors import CustomerNotFound, MappingMissing
from application.ports import PsaGateway, UnitOfWork
from application.psa_connection import look_up_company
from domain.mapping import CompanyMapping


async def load_mapping(deps: Deps, customer_id: str) -> CompanyMapping:
    """The customer's mapping to a company; CustomerNotFound or MappingMissing."""
    async with deps.uow(read_only=True) as uow:
        customer = await uow.customers.get(customer_id)
        mapping = await uow.mappings.get(customer_id)
    if customer is None:
        raise CustomerNotFound()
    if mapping is None or mapping.company_id is None:
        raise MappingMissing()
    return mapping


async def customer_exists(deps: Deps, customer_id: str) -> None:
    """CustomerNotFound unless Backupchecks knows the customer."""
    async with deps.uow(read_only=True) as uow:
        if await uow.customers.get(customer_id) is None:
            raise CustomerNotFound()


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
