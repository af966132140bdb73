"""Settings, users and the audit log (admin)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.response import Stream

from application.ports import AuditQuery
from application.use_cases.audit_log import ExportAudit, ExportFormat, QueryAudit, VerifyAudit, record_fields
from application.use_cases.diagnostics import GetPicklists, GetUsage, TestConnection, ValidateConfiguration
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from application.use_cases.users import AddUser, ListUsers, RemoveUser
from domain.audit import Outcome
from domain.roles import Actor
from entrypoints.http.pagination import decode_cursor, paginate
from entrypoints.http.parameters import Limit, Moment, NameCursor, SeqCursor
from entrypoints.http.problems import api_responses
from entrypoints.http.schemas import (
    SINGLE_LINE,
    AuditPage,
    AuditRecordOut,
    ConnectionOut,
    NewUserOut,
    PicklistsOut,
    SettingsIn,
    SettingsOut,
    UsageOut,
    UserIn,
    UserOut,
    UserPage,
    ValidationOut,
    VerifyOut,
    connection_out,
    out,
    utc,
)

Filter = Annotated[str | None, QueryParameter(min_length=1, max_length=64, pattern=SINGLE_LINE)]


class SettingsController(Controller):
    path = "/settings/autotask"
    tags = ("settings",)

    @get("/", operation_id="getSettings", responses=api_responses(403))
    async def get_settings(
        self, actor: NamedDependency[Actor], get_settings: NamedDependency[GetSettings]
    ) -> SettingsOut:
        return out(await get_settings.execute(actor), SettingsOut)

    @put("/", operation_id="updateSettings", status_code=200, responses=api_responses(400, 403))
    async def update_settings(
        self,
        actor: NamedDependency[Actor],
        update_settings: NamedDependency[UpdateSettings],
        data: JSONBody[SettingsIn],
    ) -> SettingsOut:
        password = data.api_password if isinstance(data.api_password, str) else None
        return out(await update_settings.execute(actor, SettingsChange(data.values(), password)), SettingsOut)

    @post("/test-connection", operation_id="testConnection", status_code=200, responses=api_responses(403))
    async def test_connection(
        self, actor: NamedDependency[Actor], test_connection: NamedDependency[TestConnection]
    ) -> ConnectionOut:
        return connection_out(await test_connection.execute(actor))

    @post("/validate", operation_id="validateSettings", status_code=200, responses=api_responses(403))
    async def validate(
        self, actor: NamedDependency[Actor], validate_configuration: NamedDependency[ValidateConfiguration]
    ) -> ValidationOut:
        return out(await validate_configuration.execute(actor), ValidationOut)

    @get("/picklists", operation_id="getPicklists",
         responses=api_responses(400, 403, (409, "integration_disabled"), 502, 503))
    async def picklists(
        self,
        actor: NamedDependency[Actor],
        get_picklists: NamedDependency[GetPicklists],
        refresh: FromQuery[bool] = False,
    ) -> PicklistsOut:
        return out(await get_picklists.execute(actor, refresh=refresh), PicklistsOut)

    @get("/usage", operation_id="getUsage", responses=api_responses(403, (409, "integration_disabled"), 502, 503))
    async def usage(self, actor: NamedDependency[Actor], get_usage: NamedDependency[GetUsage]) -> UsageOut:
        return out(await get_usage.execute(actor), UsageOut)


class UserController(Controller):
    path = "/users"
    tags = ("users",)

    @post("/", operation_id="addUser", status_code=201, description="The token is shown once; only its hash is kept.",
          responses=api_responses(400, 403, (409, "username_taken")))
    async def add_user(
        self, actor: NamedDependency[Actor], add_user: NamedDependency[AddUser], data: JSONBody[UserIn]
    ) -> NewUserOut:
        new = await add_user.execute(actor, data.username, data.role, data.password)
        return NewUserOut(id=new.user.id, username=new.user.username, role=new.user.role, token=new.token)

    @get("/", operation_id="listUsers", responses=api_responses(400, 403))
    async def list_users(
        self,
        actor: NamedDependency[Actor],
        list_users: NamedDependency[ListUsers],
        limit: Limit = 50,
        cursor: NameCursor = None,
    ) -> UserPage:
        after = decode_cursor(cursor, str)[0] if cursor else None
        users = sorted((u for u in await list_users.execute(actor) if after is None or u.username > after),
                       key=lambda u: u.username)
        page, next_cursor = paginate(users, limit, lambda u: (u.username,))
        return UserPage([out(u, UserOut) for u in page], next_cursor)

    @delete("/{user_id:str}", operation_id="removeUser", status_code=204,
            responses=api_responses(400, 403, (404, "user_not_found"), (409, "last_admin")))
    async def remove_user(
        self,
        actor: NamedDependency[Actor],
        remove_user: NamedDependency[RemoveUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE)],
    ) -> None:
        await remove_user.execute(actor, user_id)


def provide_audit_query(
    actor: NamedDependency[Actor],  # authenticated first: an unknown caller gets 401, never a verdict on its filters
    action: Filter = None,
    actor_name: Annotated[str | None, QueryParameter(name="actor", min_length=1, max_length=64,
                                                     pattern=SINGLE_LINE)] = None,
    customer_id: Filter = None,
    run_id: Filter = None,
    outcome: FromQuery[Outcome | None] = None,
    since: Moment = None,
    until: Moment = None,
    limit: Limit = 50,
    cursor: SeqCursor = None,
) -> AuditQuery:
    """The audit filters shared by the list and the export."""
    after = decode_cursor(cursor, int)[0] if cursor else None
    return AuditQuery(action, actor_name, customer_id, run_id, outcome, utc(since, "since"), utc(until, "until"), limit,
                      after)


class AuditController(Controller):
    path = "/audit"
    tags = ("audit",)
    dependencies = {"audit_query": Provide(provide_audit_query, sync_to_thread=False)}  # noqa: RUF012  (Litestar reads it per class)

    @get("/", operation_id="queryAudit", responses=api_responses(400, 403))
    async def query_audit(
        self,
        actor: NamedDependency[Actor],
        query_audit: NamedDependency[QueryAudit],
        audit_query: NamedDependency[AuditQuery],
    ) -> AuditPage:
        records = await query_audit.execute(actor, replace(audit_query, limit=audit_query.limit + 1))
        page, next_cursor = paginate(records, audit_query.limit, lambda r: (r.seq,))
        return AuditPage([out(record_fields(r), AuditRecordOut) for r in page], next_cursor)

    @get("/export", operation_id="exportAudit", responses=api_responses(400, 403))
    async def export_audit(
        self,
        actor: NamedDependency[Actor],
        export_audit: NamedDependency[ExportAudit],
        audit_query: NamedDependency[AuditQuery],
        format: FromQuery[ExportFormat] = ExportFormat.JSONL,
    ) -> Stream:
        lines = await export_audit.execute(actor, audit_query, format)
        media = "text/csv" if format is ExportFormat.CSV else "application/jsonl"
        return Stream(
            lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="audit.{format.value}"'}
        )

    @get("/verify", operation_id="verifyAudit", responses=api_responses(403))
    async def verify_audit(
        self, actor: NamedDependency[Actor], verify_audit: NamedDependency[VerifyAudit]
    ) -> VerifyOut:
        return out(await verify_audit.execute(actor), VerifyOut)
