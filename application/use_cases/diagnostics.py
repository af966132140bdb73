"""Settings diagnostics (admin): test the connection, validate the configuration, read picklists and API usage."""

from __future__ import annotations

from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import Deps, UseCase
from application.errors import NotConfigured
from application.ports import (
    ApiUsage,
    AuthFailure,
    Company,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaGateway,
    PsaNotFound,
    PsaUnavailable,
    Zone,
)
from application.psa_connection import connect, psa_error
from application.tenant_facts import MISSING_RIGHTS, missing_rights, remember
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
    """What the API user may not do or fully see (application.tenant_facts.MISSING_RIGHTS)."""
    tenant_name: str | None = None
    """The tenant's own company (`Companies/0`): which database the settings reach."""


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


def _connected(zone: Zone, usage: ApiUsage, tenant: Company | None, missing: tuple[str, ...]) -> ConnectionResult:
    """What the API user reaches and may do: a missing right fails the test; time entries it cannot all see do not
    (tickets can be made) but turn resolving off, and are listed too."""
    where = f"'{tenant.name}' in {zone.name}" if tenant is not None else zone.name
    message = f"Connected to {where}; {usage.requests_this_hour} of {usage.limit} API requests used this hour."
    blocking = tuple(code for code in missing if code != "see_all_time_entries")
    name = tenant.name if tenant is not None else None
    if blocking:
        return ConnectionResult(
            False,
            f"Connected to {where}, but the API user may not "
            f"{'; '.join(MISSING_RIGHTS[code] for code in missing)}: give its security level these rights "
            "(README, The Autotask API user).",
            zone,
            "missing_rights",
            missing,
            name,
        )
    if missing:
        return ConnectionResult(
            True,
            message + " The API user may not see every time entry, so Backupchecks cannot prove a ticket has none: "
            "resolving from Backupchecks stays off until its security level has full access to time entries.",
            zone,
            "missing_rights",
            missing,
            name,
        )
    return ConnectionResult(True, message, zone, tenant_name=name)


async def _own_company(gateway: PsaGateway) -> Company | None:
    """The tenant's own company, id 0 (None when the API user may not see it: `query_companies` says why)."""
    try:
        return await gateway.get_company(0)
    except (PsaNotFound, PsaForbidden):
        return None


class CheckConnection(UseCase):
    """Zone discovery, the API usage, the tenant's name and the API user's rights, with a clear message per failure;
    what it learns of the tenant is stored. Credentials Autotask refused before are tried once more (only here)."""

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
            tenant = await _own_company(gateway)
            missing = missing_rights(await gateway.rights())
        except NotConfigured as error:
            return ConnectionResult(False, error.message, None, "not_configured")
        except PsaAuthError as error:
            message = f"{AUTH_SETTING[error.failure][1]} Autotask said: {error.message}"
            return ConnectionResult(False, message, None, error.failure.value)
        except PsaUnavailable as error:
            return ConnectionResult(False, f"Autotask could not be reached: {error.message}", None, "unreachable")
        except PsaError as error:
            return ConnectionResult(False, psa_error(error).message, None, "rejected")
        await remember(
            self.deps,
            settings,
            tenant_name=tenant.name if tenant else None,
            time_entries_visible="see_all_time_entries" not in missing,
        )
        return _connected(zone, usage, tenant, missing)


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
            return ValidationResult(not any(not p.warning for p in problems), tuple(problems))

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
