"""Mapping suggestions for unmapped customers (issue 19): the tenant's active companies are read in bulk, a page of
500 per Autotask call, never one call per customer; accepting a suggestion maps by ID, checked live and audited like
`PUT …/autotask-mapping`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import InvalidInput, UseCaseError
from application.ports import CustomerQuery, MappingFilter, PsaError, PsaGateway
from application.psa_connection import connected, psa_error
from application.use_cases.map_customer import MapCustomer
from domain.roles import Actor, Permission
from domain.suggestions import Candidate, CompanyIndex, Suggestion

COMPANY_PAGE = 500
CUSTOMER_BATCH = 500
ACCEPT_MAX = 500


async def company_index(gateway: PsaGateway) -> CompanyIndex:
    """Every active company the API user sees, page by page (one Autotask call per 500)."""
    candidates: list[Candidate] = []
    after: int | None = None
    try:
        while True:
            page = await gateway.active_companies(COMPANY_PAGE, after)
            candidates += [Candidate(c.id, c.name) for c in page.companies if c.is_active]
            if page.after_id is None:
                return CompanyIndex(candidates)
            after = page.after_id
    except PsaError as error:
        raise psa_error(error) from error


class SuggestMappings(UseCase):
    async def execute(self, actor: Actor, limit: int = 50, after: str | None = None) -> list[Suggestion]:
        """Up to `limit` suggestions for unmapped customers by id, beyond the customer `after`. A suggestion maps
        nothing."""
        async with Attempt(self.deps, actor, "mapping.suggest", ("customers", "*")) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            _, gateway = await connected(self.deps)
            index = await company_index(gateway)
            found: list[Suggestion] = []
            while len(found) < limit:
                async with self.deps.uow(read_only=True) as uow:
                    query = CustomerQuery(mapping=MappingFilter.UNMAPPED, limit=CUSTOMER_BATCH, after=after)
                    customers = await uow.customers.query(query)
                for customer in customers:
                    suggestion = index.suggest(customer.id, customer.name)
                    if suggestion is not None:
                        found.append(suggestion)
                if len(customers) < CUSTOMER_BATCH:
                    break
                after = customers[-1].id
            return found[:limit]


@dataclass(frozen=True, slots=True)
class Accepted:
    mapped: int
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(customer id, code) of each one not mapped."""


class AcceptSuggestions(UseCase):
    async def execute(self, actor: Actor, customer_ids: Sequence[str]) -> Accepted:
        """Map each customer to the company suggested for it now, each checked live and stored (and audited) as
        MapCustomer does. A customer with a company already, or without a suggestion now, is refused."""
        async with Attempt(self.deps, actor, "mapping.accept_suggestions", ("customers", "*")) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            ids = list(dict.fromkeys(customer_ids))
            if not 1 <= len(ids) <= ACCEPT_MAX:
                raise InvalidInput("customer_ids", f"Give 1 to {ACCEPT_MAX} customer ids.")
            _, gateway = await connected(self.deps)
            index = await company_index(gateway)
            async with self.deps.uow(read_only=True) as uow:
                customers = await uow.customers.get_many(ids)
                mappings = await uow.mappings.get_many(ids)
        mapped, refused = 0, []
        map_customer = MapCustomer(self.deps)
        for customer_id in ids:
            customer, mapping = customers.get(customer_id), mappings.get(customer_id)
            suggestion = None if customer is None else index.suggest(customer.id, customer.name)
            if customer is None:
                refused.append((customer_id, "customer_not_found"))
            elif mapping is not None and mapping.company_id is not None:
                refused.append((customer_id, "already_mapped"))
            elif suggestion is None:
                refused.append((customer_id, "no_suggestion"))
            else:
                try:
                    await map_customer.execute(actor, customer_id, suggestion.company_id)
                    mapped += 1
                except UseCaseError as error:
                    refused.append((customer_id, error.code))
        return Accepted(mapped, refused)
