"""Admin pages: Settings → Extensions & Integrations → Autotask, the audit log, users."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Stream, Template

from application.errors import InvalidInput, UseCaseError
from application.ports import ApiUsage, AuditQuery
from application.use_cases.audit_log import ExportAudit, ExportFormat, QueryAudit, VerifyAudit, record_fields
from application.use_cases.diagnostics import CheckConnection, GetPicklists, GetUsage, ValidateConfiguration
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from application.use_cases.sync_status import GetSyncStatus
from application.use_cases.test_ticket import MakeTestTicket
from application.use_cases.users import (
    AddUser,
    ListUsers,
    NewSecret,
    RemoveUser,
    ResetPassword,
    RotateToken,
    UpdateUser,
)
from application.use_cases.web_sessions import Sessions
from domain.audit import ChainCheck, Outcome
from domain.picklists import Picklists
from domain.roles import Actor, Role
from entrypoints.http.schemas import SettingsIn
from entrypoints.web import words
from entrypoints.web.plumbing import day_bound, done, field, page, whole_number
from entrypoints.web.setting_fields import SETTING_FIELDS, FieldKind

AUDIT_PAGE = 50


UDF_PREFIX = "udf:"
"""Each ticket UDF's input is named `udf:<its name>`; an empty one sends no value."""


def _form_values(form: FormMultiDict) -> dict[str, Any]:
    """The settings form as the API's SettingsIn fields (an empty picklist means none)."""
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
        sync = await self.get_sync_status.execute(actor)
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


def _audit_query(request: Request[Any, Any, Any], limit: int) -> AuditQuery:
    q = request.query_params

    def text(name: str) -> str | None:
        return (q.get(name) or "").strip()[:64] or None

    outcome = q.get("outcome") or ""
    return AuditQuery(
        text("action"),
        text("actor"),
        text("customer_id"),
        text("run_id"),
        Outcome(outcome) if outcome in Outcome.__members__.values() else None,
        day_bound(q.get("since"), end=False),
        day_bound(q.get("until"), end=True),
        limit,
        whole_number(q.get("after")),
    )


class AuditPages(Controller):
    path = "/audit"

    @get("/", name="audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        query_audit: NamedDependency[QueryAudit],
        verify_audit: NamedDependency[VerifyAudit],
    ) -> Template:
        query = replace(_audit_query(request, AUDIT_PAGE + 1), newest_first=True)  # the newest an admin looks for
        records = await query_audit.execute(web_actor, query)
        check: ChainCheck | None = None
        if request.query_params.get("verify") == "1":
            check = await verify_audit.execute(web_actor)
        filters = [(k, v) for k, v in request.query_params.multi_items() if k not in ("after", "verify") and v]
        next_query = [*filters, ("after", records[AUDIT_PAGE - 1].seq)] if len(records) > AUDIT_PAGE else None
        return page(
            request,
            "audit.html",
            web_actor,
            records=[record_fields(r) for r in records[:AUDIT_PAGE]],
            check=check,
            filters=dict(filters),
            filter_query=filters,
            next_query=next_query,
            outcomes=[o.value for o in Outcome],
        )

    @get("/export", name="audit_export")
    async def export(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        export_audit: NamedDependency[ExportAudit],
    ) -> Stream:
        fmt = ExportFormat.CSV if request.query_params.get("format") == "csv" else ExportFormat.JSONL
        lines = await export_audit.execute(web_actor, _audit_query(request, AUDIT_PAGE), fmt)
        return Stream(
            lines,
            media_type="text/csv" if fmt is ExportFormat.CSV else "application/jsonl",
            headers={"Content-Disposition": f'attachment; filename="audit.{fmt.value}"'},
        )


