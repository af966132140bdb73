"""Settings diagnostics (admin): test the connection, validate the configuration, read picklists and API usage."""

from __future__ import annotations

from dataclasses import dataclass

from application.errors import NotConfigured
from application.ports import Access, ApiUsage, AuthFailure, PsaAuthError, PsaError, PsaGateway, PsaUnavailable, Zone
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
    missing_rights: tuple[str, ...] = ()
    """Areas the API user cannot query (`tickets`, `time_entries`, `notes`, `companies`)."""


@dataclass(frozen=True, slots=True)
class ValidationResult:
    ok: bool
    problems: tuple[Problem, ...]


async def _admin_gateway(deps: Deps, actor: Actor, action: str) -> tuple[AutotaskSettings, PsaGateway]:
    settings = await _admin_settings(deps, actor, action)
    try:
        return settings, connect(deps, settings, require_enabled=False)
    except NotConfigured as error:
        await refuse(deps, actor, action, TARGET, error)


async def _admin_settings(deps: Deps, actor: Actor, action: str) -> AutotaskSettings:
    await authorize(deps, actor, Permission.ADMINISTER, action, TARGET)
    async with deps.uow(read_only=True) as uow:
        return await uow.settings.get()


TARGET = ("settings", "autotask")
AUTH_SETTING = {
    AuthFailure.UNKNOWN_USER: ("api_username", "Autotask knows no API user by this username (zone discovery found "
                                               "no zone for it)."),
    AuthFailure.BAD_SECRET: ("api_password", "Autotask refused the API password (secret)."),
    AuthFailure.BAD_TRACKING_IDENTIFIER: ("tracking_identifier", "Autotask refused the tracking identifier "
                                                                 "(API integration code)."),
}


def _missing_credentials(settings: AutotaskSettings) -> list[Problem]:
    given = {"api_username": settings.api_username, "api_password": settings.api_password_set,
             "tracking_identifier": settings.tracking_identifier}
    return [Problem(name, "Required to reach Autotask.") for name, value in given.items() if not value]


RIGHTS = {
    "tickets": "Tickets (Service Desk: view and edit)",
    "time_entries": "Time entries (view all time entries on tickets)",
    "notes": "Ticket notes (view and add)",
    "companies": "Companies (CRM: view)",
}


def _rights(zone: Zone, usage: ApiUsage, access: Access) -> ConnectionResult:
    """What the API user can query: a missing right fails the test; a tenant with tickets but no time entries in
    sight is a warning (Autotask answers 0, not an error, to a security level that cannot see them)."""
    seen = {"tickets": access.tickets, "time_entries": access.time_entries, "notes": access.notes,
            "companies": access.companies}
    missing = tuple(area for area, count in seen.items() if count is None)
    if missing:
        return ConnectionResult(False, f"Connected to {zone.name}, but the API user cannot query "
                                       f"{'; '.join(RIGHTS[a] for a in missing)}: give its security level these "
                                       "rights (README, Autotask API user).", zone, "missing_rights", missing)
    message = f"Connected to {zone.name}; {usage.requests_this_hour} of {usage.limit} API requests used this hour."
    if access.tickets and not access.time_entries:
        return ConnectionResult(True, message + f" Warning: the API user sees {access.tickets} tickets but no time "
                                                "entries. If its security level cannot see time entries (or Lines of "
                                                "Business hide them), tickets with time entries could be resolved: "
                                                "check its rights.", zone, "time_entries_unseen")
    return ConnectionResult(True, message, zone)


class CheckConnection(UseCase):
    """Zone discovery, the API usage and a count of each area the integration relies on, with a clear message per
    failure. Credentials Autotask refused before are tried once more (only here)."""

    async def execute(self, actor: Actor) -> ConnectionResult:
        action = "settings.test_connection"
        settings = await _admin_settings(self.deps, actor, action)
        result = await self._try(settings)
        async with self.deps.uow() as uow:
            await audit(uow, self.deps, actor, action, TARGET, Outcome.OK if result.ok else Outcome.FAILED,
                        code=result.code)
            await uow.commit()
        return result

    async def _try(self, settings: AutotaskSettings) -> ConnectionResult:
        try:
            gateway = connect(self.deps, settings, require_enabled=False, fresh=True)
            zone = await gateway.zone()
            usage = await gateway.usage()
            access = await gateway.access()
        except NotConfigured as error:
            return ConnectionResult(False, error.message, None, "not_configured")
        except PsaAuthError as error:
            message = f"{AUTH_SETTING[error.failure][1]} Autotask said: {error.message}"
            return ConnectionResult(False, message, None, error.failure.value)
        except PsaUnavailable as error:
            return ConnectionResult(False, f"Autotask could not be reached: {error.message}", None, "unreachable")
        except PsaError as error:
            return ConnectionResult(False, psa_error(error).message, None, "rejected")
        return _rights(zone, usage, access)


class ValidateConfiguration(UseCase):
    """Every configured value checked against the tenant's live picklists; missing or refused credentials are
    problems too (only an unreachable Autotask is an error)."""

    async def execute(self, actor: Actor) -> ValidationResult:
        action = "settings.validate"
        settings = await _admin_settings(self.deps, actor, action)
        problems = _missing_credentials(settings)
        if not problems:
            try:
                picklists = await connect(self.deps, settings, require_enabled=False).picklists(refresh=True)
                problems = validate_configuration(settings, picklists)
            except NotConfigured as error:
                problems = [Problem("api_password", error.message)]
            except PsaAuthError as error:
                setting, message = AUTH_SETTING[error.failure]
                problems = [Problem(setting, f"{message} Autotask said: {error.message}")]
            except PsaError as error:
                await refuse(self.deps, actor, action, TARGET, psa_error(error), Outcome.FAILED)
        async with self.deps.uow() as uow:
            await audit(uow, self.deps, actor, action, TARGET, Outcome.OK, problems=len(problems))
            await uow.commit()
        return ValidationResult(not problems, tuple(problems))


class GetPicklists(UseCase):
    async def execute(self, actor: Actor, *, refresh: bool = False) -> Picklists:
        action = "settings.picklists"
        _, gateway = await _admin_gateway(self.deps, actor, action)
        try:
            return await gateway.picklists(refresh=refresh)
        except PsaError as error:
            await refuse(self.deps, actor, action, TARGET, psa_error(error), Outcome.FAILED)


class GetUsage(UseCase):
    async def execute(self, actor: Actor) -> ApiUsage:
        action = "settings.usage"
        _, gateway = await _admin_gateway(self.deps, actor, action)
        try:
            return await gateway.usage()
        except PsaError as error:
            await refuse(self.deps, actor, action, TARGET, psa_error(error), Outcome.FAILED)
