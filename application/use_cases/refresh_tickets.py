"""Poll the status of linked tickets in bulk: snapshots refreshed, tickets completed or deleted in Autotask noticed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from application.ports import PsaError
from application.use_cases.common import UseCase, audit, authorize, connected, psa_error, refuse
from domain.audit import Outcome
from domain.roles import Actor, Permission
from domain.tickets import LinkState, TicketLink, TicketStatus


@dataclass(frozen=True, slots=True)
class TicketsRefreshed:
    checked: int
    changed: int
    deleted: int
    autotask_calls: int


class RefreshTickets(UseCase):
    async def execute(self, actor: Actor, run_ids: Sequence[str] | None = None) -> TicketsRefreshed:
        deps, action, target = self.deps, "ticket.refresh", ("tickets", "*")
        await authorize(deps, actor, Permission.MANAGE_TICKETS, action, target)
        _, gateway = await connected(deps, actor, action, target)
        async with deps.uow(read_only=True) as uow:
            if run_ids is None:
                links = await uow.tickets.list_open()
            else:
                links = [x for x in (await uow.tickets.get_many(run_ids)).values() if x.state is LinkState.LINKED]
        ids = [x.ticket_id for x in links if x.ticket_id is not None]
        try:
            found = await gateway.get_tickets(ids) if ids else {}
            for missing in (i for i in ids if i not in found):  # confirm one by one before calling it deleted
                facts = await gateway.get_ticket(missing)
                if facts is not None:
                    found[missing] = facts
            labels = await gateway.picklists() if found else None
        except PsaError as error:
            await refuse(deps, actor, action, target, psa_error(error), Outcome.FAILED)
        now = deps.clock.now()
        updates: list[tuple[TicketLink, TicketLink]] = []
        for link in links:
            assert link.ticket_id is not None
            facts = found.get(link.ticket_id)
            if facts is None:
                updates.append((link.gone(), link))
            elif link.status is None or facts.status != link.status.value:
                assert labels is not None
                updates.append((link.with_status(TicketStatus(facts.status, labels.status_label(facts.status), now)),
                                link))
        changed = deleted = 0
        async with deps.uow() as uow:
            for new, old in updates:
                if await uow.tickets.update(new, old.version):
                    deleted += new.state is LinkState.DELETED
                    changed += new.state is not LinkState.DELETED
            summary = TicketsRefreshed(len(links), changed, deleted, gateway.calls)
            await audit(uow, deps, actor, action, target, Outcome.OK, checked=summary.checked,
                        changed=changed, deleted=deleted, autotask_calls=summary.autotask_calls)
            await uow.commit()
        return summary
