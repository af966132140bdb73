"""The PSA connection of a use case: a gateway for the stored credentials (or NotConfigured), the use-case error of a
PSA failure, a deadline for calls that must not outlive a claim, and a live company look-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from application.deps import Deps
from application.errors import (
    AutotaskPermissionDenied,
    AutotaskRejected,
    AutotaskUnavailable,
    NotConfigured,
    UseCaseError,
)
from application.ports import (
    Credentials,
    PsaAuthError,
    PsaError,
    PsaForbidden,
    PsaGateway,
    PsaNotFound,
    PsaUnavailable,
    SecretUnreadable,
)
from domain.mapping import CompanyLookup, LookupOutcome
from domain.settings import CREDENTIAL_NAMES, AutotaskSettings, header_sendable

T = TypeVar("T")


def psa_error(error: PsaError) -> UseCaseError:
    """The use-case error for a PSA failure (recorded as `failed`), keeping the PSA's own words."""
    if isinstance(error, PsaUnavailable):
        return AutotaskUnavailable(f"Autotask did not answer: {error.message}").failed()
    if isinstance(error, PsaAuthError):
        return AutotaskRejected(f"Autotask refused the credentials ({error.failure.value}): {error.message}").failed()
    if isinstance(error, PsaForbidden):
        return AutotaskPermissionDenied(
            f"The Autotask API user lacks a permission (its security level, not the data "
            f"asked for, decides): {error.message}"
        ).failed()
    return AutotaskRejected(error.message).failed()


def connect(deps: Deps, settings: AutotaskSettings, *, require_enabled: bool = True, fresh: bool = False) -> PsaGateway:
    """A gateway for the configured credentials, or NotConfigured. `fresh` tries credentials Autotask refused before
    once more (an admin's Test connection)."""
    if require_enabled and not settings.enabled:
        raise NotConfigured()
    if not settings.has_credentials or settings.api_password_sealed is None:
        raise NotConfigured("The Autotask credentials are incomplete (username, password and tracking identifier).")
    if settings.environment is None:
        raise NotConfigured(
            "Choose the environment (sandbox or production) the Autotask credentials belong to."
        ).noting(setting="environment")
    try:
        secret = deps.secrets.open(settings.api_password_sealed)
    except SecretUnreadable as error:
        raise NotConfigured(
            "The stored Autotask password cannot be read with this installation's key (the secret "
            "key or key file changed): enter the password again in the settings."
        ) from error
    stored = {
        "api_username": settings.api_username,
        "api_password": secret,
        "tracking_identifier": settings.tracking_identifier,
    }
    for name, value in stored.items():
        if not header_sendable(value):  # stored before the settings checked it: it could never be sent
            raise NotConfigured(
                f"The stored Autotask {CREDENTIAL_NAMES[name]} holds characters an HTTP header cannot carry (only "
                "visible ASCII): enter it again in the settings."
            ).noting(setting=name)
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


async def connected(deps: Deps) -> tuple[AutotaskSettings, PsaGateway]:
    """The stored settings and a gateway for them, or NotConfigured."""
    async with deps.uow(read_only=True) as uow:
        settings = await uow.settings.get()
    return settings, connect(deps, settings)


async def look_up_company(gateway: PsaGateway, company_id: int) -> CompanyLookup:
    """A live look-up of one company: found (active or not) or not found. A permission refusal (PsaForbidden) is
    raised: it is about the API user's rights, not the company."""
    try:
        company = await gateway.get_company(company_id)
    except PsaNotFound:
        return CompanyLookup(company_id, LookupOutcome.NOT_FOUND)
    return CompanyLookup.found(company.id, company.name, is_active=company.is_active)


async def within(seconds: float, call: Awaitable[T]) -> T:
    """A PSA call that must end within `seconds` (a stale claim or reservation must never be retaken while its call can
    still land in the PSA). Running out of time counts as an outcome unknown."""
    try:
        async with asyncio.timeout(seconds):
            return await call
    except TimeoutError as error:
        raise PsaUnavailable(f"no answer within {seconds:g} seconds", maybe_applied=True) from error
