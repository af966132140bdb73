"""What every use case shares: its dependencies, permission checks, audited refusals, and the PSA connection."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

from application.denials import DenialFolder, with_folded
from application.errors import (
    AutotaskPermissionDenied,
    AutotaskRejected,
    AutotaskUnavailable,
    Forbidden,
    NotConfigured,
    UseCaseError,
)
from application.ports import (
    Clock,
    Credentials,
    PsaAuthError,
    PsaConnector,
    PsaError,
    PsaForbidden,
    PsaGateway,
    PsaNotFound,
    PsaUnavailable,
    SecretBox,
    SecretUnreadable,
    UnitOfWork,
    UnitOfWorkFactory,
)
from domain.audit import AuditEntry, JsonScalar, Outcome
from domain.mapping import CompanyLookup, LookupOutcome
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings
from domain.tickets import TicketLink

Target = tuple[str, str]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deps:
    """The ports a use case may need; the composition root builds one and hands it to every use case."""

    uow: UnitOfWorkFactory
    clock: Clock
    psa: PsaConnector
    secrets: SecretBox
    denials: DenialFolder | None = None
    """Folds repeated refusals of one actor and action (None: every refusal is written)."""


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(value: JsonScalar) -> JsonScalar:
    """Text with its control characters spelled out (`\\x00`): an audit record can always be stored, on every backend,
    whatever a caller sent."""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value) if isinstance(value, str) else value


def entry(deps: Deps, actor: Actor, action: str, target: Target, outcome: Outcome,
          **details: JsonScalar) -> AuditEntry:
    return AuditEntry.of(actor, deps.clock.now(), action, (target[0], str(printable(target[1]))), outcome,
                         **{name: printable(value) for name, value in details.items()})


async def audit(uow: UnitOfWork, deps: Deps, actor: Actor, action: str, target: Target, outcome: Outcome,
                **details: JsonScalar) -> None:
    """Append an audit record through `uow` (the caller commits it with its change)."""
    await uow.audit.append(entry(deps, actor, action, target, outcome, **details))


async def record_refusal(deps: Deps, actor: Actor, action: str, target: Target, error: UseCaseError,
                         outcome: Outcome = Outcome.DENIED, **details: JsonScalar) -> None:
    """Record a refused (or failed) attempt in its own transaction; repeated denials are folded (ADR 0008)."""
    record = entry(deps, actor, action, target, outcome, code=error.code, message=error.message, **details)
    records = [record]
    if outcome is Outcome.DENIED and deps.denials is not None:
        admitted = deps.denials.admit(record)
        if admitted is None:
            return
        folded, evicted = admitted
        records = [*evicted, with_folded(record, folded)]
    async with deps.uow() as uow:
        for each in records:
            await uow.audit.append(each)
        await uow.commit()


async def refuse(deps: Deps, actor: Actor, action: str, target: Target, error: UseCaseError,
                 outcome: Outcome = Outcome.DENIED, **details: JsonScalar) -> NoReturn:
    """Record a refused (or failed) attempt in its own transaction, then raise the error."""
    await record_refusal(deps, actor, action, target, error, outcome, **details)
    raise error


async def flush_denials(deps: Deps) -> None:
    """Write the folded denials not written yet, each with its count (the app calls it at shutdown)."""
    pending = deps.denials.flush() if deps.denials is not None else []
    if pending:
        async with deps.uow() as uow:
            for each in pending:
                await uow.audit.append(each)
            await uow.commit()


async def authorize(deps: Deps, actor: Actor, permission: Permission, action: str, target: Target) -> None:
    if not actor.may(permission):
        await refuse(deps, actor, action, target, Forbidden())


def psa_error(error: PsaError) -> UseCaseError:
    """The use-case error for a PSA failure, keeping the PSA's own words."""
    if isinstance(error, PsaUnavailable):
        return AutotaskUnavailable(f"Autotask did not answer: {error.message}")
    if isinstance(error, PsaAuthError):
        return AutotaskRejected(f"Autotask refused the credentials ({error.failure.value}): {error.message}")
    if isinstance(error, PsaForbidden):
        return AutotaskPermissionDenied(f"The Autotask API user lacks a permission (its security level, not the data "
                                        f"asked for, decides): {error.message}")
    return AutotaskRejected(error.message)


def connect(deps: Deps, settings: AutotaskSettings, *, require_enabled: bool = True, fresh: bool = False) -> PsaGateway:
    """A gateway for the configured credentials, or NotConfigured. `fresh` tries credentials Autotask refused before
    once more (an admin's Test connection)."""
    if require_enabled and not settings.enabled:
        raise NotConfigured()
    if not settings.has_credentials or settings.api_password_sealed is None:
        raise NotConfigured("The Autotask credentials are incomplete (username, password and tracking identifier).")
    try:
        secret = deps.secrets.open(settings.api_password_sealed)
    except SecretUnreadable as error:
        raise NotConfigured("The stored Autotask password cannot be read with this installation's key (the secret "
                            "key or key file changed): enter the password again in the settings.") from error
    return deps.psa.connect(
        Credentials(
            environment=settings.environment,
            username=settings.api_username,
            secret=secret,
            tracking_identifier=settings.tracking_identifier,
            log_level=settings.api_log_level,
        ),
        fresh=fresh,
    )


async def connected(deps: Deps, actor: Actor, action: str, target: Target) -> tuple[AutotaskSettings, PsaGateway]:
    """The settings and a gateway, or an audited `integration_disabled` refusal."""
    async with deps.uow(read_only=True) as uow:
        settings = await uow.settings.get()
    try:
        return settings, connect(deps, settings)
    except NotConfigured as error:
        await refuse(deps, actor, action, target, error)


async def look_up_company(gateway: PsaGateway, company_id: int) -> CompanyLookup:
    """A live look-up of one company: found (active or not) or not found. A permission refusal (PsaForbidden) is
    raised: it is about the API user's rights, not the company."""
    try:
        company = await gateway.get_company(company_id)
    except PsaNotFound:
        return CompanyLookup(company_id, LookupOutcome.NOT_FOUND)
    return CompanyLookup.found(company.id, company.name, is_active=company.is_active)


async def amend_link(deps: Deps, link: TicketLink, change: Callable[[TicketLink], TicketLink | None],
                     on_stored: Callable[[UnitOfWork], Awaitable[None]] | None = None,
                     attempts: int = 5) -> TicketLink | None:
    """Apply `change` to the stored link by compare-and-set; when someone else wrote first, re-read and apply it to
    what is stored now. `on_stored` writes in the same transaction (the audit record of the change). None when
    `change` no longer applies (it answers None) or the link is gone."""
    current: TicketLink | None = link
    for _ in range(attempts):
        if current is None or (new := change(current)) is None:
            return None
        async with deps.uow() as uow:
            if await uow.tickets.update(new, current.version):
                if on_stored is not None:
                    await on_stored(uow)
                await uow.commit()
                return new
            current = await uow.tickets.get(link.run_id)
    return None


async def within(seconds: float, call: Awaitable[T]) -> T:
    """A PSA call that must end within `seconds` (a stale claim or reservation must never be retaken while its call can
    still land in the PSA). Running out of time counts as an outcome unknown."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError as error:
        raise PsaUnavailable(f"no answer within {seconds:g} seconds", maybe_applied=True) from error


async def replace_link(deps: Deps, new: TicketLink, old: TicketLink) -> bool:
    """Store `new` over `old` in its own transaction, unless someone changed the link since `old` was read."""
    return await amend_link(deps, old, lambda _: new, attempts=1) is not None


class UseCase:
    """The base of the use cases that need nothing but the ports."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
