"""Re-check every mapped customer against Autotask (an explicit action; nothing is re-mapped)."""

from __future__ import annotations

from dataclasses import dataclass

from application.ports import PsaError
from application.use_cases.common import UseCase, audit, authorize, connected, psa_error
from application.use_cases.refresh_mapping import recheck, store_checked
from domain.audit import Outcome
from domain.mapping import CompanyMapping, MappingStatus
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
        checked: list[tuple[CompanyMapping, CompanyMapping]] = []
        failure: PsaError | None = None
        for mapping in mappings:
            try:
                checked.append((mapping, await recheck(self.deps, gateway, mapping)))
            except PsaError as error:  # keep what was checked; Autotask is likely down for the rest too
                failure = error
                break
        async with self.deps.uow() as uow:
            stored = [after for before, after in checked if await store_checked(uow, before, after)]
            counts = {status: sum(1 for m in stored if m.status is status) for status in MappingStatus}
            summary = MappingsRefreshed(len(stored), counts[MappingStatus.OK], counts[MappingStatus.RENAMED],
                                        counts[MappingStatus.INVALID], gateway.calls)
            await audit(uow, self.deps, actor, action, target, Outcome.OK if failure is None else Outcome.FAILED,
                        checked=summary.checked, ok=summary.ok, renamed=summary.renamed, invalid=summary.invalid,
                        changed_meanwhile=len(checked) - len(stored), not_checked=len(mappings) - len(checked),
                        autotask_calls=summary.autotask_calls)
            await uow.commit()
        if failure is not None:
            raise psa_error(failure) from failure
        return summary
