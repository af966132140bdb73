"""What a run's ticket would be: the facts it is built from, why it cannot be made, and the draft itself. Shared by
CreateTicket, which sends it, and PreviewTicket, which shows it, so the preview is exactly what a create sends."""

from __future__ import annotations

from dataclasses import dataclass, replace

from application.deps import Deps
from application.errors import (
    TICKET_REFUSED,
    MappingInvalid,
    MappingMissing,
    RunNotFound,
    TicketSettingsIncomplete,
    UseCaseError,
)
from domain.draft import TicketDraft, TicketRefusal, build_ticket_draft, missing_ticket_settings
from domain.mapping import CompanyMapping
from domain.runs import Customer, Run
from domain.settings import AutotaskSettings
from domain.tickets import TicketLink


@dataclass(frozen=True, slots=True)
class Loaded:
    run: Run
    customer: Customer
    mapping: CompanyMapping | None
    settings: AutotaskSettings
    link: TicketLink | None


async def load(deps: Deps, run_id: str) -> Loaded:
    async with deps.uow(read_only=True) as uow:
        run = await uow.runs.get(run_id)
        link = await uow.tickets.get(run_id)
        settings = await uow.settings.get()
        customer = await uow.customers.get(run.customer_id) if run else None
        mapping = await uow.mappings.get(run.customer_id) if run else None
    if run is None or customer is None:
        raise RunNotFound(run_id)
    return Loaded(run, customer, mapping, settings, link)


def refusal_error(refusal: TicketRefusal, loaded: Loaded) -> UseCaseError:
    """The error of the domain's reason, in the use cases' words."""
    if refusal is TicketRefusal.MAPPING_MISSING:
        return MappingMissing("Map this customer to an Autotask company first.")
    if refusal is TicketRefusal.MAPPING_INVALID:
        assert loaded.mapping is not None
        return MappingInvalid(loaded.mapping.status_reason or "The customer's mapping is invalid.")
    if refusal is TicketRefusal.TICKET_SETTINGS_INCOMPLETE:
        missing = missing_ticket_settings(loaded.settings, loaded.run.status)
        return TicketSettingsIncomplete(
            f"Autotask would refuse the ticket: set {', '.join(missing)} in the Autotask settings first."
        )
    return TICKET_REFUSED[refusal]()


def ticket_draft(deps: Deps, loaded: Loaded, base_url: str | None) -> TicketDraft:
    """The ticket as it would be sent now. `base_url` (BACKUPCHECKS_BASE_URL) is the run reference when the settings
    name none."""
    assert loaded.mapping is not None
    settings = replace(loaded.settings, backupchecks_base_url=loaded.settings.backupchecks_base_url or base_url)
    return build_ticket_draft(loaded.run, loaded.customer, loaded.mapping, settings, deps.clock.now())
