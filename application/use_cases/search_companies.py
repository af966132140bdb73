"""Search Autotask companies by name, live (for choosing a mapping)."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import InvalidInput
from application.ports import CompanyPage, PsaError
from application.psa_connection import connected, psa_error
from domain.roles import Actor, Permission


class SearchCompanies(UseCase):
    async def execute(self, actor: Actor, text: str, limit: int = 50, after_id: int | None = None) -> CompanyPage:
        """One page of matches in Autotask's order; `after_id` (from the previous page) walks on. The page says
        when more matches exist, so the operator can be asked to type more."""
        async with Attempt(self.deps, actor, "company.search", ("companies", text[:64])) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            if not text.strip():
                raise InvalidInput("search", "Give part of a company name to search for.")
            if not 1 <= limit <= 500:
                raise InvalidInput("limit", "The limit is 1 to 500.")
            _, gateway = await connected(self.deps)
            try:
                return await gateway.search_companies(text.strip(), limit, after_id)
            except PsaError as error:
                raise psa_error(error) from error
