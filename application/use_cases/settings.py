"""Read and change the Autotask settings (admin). The password is write-only: sealed on the way in, never out."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, NoReturn

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import InvalidInput, SettingInvalid
from domain.roles import Actor, Permission
from domain.settings import (
    CREDENTIAL_NAMES,
    DUE_HOURS_DEFAULT,
    DUE_HOURS_MAX,
    DUE_HOURS_MIN,
    MAPPING_CHECK_MAX,
    OBSERVED,
    STATUS_SYNC_MAX,
    UDF_NAME_MAX,
    UDF_VALUE_MAX,
    UDFS_MAX,
    AutotaskSettings,
    Environment,
    visible_ascii,
)
from domain.tickets import STATUS_COMPLETE

# Settings an admin may change; the installation id and the sealed password are not among them.
TARGET = ("settings", "autotask")
EDITABLE = frozenset(f.name for f in fields(AutotaskSettings)) - {"installation_id", "api_password_sealed"} - OBSERVED


@dataclass(frozen=True, slots=True)
class SettingsChange:
    values: dict[str, Any]
    """Fields to set (only those named in EDITABLE), already validated for type and range."""
    api_password: str | None = None
    """A new password; None keeps the stored one."""


class GetSettings(UseCase):
    async def execute(self, actor: Actor) -> AutotaskSettings:
        async with Attempt(self.deps, actor, "settings.get", TARGET) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow(read_only=True) as uow:
                return await uow.settings.get()


@dataclass(frozen=True, slots=True)
class Reach:
    """Which Autotask the settings reach, as every signed-in user sees it (the pages' banner): no secret in it."""

    environment: Environment | None
    tenant_name: str | None


class UpdateSettings(UseCase):
    async def execute(self, actor: Actor, change: SettingsChange) -> AutotaskSettings:
        async with Attempt(self.deps, actor, "settings.update", TARGET) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            _check(change)
            async with self.deps.uow() as uow:
                current = await uow.settings.get()
                updated = replace(current, **change.values)
                if change.api_password is not None:
                    updated = replace(updated, api_password_sealed=self.deps.secrets.seal(change.api_password))
                _check_environment(updated)
                if current.reach != updated.reach:
                    updated = replace(updated, tenant_name=None, time_entries_visible=None, rights_checked_at=None)
                changed = sorted(k for k in change.values if getattr(current, k) != getattr(updated, k))
                await uow.settings.save(updated)
                # Names of what changed, never values: the audit log must not hold a secret.
                await attempt.record(
                    uow, changed=",".join(changed), api_password_changed=change.api_password is not None
                )
                await uow.commit()
            return updated

    async def refuse(self, actor: Actor, error: InvalidInput) -> NoReturn:
        """A change the caller sent that could not even be read as one (a form whose number field holds text):
        authorised first, so a caller who may not change the settings is refused as such and audited whatever they
        sent; an admin is refused with `error`, audited too."""
        async with Attempt(self.deps, actor, "settings.update", TARGET) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            raise error


def _check(change: SettingsChange) -> None:
    """InvalidInput (or SettingInvalid) for the first value an admin may not set."""
    unknown = set(change.values) - EDITABLE
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "This setting does not exist or cannot be changed.")
    if change.api_password is not None and not change.api_password:
        raise InvalidInput("api_password", "The password cannot be empty; omit it to keep the stored one.")
    credentials = {**change.values, "api_password": change.api_password or ""}
    for name, words in CREDENTIAL_NAMES.items():
        value = credentials.get(name)
        if isinstance(value, str) and not visible_ascii(value):
            raise SettingInvalid(
                name,
                f"The {words} may hold only visible ASCII characters (letters, digits and punctuation, no spaces or "
                "accented letters): Autotask reads it from an HTTP header, which cannot carry other characters.",
            )
    due = change.values.get("ticket_due_hours", DUE_HOURS_DEFAULT)
    if isinstance(due, bool) or not isinstance(due, int) or not DUE_HOURS_MIN <= due <= DUE_HOURS_MAX:
        raise InvalidInput(
            "ticket_due_hours",
            f"Tickets fall due {DUE_HOURS_MIN} to {DUE_HOURS_MAX} hours (a year) after the run is reviewed.",
        )
    if change.values.get("new_ticket_status_id") == STATUS_COMPLETE:
        raise InvalidInput("new_ticket_status_id", "New tickets cannot start closed (Complete).")
    _check_udfs(change.values.get("ticket_udfs", ()))
    for name, most, unit in (
        ("status_sync_minutes", STATUS_SYNC_MAX, "minutes"),
        ("mapping_check_hours", MAPPING_CHECK_MAX, "hours"),
    ):
        value = change.values.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            raise InvalidInput(name, f"0 (off) or 1 to {most} {unit}.")


def _check_udfs(udfs: tuple[tuple[str, str], ...]) -> None:
    """The shape the HTTP schema also states (its patterns refuse control characters first)."""
    if len(udfs) > UDFS_MAX:
        raise InvalidInput("ticket_udfs", f"At most {UDFS_MAX} user-defined fields.")
    names = [name for name, _ in udfs]
    if len(set(names)) != len(names):
        raise InvalidInput("ticket_udfs", "Each user-defined field may be named once.")
    for name, value in udfs:
        if not 1 <= len(name) <= UDF_NAME_MAX:
            raise InvalidInput("ticket_udfs", f"A user-defined field's name has 1 to {UDF_NAME_MAX} characters.")
        if len(value) > UDF_VALUE_MAX:
            raise InvalidInput("ticket_udfs", f"The value of '{name}' has at most {UDF_VALUE_MAX} characters.")


def _check_environment(settings: AutotaskSettings) -> None:
    """Credentials belong to one Autotask database: whoever enters them says which kind (no default pretends)."""
    if settings.environment is None and (
        settings.api_username or settings.api_password_set or settings.tracking_identifier
    ):
        raise SettingInvalid(
            "environment",
            "Choose the environment these credentials reach (sandbox or production): Backupchecks has no default. "
            "Test connection then names the tenant they reach.",
        )
