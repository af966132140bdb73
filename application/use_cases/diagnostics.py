"""Settings diagnostics (admin): test the connection, validate the configuration, read picklists and API usage."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotConfigured
from application.ports import ApiUsage, PsaAuthError, PsaError, PsaGateway, PsaUnavailable, Zone
from application.use_cases.common import Deps, UseCase, audit, authorize, connect, psa_error, refuse
from domain.audit import Outcome
from domain.picklists import Picklists, Problem, validate_configuration
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings


@dataclass(frozen=True, slots=True)
class ConnectionResult:
    ok: bool
    message: str
    zone: Zone | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ValidationResult:
    ok: bool
    problems: tuple[Problem, ...]


async def _admin_gateway(deps: Deps, actor: Actor, action: str) -> tuple[AutotaskSettings, PsaGateway]:
    target = ("settings", "autotask")
    await authorize(deps, actor, Permission.ADMINISTER, action, target)
    async with deps.uow() as uow:
        settings = await uow.settings.get()
    try:
        return settings, connect(deps, settings, require_enabled=False)
    except NotConfigured as error:
        await refuse(deps, actor, action, target, error)


class TestConnection(UseCase):
    """Zone discovery and one authenticated call, with a clear message per failure."""

    __test__ = False  # not a pytest class

    async def execute(self, actor: Actor) -> ConnectionResult:
        action = "settings.test_connection"
        _, gateway = await _admin_gateway(self.deps, actor, action)
        try:
            zone = await gateway.zone()
            usage = await gateway.usage()
            result = ConnectionResult(True, f"Connected to {zone.name}; {usage.requests_this_hour} of "
                                            f"{usage.limit} API requests used this hour.", zone)
        except PsaAuthError as error:
            result = ConnectionResult(False, error.message, None, error.failure.value)
        except PsaUnavailable as error:
            result = ConnectionResult(False, f"Autotask could not be reached: {error.message}", None, "unreachable")
        except PsaError as error:
            result = ConnectionResult(False, psa_error(error).message, None, "rejected")
        async with self.deps.uow() as uow:
            await audit(uow, self.deps, actor, action, ("settings", "autotask"),
                        Outcome.OK if result.ok else Outcome.FAILED, code=result.code)
            await uow.commit()
        return result


class ValidateConfiguration(UseCase):
    async def execute(self, actor: Actor) -> ValidationResult:
        action = "settings.validate"
        settings, gateway = await _admin_gateway(self.deps, actor, action)
        try:
            picklists = await gateway.picklists(refresh=True)
        except PsaError as error:
            await refuse(self.deps, actor, action, ("settings", "autotask"), psa_error(error), Outcome.FAILED)
        problems = tuple(validate_configuration(settings, picklists))
        async with self.deps.uow() as uow:
            await audit(uow, self.deps, actor, action, ("settings", "autotask"), Outcome.OK, problems=len(problems))
            await uow.commit()
        return ValidationResult(not problems, problems)


class GetPicklists(UseCase):
    async def execute(self, actor: Actor, *, refresh: bool = False) -> Picklists:
        action = "settings.picklists"
        _, gateway = await _admin_gateway(self.deps, actor, action)
        try:
            return await gateway.picklists(refresh=refresh)
        except PsaError as error:
            await refuse(self.deps, actor, action, ("settings", "autotask"), psa_error(error), Outcome.FAILED)


class GetUsage(UseCase):
    async def execute(self, actor: Actor) -> ApiUsage:
        action = "settings.usage"
        _, gateway = await _admin_gateway(self.deps, actor, action)
        try:
            return await gateway.usage()
        except PsaError as error:
            await refuse(self.deps, actor, action, ("settings", "autotask"), psa_error(error), Outcome.FAILED)
