"""One attempt of an actor at an action on a target (docs/adr/0013-attempts-and-error-codes.md): the use case raises
its errors, and the attempt writes the audit record of every refusal and failure that leaves it, in its own
transaction, with the action, the target, the error's code and message and its details. Repeated denials are folded
(ADR 0008). A use case writes its successes (and failures tied to a change) with `attempt.record(uow, …)`, in the
transaction of the change.

    async with Attempt(deps, actor, "mapping.clear", ("customer", customer_id)) as attempt:
        attempt.authorize(Permission.MANAGE_MAPPINGS)
        ...
        raise CustomerNotFound()          # audited as denied, then raised to the caller
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import TracebackType

from application.denials import with_folded
from application.deps import Deps
from application.errors import Forbidden, UseCaseError
from application.ports import UnitOfWork
from domain.audit import AuditEntry, JsonScalar, Outcome
from domain.roles import Actor, Permission

Target = tuple[str, str]
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: JsonScalar) -> JsonScalar:
    """Text with its control characters spelled out (`\\x00`): an audit record can always be stored, on every backend,
    whatever a caller sent."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value) if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class Attempt:
    deps: Deps
    actor: Actor
    action: str
    target: Target

    async def __aenter__(self) -> Attempt:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if isinstance(error, UseCaseError) and not error.recorded:
            await self.refused(error)

    def on(self, target: Target) -> Attempt:
        """The same actor and action on another target (a bulk action's single run)."""
        return Attempt(self.deps, self.actor, self.action, target)

    def entry(self, outcome: Outcome, **details: JsonScalar) -> AuditEntry:
        return AuditEntry.of(
            self.actor,
            self.deps.clock.now(),
            self.action,
            (self.target[0], str(printable(self.target[1]))),
            outcome,
            **{name: printable(value) for name, value in details.items()},
        )

    async def record(self, uow: UnitOfWork, outcome: Outcome = Outcome.OK, **details: JsonScalar) -> None:
        """Append this attempt's audit record through `uow` (the caller commits it with its change)."""
        await uow.audit.append(self.entry(outcome, **details))

    async def record_failure(self, uow: UnitOfWork, error: UseCaseError) -> UseCaseError:
        """Append the record of `error` through `uow` (with the change that goes with it); the attempt will not write
        it again. Answers `error`, to raise."""
        await self.record(uow, error.outcome, code=error.code, message=error.message, **error.details)
        error.recorded = True
        return error

    def authorize(self, permission: Permission) -> None:
        if not self.actor.may(permission):
            raise Forbidden()

    async def authorized(self, permission: Permission) -> None:
        """Forbidden (audited) unless the actor may: for the use cases that only read after that."""
        async with self:
            self.authorize(permission)

    async def refused(self, error: UseCaseError) -> None:
        """Write the record of `error` in its own transaction (denials folded); it is not written again."""
        error.recorded = True
        record = self.entry(error.outcome, code=error.code, message=error.message, **error.details)
        await (write_denial(self.deps, record) if error.outcome is Outcome.DENIED else write(self.deps, [record]))


async def write_denial(deps: Deps, record: AuditEntry) -> None:
    """Write a denial's record in its own transaction, folded with the same actor's repeats of the same action."""
    records = [record]
    if deps.denials is not None:
        admitted = deps.denials.admit(record)
        if admitted is None:
            return
        folded, evicted = admitted
        records = [*evicted, with_folded(record, folded)]
    await write(deps, records)


async def write(deps: Deps, records: list[AuditEntry]) -> None:
    if records:
        async with deps.uow() as uow:
            for each in records:
                await uow.audit.append(each)
            await uow.commit()


async def flush_denials(deps: Deps) -> None:
    """Write the folded denials not written yet, each with its count (the app calls it at shutdown)."""
    await write(deps, deps.denials.flush() if deps.denials is not None else [])
