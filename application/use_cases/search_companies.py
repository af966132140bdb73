"""Search Autotask companies by name, live (for choosing a mapping)."""

from __future__ import annotations

from application.errors import InvalidInput
from application.ports import CompanyPage, PsaError
from application.use_cases.common import UseCase, authorize, connected, psa_error, refuse
from domain.audit import Outcome
from domain.roles import Actor, Permission


class SearchCompanies(UseCase):
    async def execute(self, actor: Actor, text: str, limit: int = 50, after_id: int | None = None) -> CompanyPage:
        """One page of matches in Autotask's order; `after_id` (from the previous page) walks on. The page says
        when more matches exist, so the operator can be asked to type more."""
        action, target = "company.search", ("companies", text[:64])
        await authorize(self.deps, actor, Permission.MANAGE_MAPPINGS, action, target)
        if not text.strip():
            await refuse(self.deps, actor, action, target,
                         InvalidInput("search", "Give part of a company name to search for."))
        if not 1 <= limit <= 500:
            await refuse(self.deps, actor, action, target, InvalidInput("limit", "The limit is 1 to 500."))
        _, gateway = await connected(self.deps, actor, action, target)
        try:
            return await gateway.search_companies(text.strip(), limit, after_id)
        except PsaError as error:
            await refuse(self.deps, actor, action, target, psa_error(error), Outcome.FAILED)
