"""Re-check every mapped customer against Autotask (an explicit action; nothing is re-mapped)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from application.attempts import Attempt
from application.deps import Deps
from application.page_refresh import CUSTOMERS, at_most_every
from application.ports import JobStore, PsaError, PsaGateway
from application.psa_connection import connected, look_up_company, psa_error
from domain.audit import Outcome
from domain.mapping import CompanyLookup, CompanyMapping, MappingStatus
from domain.roles import Actor, Permission

PAGE_EVERY = timedelta(minutes=10)
"""The Customers page re-checks the mappings in the background at most this often (the scheduled mapping check
keeps them fresh in between)."""


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


class RefreshAllMappings:
    """`jobs` holds the Customers page's refresh lease; without it every view of the page re-checks."""

    def __init__(self, deps: Deps, *, jobs: JobStore | None = None) -> None:
        self.deps = deps
        self.jobs = jobs

    async def on_page_view(self, actor: Actor) -> bool:
        """After the Customers page is sent: a quiet re-check, at most once per PAGE_EVERY across processes (a
        failure is logged); True when this view ran it."""
        work = partial(self.execute, actor, quiet=True)
        return await at_most_every(self.jobs, CUSTOMERS, PAGE_EVERY, self.deps.clock, work)

    async def execute(self, actor: Actor, *, quiet: bool = False) -> MappingsRefreshed:
        """`quiet` (a page view): store and audit only what changed; a re-check that changed nothing writes
        nothing. Whatever is stored is stored in one compare-and-set statement per batch."""
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
            summary = await self._store(attempt, checked, failure, not_checked, gateway.calls)
            if failure is not None:
                error = psa_error(failure)
                error.recorded = True  # the summary above is its record
                raise error from failure
            return summary

    async def _store(
        self,
        attempt: Attempt,
        checked: list[tuple[CompanyMapping, CompanyMapping]],
        failure: PsaError | None,
        not_checked: int,
        calls: int,
    ) -> MappingsRefreshed:
        """Store each re-checked mapping over the version it was computed from, with the audit record of the
        counts."""
        async with self.deps.uow() as uow:
            won = await uow.mappings.update_many([(after, before.version) for before, after in checked])
            stored = [after for _, after in checked if after.customer_id in won]
            counts = {status: sum(1 for m in stored if m.status is status) for status in MappingStatus}
            summary = MappingsRefreshed(
                len(stored),
                counts[MappingStatus.OK],
                counts[MappingStatus.RENAMED],
                counts[MappingStatus.INVALID],
                calls,
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
        return summary
