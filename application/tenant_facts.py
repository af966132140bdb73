"""What Backupchecks observes of the tenant behind the settings: its name, and what the API user's security level lets
it do and see (docs/adr/0020). Test connection reads both; a resolve re-reads the rights when they are over an hour
old, so "no time entries" is never taken from an API user that cannot see them all."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from application.deps import Deps
from application.ports import AccessLevel, PsaGateway, Rights
from domain.settings import AutotaskSettings

MISSING_RIGHTS = {
    "create_tickets": "create tickets",
    "update_tickets": "edit tickets (to complete them)",
    "query_tickets": "see tickets",
    "create_notes": "add ticket notes",
    "query_notes": "see ticket notes",
    "query_companies": "see companies (CRM)",
    "see_all_time_entries": "see every time entry (full access, not Mine or Restricted)",
}
"""Each right the integration needs, by its stable code in `missing_rights`, in the words an admin looks for."""


def missing_rights(rights: Rights) -> tuple[str, ...]:
    """The codes of what the API user may not do (or, for time entries, not fully see), in MISSING_RIGHTS order."""
    none = AccessLevel.NONE
    lacking = {
        "create_tickets": rights.tickets.create is none,
        "update_tickets": rights.tickets.update is none,
        "query_tickets": rights.tickets.query is none,
        "create_notes": rights.notes.create is none,
        "query_notes": rights.notes.query is none,
        "query_companies": rights.companies.query is none,
        "see_all_time_entries": rights.time_entries.query is not AccessLevel.FULL,
    }
    return tuple(code for code in MISSING_RIGHTS if lacking[code])


def rights_stale(settings: AutotaskSettings, now: datetime, max_age_seconds: float) -> bool:
    checked = settings.rights_checked_at
    return checked is None or (now - checked).total_seconds() >= max_age_seconds


async def observe_rights(deps: Deps, settings: AutotaskSettings, gateway: PsaGateway) -> AutotaskSettings:
    """Read the API user's rights and store whether it sees every time entry. Answers the settings as stored."""
    rights = await gateway.rights()
    return await remember(deps, settings, time_entries_visible=rights.time_entries.query is AccessLevel.FULL)


async def remember(
    deps: Deps, read: AutotaskSettings, *, tenant_name: str | None = None, time_entries_visible: bool
) -> AutotaskSettings:
    """Store what was observed with the settings `read`, unless the credentials changed meanwhile (then it was
    observed of another tenant or user and is dropped). `tenant_name` None keeps the stored name."""
    async with deps.uow() as uow:
        current = await uow.settings.get()
        if current.reach != read.reach:
            return current
        observed = replace(
            current,
            tenant_name=current.tenant_name if tenant_name is None else tenant_name,
            time_entries_visible=time_entries_visible,
            rights_checked_at=deps.clock.now(),
        )
        await uow.settings.save(observed)
        await uow.commit()
    return observed
