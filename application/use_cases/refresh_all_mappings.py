"""Re-check every mapped customer against Autotask (an explicit action; nothing is re-mapped)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from application.attempts import Attempt
from application.deps import UseCase
from application.mapping_checks import store_checked
from application.ports import PsaError, PsaGateway
from application.psa_connection import connected, look_up_company, psa_error
from domain.audit import Outcome
from domain.mapping import CompanyLookup, CompanyMapping, MappingStatus
from domain.roles import Actor, Permission


@dataclass(frozen=True, slots=True)
class MappingsRefreshed:
    checked: int
    ok: int
    renamed: int
    invalid: int
    autotask_calls: int


async def _check_all(
    gateway: PsaGateway, mappings: list[CompanyMapping], now: datetime
) -> tuple[list[tuple[CompanyMapping, CompanyMapping]], PsaError | None]:
    """Each mapping with what Autotask says of its company now: one bulk read (an `in` query per 400 companies), then
    a read of its own for each company missing from the answer (deleted, or hidden from the API user). On a failure,
    what was checked so far and the error (Autotask is likely down for the rest too)."""
    checked: list[tuple[CompanyMapping, CompanyMapping]] = []
    try:
        found = await gateway.get_companies([m.company_id for m in mappings if m.company_id is not None])
    except PsaError as error:
        return checked, error
    lookups = {c.id: CompanyLookup.found(c.id, c.name, is_active=c.is_active) for c in found.values()}
    for mapping in mappings:
        assert mapping.company_id is not None
        if mapping.company_id not in lookups:
            try:
                lookups[mapping.company_id] = await look_up_company(gateway, mapping.company_id)
            except PsaError as error:
                return checked, error
        checked.append((mapping, mapping.after_lookup(lookups[mapping.company_id], now)))
    return checked, None


def _unchanged(before: CompanyMapping, after: CompanyMapping) -> bool:
    """A re-check that found what the mapping already says (only its check time would move)."""
    return replace(after, last_synced_at=before.last_synced_at, version=before.version) == before


class RefreshAllMappings(UseCase):
    async def execute(self, actor: Actor, *, quiet: bool = False) -> MappingsRefreshed:
        """`quiet` (a page view): store and audit only what changed; a re-check that changed nothing writes
        nothing."""
        async with Attempt(self.deps, actor, "mapping.refresh_all", ("mappings", "*")) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            _, gateway = await connected(self.deps)
            async with self.deps.uow(read_only=True) as uow:
                mappings = [m for m in await uow.mappings.list() if m.company_id is not None]
            checked, failure = await _check_all(gateway, mappings, self.deps.clock.now())
            not_checked = len(mappings) - len(checked)
            if quiet:
                checked = [(before, after) for before, after in checked if not _unchanged(before, after)]
                if not checked and failure is None:
                    return MappingsRefreshed(0, 0, 0, 0, gateway.calls)
            async with self.deps.uow() as uow:
                stored = [after for before, after in checked if await store_checked(uow, before, after)]
                counts = {status: sum(1 for m in stored if m.status is status) for status in MappingStatus}
                summary = MappingsRefreshed(
                    len(stored),
                    counts[MappingStatus.OK],
                    counts[MappingStatus.RENAMED],
                    counts[MappingStatus.INVALID],
                    gateway.calls,
                )
                await attempt.record(
                    uow,
                    Outcome.OK if failure is None else Outcome.FAILED,
                    checked=summary.checked,
                    ok=summary.ok,
                    renamed=summary.renamed,
                    invalid=summary.invalid,
                    changed_meanwhile=len(checked) - len(stored),
                    not_checked=not_checked,
                    autotask_calls=summary.autotask_calls,
                )
                await uow.commit()
            if failure is not None:
                error = psa_error(failure)
                error.recorded = True  # the summary above is its record
                raise error from failure
            return summary
