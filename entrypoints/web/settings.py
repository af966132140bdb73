"""The admin's Settings → Extensions & Integrations → Autotask page: the form, its checks and diagnostics."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from application.errors import InvalidInput, UseCaseError
from application.ports import ApiUsage
from application.use_cases.diagnostics import CheckConnection, GetPicklists, GetUsage, ValidateConfiguration
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from application.use_cases.sync_status import GetSyncStatus
from application.use_cases.test_ticket import MakeTestTicket
from domain.picklists import Picklists
from domain.roles import Actor
from entrypoints.shared.settings import SettingsIn
from entrypoints.web import words
from entrypoints.web.plumbing import done, field, page, request_settings
from entrypoints.web.setting_fields import SETTING_FIELDS, FieldKind

UDF_PREFIX = "udf:"
"""Each ticket UDF's input is named `udf:<its name>`; an empty one sends no value."""


def _form_values(form: FormMultiDict) -> dict[str, Any]:
    """The settings form as SettingsIn's fields (an empty picklist means none)."""
    values: dict[str, Any] = {
        "ticket_udfs": {
            key[len(UDF_PREFIX) :]: value
            for key, value in form.multi_items()
            if key.startswith(UDF_PREFIX) and isinstance(value, str) and value.strip()
        }
    }
    for f in SETTING_FIELDS:
        text = field(form, f.name)
        if f.kind is FieldKind.CHECK:
            values[f.name] = text == "on"
        elif f.kind is FieldKind.PICKLIST:
            if text or f.name != "new_ticket_status_id":
                values[f.name] = text or None
        elif f.name == "backupchecks_base_url" or f.name == "environment":
            values[f.name] = text or None
        elif f.kind is not FieldKind.NUMBER or text:  # a number left empty (or not on the form) keeps its stored value
            values[f.name] = text
    return values


UNREADABLE = (
    (re.compile(r"Expected `int(?: \| null)?` >= (\d+)"), "Enter a whole number of at least {0}."),
    (re.compile(r"Expected `int(?: \| null)?` <= (\d+)"), "Enter a whole number of at most {0}."),
    (re.compile(r"Expected `int"), "Enter a whole number (an ID or a count)."),
    (re.compile(r"Invalid enum value"), "Choose one of the listed values."),
    (re.compile(r"of length <= (\d+)"), "Use at most {0} characters."),
    (re.compile(r"matching regex"), "Use one line of plain text (an address starts with https:// or http://)."),
)


def _sentence(message: str) -> str:
    """msgspec's words for a value it could not read, as a sentence for the field (never its raw text)."""
    for pattern, sentence in UNREADABLE:
        found = pattern.search(message)
        if found:
            return sentence.format(*found.groups())
    return "This value cannot be used here."


def _unreadable(values: dict[str, Any]) -> dict[str, str]:
    """Each setting of the form msgspec cannot read, with a sentence saying what it takes (every field alone: the
    struct's fields are all optional)."""
    errors = {}
    for name, value in values.items():
        try:
            msgspec.convert({name: value}, SettingsIn, strict=False)
        except msgspec.ValidationError as error:
            errors[name] = _sentence(str(error))
    return errors


def _typed(form: FormMultiDict) -> dict[str, Any]:
    """What the admin typed, as the form shows values: numbers as numbers, so the lists select them again."""
    values: dict[str, Any] = {}
    for f in SETTING_FIELDS:
        text = field(form, f.name)
        typed = int(text) if text.isdigit() else text or None
        values[f.name] = (text == "on") if f.kind is FieldKind.CHECK else typed
    return values


