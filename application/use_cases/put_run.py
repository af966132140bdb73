"""Backupchecks core reports a run (created or updated with its objects and messages)."""

from __future__ import annotations

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import RunHasTicket, UnknownCustomer
from domain.roles import Actor, Permission
from domain.runs import Run


class PutRun(UseCase):
    async def execute(self, actor: Actor, run: Run) -> bool:
        """True when the run is new."""
        async with Attempt(self.deps, actor, "run.put", ("run", run.id)) as attempt:
            attempt.authorize(Permission.WRITE_CORE_DATA)
            async with self.deps.uow() as uow:  # check and save in one transaction: a ticket cannot slip in between
                stored = await uow.runs.get(run.id)
                if await uow.customers.get(run.customer_id) is None:
                    raise UnknownCustomer(run.customer_id).noting(customer_id=run.customer_id)
                created = await uow.runs.save(run)
                link = await uow.tickets.get(run.id)
                if stored is not None and link is not None and stored.customer_id != run.customer_id:
                    raise RunHasTicket().noting(customer_id=run.customer_id)
                await attempt.record(uow, created=created, customer_id=run.customer_id, status=run.status.value)
                await uow.commit()
            return created
