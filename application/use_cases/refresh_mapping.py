"""Re-check one customer's mapping against Autotask now: renamed and invalid as found."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import MappingChanged
from application.mapping_checks import load_mapping, recheck, store_checked
from application.ports import PsaError
from application.psa_connection import connected, psa_error
from domain.mapping import CompanyMapping
from domain.roles import Actor, Permission


class RefreshMapping(UseCase):
    async def execute(self, actor: Actor, customer_id: str) -> CompanyMapping:
        async with Attempt(self.deps, actor, "mapping.refresh", ("customer", customer_id)) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            mapping = await load_mapping(self.deps, customer_id)
            _, gateway = await connected(self.deps)
            try:
                checked = await recheck(self.deps, gateway, mapping)
            except PsaError as error:
                raise psa_error(error) from error
            async with self.deps.uow() as uow:
                stored = await store_checked(uow, mapping, checked)
                if stored:
                    await attempt.record(
                        uow,
                        status=checked.status.value,
                        company_id=checked.company_id,
                        company_name=checked.company_name,
                    )
                    await uow.commit()
            if not stored:
                raise MappingChanged()
            return checked
