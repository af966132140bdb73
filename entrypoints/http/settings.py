"""The Autotask settings and their diagnostics: test the connection, validate, picklists, API usage (admin)."""

from __future__ import annotations

from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from application.errors import NotConfigured, SettingInvalid
from application.use_cases.diagnostics import CheckConnection, GetPicklists, GetUsage, ValidateConfiguration
from application.use_cases.settings import GetSettings, SettingsChange, UpdateSettings
from domain.roles import Actor
from entrypoints.http.problems import api_responses
from entrypoints.http.schemas import (
    ConnectionOut,
    PicklistsOut,
    SettingsIn,
    SettingsOut,
    UsageOut,
    ValidationOut,
    connection_out,
    out,
)


class SettingsController(Controller):
    path = "/settings/autotask"
    tags = ("settings",)

    @get("/", operation_id="getSettings", responses=api_responses(403))
    async def get_settings(
        self, actor: NamedDependency[Actor], get_settings: NamedDependency[GetSettings]
    ) -> SettingsOut:
        return out(await get_settings.execute(actor), SettingsOut)

    @put("/", operation_id="updateSettings", status_code=200, responses=api_responses(400, 403, SettingInvalid))
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
        self, actor: NamedDependency[Actor], test_connection: NamedDependency[CheckConnection]
    ) -> ConnectionOut:
        return connection_out(await test_connection.execute(actor))

    @post("/validate", operation_id="validateSettings", status_code=200, responses=api_responses(403))
    async def validate(
        self, actor: NamedDependency[Actor], validate_configuration: NamedDependency[ValidateConfiguration]
    ) -> ValidationOut:
        return out(await validate_configuration.execute(actor), ValidationOut)

    @get("/picklists", operation_id="getPicklists", responses=api_responses(400, 403, NotConfigured, 502, 503))
    async def picklists(
        self,
        actor: NamedDependency[Actor],
        get_picklists: NamedDependency[GetPicklists],
        refresh: FromQuery[bool] = False,
    ) -> PicklistsOut:
        return out(await get_picklists.execute(actor, refresh=refresh), PicklistsOut)

    @get("/usage", operation_id="getUsage", responses=api_responses(403, NotConfigured, 502, 503))
    async def usage(self, actor: NamedDependency[Actor], get_usage: NamedDependency[GetUsage]) -> UsageOut:
        return out(await get_usage.execute(actor), UsageOut)
