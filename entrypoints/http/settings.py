"""The Autotask settings and their diagnostics: test the connection, validate, picklists, API usage (admin)."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from application.errors import NotConfigured, SettingInvalid
from application.use_cases.diagnostics import CheckConnection, GetPicklists, GetUsage, ValidateConfiguration
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from application.use_cases.test_ticket import MakeTestTicket
from domain.roles import Actor
from entrypoints.http.response_specs import api_responses
from entrypoints.http.schemas.common import out
from entrypoints.http.schemas.settings import (
    SettingsIn,
    SettingsOut,
    TestTicketIn,
    TestTicketOut,
    ValidationOut,
    settings_out,
)
from entrypoints.http.schemas.tenant import ConnectionOut, PicklistsOut, UsageOut, connection_out, picklists_out


class SettingsController(Controller):
    path = "/settings/autotask"
    tags = ("settings",)

    @get("/", operation_id="getSettings", responses=api_responses(403))
    async def get_settings(
        self, actor: NamedDependency[Actor], get_settings: NamedDependency[GetSettings]
    ) -> SettingsOut:
        return settings_out(await get_settings.execute(actor))

    @put("/", operation_id="updateSettings", status_code=200, responses=api_responses(400, 403, SettingInvalid))
    async def update_settings(
        self,
        actor: NamedDependency[Actor],
        update_settings: NamedDependency[UpdateSettings],
        data: JSONBody[SettingsIn],
    ) -> SettingsOut:
        password = data.api_password if isinstance(data.api_password, str) else None
        return settings_out(await update_settings.execute(actor, SettingsChange(data.values(), password)))

    @post("/test-connection", operation_id="testConnection", status_code=200, responses=api_responses(403))
    async def test_connection(
        self, actor: NamedDependency[Actor], test_connection: NamedDependency[CheckConnection]
    ) -> ConnectionOut:
        return connection_out(await test_connection.execute(actor))

    @post("/validate", operation_id="validateSettings", status_code=200, responses=api_responses(403))
    async def validate(
        self, actor: NamedDependency[Actor], validate_configuration: NamedDependency[ValidateConfiguration]
    ) -> ValidationOut:
        return out(await validate_configuration.execute(actor), ValidationOut)

    @post("/test-ticket", operation_id="testTicket", status_code=200, responses=api_responses(400, 403, NotConfigured))
    async def test_ticket(
        self,
        actor: NamedDependency[Actor],
        test_ticket: NamedDependency[MakeTestTicket],
        data: JSONBody[TestTicketIn | None] = None,
    ) -> TestTicketOut:
        """One real ticket with the saved settings, noted internally and completed at once; `ok: false` is an answer
        (each step says what Autotask said), not an error."""
        return out(await test_ticket.execute(actor, data.company_id if data else None), TestTicketOut)

    @get("/picklists", operation_id="getPicklists", responses=api_responses(400, 403, NotConfigured, 502, 503))
    async def picklists(
        self,
        actor: NamedDependency[Actor],
        get_picklists: NamedDependency[GetPicklists],
        refresh: FromQuery[bool] = False,
    ) -> PicklistsOut:
        return picklists_out(await get_picklists.execute(actor, refresh=refresh))

    @get("/usage", operation_id="getUsage", responses=api_responses(403, NotConfigured, 502, 503))
    async def usage(self, actor: NamedDependency[Actor], get_usage: NamedDependency[GetUsage]) -> UsageOut:
        return out(await get_usage.execute(actor), UsageOut)
