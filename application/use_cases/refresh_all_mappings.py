"""Re-check every mapped customer against Autotask (an explicit action; nothing is re-mapped)."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import PsaError
from application.use_cases.common import UseCase, audit, authorize, connected, psa_error, refuse
from application.use_cases.refresh_mapping import recheck
from domain.audit import Outcome
from domain.mapping import MappingStatus
from domain.roles import Actor, Permission


@dataclass(frozen=True, slots=True)
class MappingsRefreshed:
    checked: int
    ok: int
    renamed: int
    invalid: int
    autotask_calls: int


class RefreshAllMappings(UseCase):
    async def execute(self, actor: Actor) -> MappingsRefreshed:
        action, target = "mapping.refresh_all", ("mappings", "*")
        await authorize(self.deps, actor, Permission.MANAGE_MAPPINGS, action, target)
        _, gateway = await connected(self.deps, actor, action, target)
        async with self.deps.uow() as uow:
            mappings = [m for m in await uow.mappings.list() if m.company_id is not None]
        checked = []
        try:
            for mapping in mappings:
                checked.append(await recheck(self.deps, gateway, mapping))
        except PsaError as error:
            await refuse(self.deps, actor, action, target, psa_error(error), Outcome.FAILED, checked=len(checked))
        counts = {status: sum(1 for m in checked if m.status is status) for status in MappingStatus}
        summary = MappingsRefreshed(len(checked), counts[MappingStatus.OK], counts[MappingStatus.RENAMED],
                                    counts[MappingStatus.INVALID], gateway.calls)
        async with self.deps.uow() as uow:
            for mapping in checked:
                await uow.mappings.save(mapping)
            await audit(uow, self.deps, actor, action, target, Outcome.OK, checked=summary.checked, ok=summary.ok,
                        renamed=summary.renamed, invalid=summary.invalid, autotask_calls=summary.autotask_calls)
            await uow.commit()
        return summary
