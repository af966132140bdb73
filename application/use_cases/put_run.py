"""Backupchecks core reports a run (created or updated with its objects and messages)."""

from __future__ import annotations

from application.errors import Conflict, Unprocessable, UseCaseError
from application.use_cases.common import UseCase, audit, authorize, refuse
from domain.audit import Outcome
from domain.roles import Actor, Permission
from domain.runs import Run


class PutRun(UseCase):
    async def execute(self, actor: Actor, run: Run) -> bool:
        """True when the run is new."""
        action, target = "run.put", ("run", run.id)
        await authorize(self.deps, actor, Permission.WRITE_CORE_DATA, action, target)
        refusal: UseCaseError | None = None
        async with self.deps.uow() as uow:  # check and save in one transaction: a ticket cannot slip in between
            stored = await uow.runs.get(run.id)
            if await uow.customers.get(run.customer_id) is None:
                refusal = Unprocessable("unknown_customer", f"No customer has ID {run.customer_id!r}.")
            else:
                created = await uow.runs.save(run)
                link = await uow.tickets.get(run.id)
                if stored is not None and link is not None and stored.customer_id != run.customer_id:
                    refusal = Conflict("run_has_ticket", "This run has an Autotask ticket for its customer's company; "
                                                         "it cannot move to another customer.")
                else:
                    await audit(uow, self.deps, actor, action, target, Outcome.OK, created=created,
                                customer_id=run.customer_id, status=run.status.value)
                    await uow.commit()
        if refusal is not None:
            await refuse(self.deps, actor, action, target, refusal, customer_id=run.customer_id)
        return created