@dataclass(frozen=True, slots=True)
class _SettingsReads:
    """What the settings page shows besides the form: the stored settings, the tenant's picklists, API usage and the
    background jobs."""

    get_settings: GetSettings
    get_picklists: GetPicklists
    get_usage: GetUsage
    get_sync_status: GetSyncStatus

    async def page(
        self,
        request: Request[Any, Any, Any],
        actor: Actor,
        *,
        refresh: bool = False,
        typed: tuple[dict[str, Any], dict[str, str]] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Template:
        """`typed`: the values (and UDF values) a refused form held, shown instead of the stored ones."""
        settings = await self.get_settings.execute(actor)
        sync = await self.get_sync_status.execute(actor, request_settings(request))
        picklists: Picklists | None = None
        usage: ApiUsage | None = None
        notice = None
        if settings.enabled and settings.has_credentials:
            try:
                picklists = await self.get_picklists.execute(actor, refresh=refresh)
                usage = await self.get_usage.execute(actor)
            except UseCaseError as error:
                notice = words.failed(error, "reading the picklists and API usage")
        known = {u.name for u in picklists.ticket_udfs} if picklists else set()
        values, udf_values = typed or ({f.name: getattr(settings, f.name) for f in SETTING_FIELDS}, settings.udfs)
        return page(
            request,
            "settings.html",
            actor,
            status_code=400 if errors else 200,
            settings=settings,
            values=values,
            udf_values=udf_values,
            errors=errors or {},
            fields=SETTING_FIELDS,
            picklists=picklists,
            parents={v.id: v.label for v in picklists.issue_types} if picklists else {},
            usage=usage,
            notice=notice,
            udfs=picklists.ticket_udfs if picklists else (),
            other_udfs=[(n, v) for n, v in udf_values.items() if n not in known],
            udf_prefix=UDF_PREFIX,
            sync=sync,
        )


class SettingsPages(Controller):
    path = "/settings/autotask"

    @get("/", name="settings")
    async def settings(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        get_settings: NamedDependency[GetSettings],
        get_picklists: NamedDependency[GetPicklists],
        get_usage: NamedDependency[GetUsage],
        get_sync_status: NamedDependency[GetSyncStatus],
    ) -> Template:
        reads = _SettingsReads(get_settings, get_picklists, get_usage, get_sync_status)
        return await reads.page(request, web_actor, refresh=request.query_params.get("refresh") == "1")

    @post("/", name="settings_save")
    async def save(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_settings: NamedDependency[UpdateSettings],
        get_settings: NamedDependency[GetSettings],
        get_picklists: NamedDependency[GetPicklists],
        get_usage: NamedDependency[GetUsage],
        get_sync_status: NamedDependency[GetSyncStatus],
    ) -> Template | Redirect:
        """A form with values that cannot be read comes back with each one's sentence beside it, as it was typed."""
        password = field(form, "api_password") or None
        values = _form_values(form)
        errors = _unreadable(values)
        try:
            if errors:  # authorised first: a non-admin hears (and is audited) that, whatever the form holds
                first = next(iter(errors))
                try:
                    await update_settings.refuse(web_actor, InvalidInput(first, errors[first]))
                except InvalidInput:
                    reads = _SettingsReads(get_settings, get_picklists, get_usage, get_sync_status)
                    typed = (_typed(form), values["ticket_udfs"])
                    return await reads.page(request, web_actor, typed=typed, errors=errors)
            data = msgspec.convert(values, SettingsIn, strict=False)  # form text to numbers
            await update_settings.execute(web_actor, SettingsChange(data.values(), password))
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "saving the settings"))
        return done(self.path, "ok", "The settings were saved." + (" The new password is stored." if password else ""))

    @post("/test-connection", name="settings_test_connection")
    async def test(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        test_connection: NamedDependency[CheckConnection],
    ) -> Redirect:
        result = await test_connection.execute(web_actor)
        return done(self.path, "ok" if result.ok else "error", f"Test connection: {result.message}")

    @post("/test-ticket", name="settings_test_ticket")
    async def test_ticket(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        test_ticket: NamedDependency[MakeTestTicket],
    ) -> Redirect:
        try:
            proof = await test_ticket.execute(web_actor)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "making the test ticket"))
        steps = " ".join(f"{s.step.capitalize()}: {'done' if s.ok else 'failed'}. {s.message}" for s in proof.steps)
        if proof.ok:
            return done(self.path, "ok", f"Test ticket {proof.ticket_number or ''} made, noted and completed. {steps}")
        return done(self.path, "error", f"Test ticket failed. {steps}")

    @post("/validate", name="settings_validate")
    async def validate(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        validate_configuration: NamedDependency[ValidateConfiguration],
    ) -> Redirect:
        try:
            result = await validate_configuration.execute(web_actor)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "validating the settings"))
        listed = "; ".join(f"{p.setting}{' (warning)' if p.warning else ''}: {p.message}" for p in result.problems)
        if result.ok and not result.problems:
            return done(self.path, "ok", "Validate: every setting fits the tenant's live picklists.")
        if result.ok:
            return done(self.path, "info", f"Validate: no problems; {len(result.problems)} warning(s): {listed}")
        return done(self.path, "error", f"Validate found {len(result.problems)} problem(s): {listed}")
