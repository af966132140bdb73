"""The ticket a create would send for a run now, shown before the operator confirms (not audited: it changes nothing;
its only Autotask read is the queue's name, from the picklists the connector caches)."""

from __future__ import annotations

from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import Deps
from application.ports import PsaError
from application.psa_connection import connect
from application.ticket_drafts import load, refusal_error, ticket_draft
from domain.draft import TicketDraft, ticket_refusal
from domain.picklists import Picklists, PicklistValue
from domain.roles import Actor, Permission


@dataclass(frozen=True, slots=True)
class TicketPreview:
    draft: TicketDraft
    company_name: str | None
    queue_label: str | None
    """The queue's name in Autotask (from the cached picklists; None when they cannot be read now)."""
    work_type_label: str | None = None
    category_label: str | None = None


class PreviewTicket:
    def __init__(self, deps: Deps, *, base_url: str | None = None) -> None:
        self.deps = deps
        self.base_url = base_url

    async def execute(self, actor: Actor, run_id: str) -> TicketPreview:
        """The create's own refusals (integration off, mapping, run, settings), then its draft."""
        await Attempt(self.deps, actor, "ticket.preview", ("run", run_id)).authorized(Permission.MANAGE_TICKETS)
        loaded = await load(self.deps, run_id)
        gateway = connect(self.deps, loaded.settings)  # the create's refusals of the settings (off, no credentials)
        refusal = ticket_refusal(loaded.run, loaded.mapping, loaded.settings)
        if refusal is not None:
            raise refusal_error(refusal, loaded)
        assert loaded.mapping is not None
        draft = ticket_draft(self.deps, loaded, self.base_url)
        try:
            picklists = await gateway.picklists()
        except PsaError:
            picklists = Picklists()

        def label(values: tuple[PicklistValue, ...], wanted: int | None) -> str | None:
            return next((v.label for v in values if v.id == wanted), None)

        return TicketPreview(
            draft,
            loaded.mapping.company_name,
            label(picklists.queues, draft.queue_id),
            label(picklists.work_types, draft.work_type_id),
            label(picklists.ticket_categories, draft.category_id),
        )