class UserPages(Controller):
    path = "/users"

    @get("/", name="users")
    async def users(
        self, request: Request[Any, Any, Any], web_actor: NamedDependency[Actor], list_users: NamedDependency[ListUsers]
    ) -> Template:
        return page(
            request,
            "users.html",
            web_actor,
            users=await list_users.execute(web_actor),
            roles=list(Role),
            new=None,
            secret=None,
        )

    @post("/", name="user_add")
    async def add(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        add_user: NamedDependency[AddUser],
        list_users: NamedDependency[ListUsers],
    ) -> Template | Redirect:
        role = field(form, "role")
        if role not in Role.__members__.values():
            return done(self.path, "error", "Choose a role.")
        try:
            new = await add_user.execute(
                web_actor, field(form, "username"), Role(role), field(form, "password") or None
            )
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "adding the user"))
        # Not a redirect: the token (and a generated password) are shown once, in this answer only (never cached).
        return page(
            request,
            "users.html",
            web_actor,
            users=await list_users.execute(web_actor),
            roles=list(Role),
            new=new,
            secret=None,
        )

    @post("/{user_id:str}/role", name="user_role")
    async def role(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_user: NamedDependency[UpdateUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        role = field(form, "role")
        if role not in Role.__members__.values():
            return done(self.path, "error", "Choose a role.")
        try:
            user = await update_user.execute(web_actor, user_id, role=Role(role))
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "changing the role"))
        return done(self.path, "ok", f"{user.username} is {user.role.value} now; their sessions ended.")

    @post("/{user_id:str}/disable", name="user_disable")
    async def disable(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_user: NamedDependency[UpdateUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        return await _switch(self.path, update_user, web_actor, user_id, disabled=True)

    @post("/{user_id:str}/enable", name="user_enable")
    async def enable(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_user: NamedDependency[UpdateUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        return await _switch(self.path, update_user, web_actor, user_id, disabled=False)

    @post("/{user_id:str}/token", name="user_token")
    async def token(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        rotate_token: NamedDependency[RotateToken],
        list_users: NamedDependency[ListUsers],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Template | Redirect:
        try:
            secret = await rotate_token.execute(web_actor, user_id)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "making a new token"))
        return await self._shown_once(request, web_actor, list_users, secret, "API token")

    @post("/{user_id:str}/password", name="user_password")
    async def password(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        reset_password: NamedDependency[ResetPassword],
        list_users: NamedDependency[ListUsers],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Template | Redirect:
        chosen = form.get("password")
        try:
            secret = await reset_password.execute(
                web_actor, user_id, chosen if isinstance(chosen, str) and chosen else None
            )
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "resetting the password"))
        if not secret.generated:
            return done(self.path, "ok", f"{secret.user.username}'s password was set; their sessions ended.")
        return await self._shown_once(request, web_actor, list_users, secret, "Password")

    async def _shown_once(
        self, request: Request[Any, Any, Any], actor: Actor, list_users: ListUsers, secret: NewSecret, kind: str
    ) -> Template | Redirect:
        """A new secret, in this answer only (not a redirect: never cached); when the admin changed their own, their
        session is over and the sign-in page follows."""
        try:
            users = await list_users.execute(actor)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "listing the users"))
        return page(request, "users.html", actor, users=users, roles=list(Role), new=None, secret=(kind, secret))

    @post("/{user_id:str}/remove", name="user_remove")
    async def remove(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        remove_user: NamedDependency[RemoveUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        try:
            user = await remove_user.execute(web_actor, user_id)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "removing the user"))
        return done(self.path, "ok", f"User {user.username} was removed; their token and sessions no longer work.")

    @post("/unlock", name="user_unlock")
    async def unlock(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        sessions: NamedDependency[Sessions],
    ) -> Redirect:
        username = field(form, "username")
        try:
            await sessions.unlock(web_actor, username)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "unlocking the user"))
        return done(self.path, "ok", f"{username} can sign in again: their failed sign-ins are forgotten.")


async def _switch(path: str, update_user: UpdateUser, actor: Actor, user_id: str, *, disabled: bool) -> Redirect:
    """Disable or enable a user, saying what that means for them."""
    try:
        user = await update_user.execute(actor, user_id, disabled=disabled)
    except UseCaseError as error:
        return done(path, "error", words.failed(error, "disabling the user" if disabled else "enabling the user"))
    said = "is disabled: their token and sessions no longer work" if disabled else "is enabled again"
    return done(path, "ok", f"{user.username} {said}.")
