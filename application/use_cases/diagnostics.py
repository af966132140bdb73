"""Settings diagnostics (admin): test the connection, validate the configuration, read picklists and API usage."""

from __future__ import annotations

from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import Deps, UseCase
from application.errors import NotConfigured
from application.ports import Access, ApiUsage, AuthFailure, PsaAuthError, PsaError, PsaGateway, PsaUnavailable, Zone
from application.psa_connection import connect, psa_error
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


async def _admin_settings(attempt: Attempt) -> AutotaskSettings:
    attempt.authorize(Permission.ADMINISTER)
    async with attempt.deps.uow(read_only=True) as uow:
        return await uow.settings.get()


async def _admin_gateway(deps: Deps, attempt: Attempt) -> PsaGateway:
    return connect(deps, await _admin_settings(attempt), require_enabled=False)


TARGET = ("settings", "autotask")
AUTH_SETTING = {
    AuthFailure.UNKNOWN_USER: (
        "api_username",
        "Autotask knows no API user by this username (zone discovery found no zone for it).",
    ),
    AuthFailure.BAD_SECRET: ("api_password", "Autotask refused the API password (secret)."),
    AuthFailure.BAD_TRACKING_IDENTIFIER: (
        "tracking_identifier",
        "Autotask refused the tracking identifier (API integration code).",
    ),
}


def _missing_credentials(settings: AutotaskSettings) -> list[Problem]:
    given = {
        "api_username": settings.api_username,
        "api_password": settings.api_password_set,
        "tracking_identifier": settings.tracking_identifier,
    }
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
    seen = {
        "tickets": access.tickets,
        "time_entries": access.time_entries,
        "notes": access.notes,
        "companies": access.companies,
    }
    missing = tuple(area for area, count in seen.items() if count is None)
    if missing:
        return ConnectionResult(
            False,
            f"Connected to {zone.name}, but the API user cannot query "
            f"{'; '.join(RIGHTS[a] for a in missing)}: give its security level these "
            "rights (README, Autotask API user).",
            zone,
            "missing_rights",
            missing,
        )
    message = f"Connected to {zone.name}; {usage.requests_this_hour} of {usage.limit} API requests used this hour."
    if access.tickets and not access.time_entries:
        return ConnectionResult(
            True,
            message + f" Warning: the API user sees {access.tickets} tickets but no time "
            "entries. If its security level cannot see time entries (or Lines of "
            "Business hide them), tickets with time entries could be resolved: "
            "check its rights.",
            zone,
            "time_entries_unseen",
        )
    return ConnectionResult(True, message, zone)


class CheckConnection(UseCase):
    """Zone discovery, the API usage and a count of each area the integration relies on, with a clear message per
    failure. Credentials Autotask refused before are tried once more (only here)."""

    async def execute(self, actor: Actor) -> ConnectionResult:
        async with Attempt(self.deps, actor, "settings.test_connection", TARGET) as attempt:
            result = await self._try(await _admin_settings(attempt))
            async with self.deps.uow() as uow:
                await attempt.record(uow, Outcome.OK if result.ok else Outcome.FAILED, code=result.code)
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
        async with Attempt(self.deps, actor, "settings.validate", TARGET) as attempt:
            settings = await _admin_settings(attempt)
            problems = _missing_credentials(settings) or await self._problems(settings)
            async with self.deps.uow() as uow:
                await attempt.record(uow, problems=len(problems))
                await uow.commit()
            return ValidationResult(not problems, tuple(problems))

    async def _problems(self, settings: AutotaskSettings) -> list[Problem]:
        try:
            picklists = await connect(self.deps, settings, require_enabled=False).picklists(refresh=True)
        except NotConfigured as error:
            return [Problem(str(error.details.get("setting", "api_password")), error.message)]
        except PsaAuthError as error:
            setting, message = AUTH_SETTING[error.failure]
            return [Problem(setting, f"{message} Autotask said: {error.message}")]
        except PsaError as error:
            raise psa_error(error) from error
        return validate_configuration(settings, picklists)


class GetPicklists(UseCase):
    async def execute(self, actor: Actor, *, refresh: bool = False) -> Picklists:
        async with Attempt(self.deps, actor, "settings.picklists", TARGET) as attempt:
            gateway = await _admin_gateway(self.deps, attempt)
            try:
                return await gateway.picklists(refresh=refresh)
            except PsaError as error:
                raise psa_error(error) from error


class GetUsage(UseCase):
    async def execute(self, actor: Actor) -> ApiUsage:
        async with Attempt(self.deps, actor, "settings.usage", TARGET) as attempt:
            gateway = await _admin_gateway(self.deps, attempt)
            try:
                return await gateway.usage()
            except PsaError as error:
                raise psa_error(error) from error
