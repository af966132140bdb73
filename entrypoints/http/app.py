"""The Litestar app factory. Routes receive use cases through typed provider functions that call the container's
providers per request, so `container.<provider>.override(...)` takes effect at once."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from dependency_injector import providers
from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from application.use_cases.users import Authenticate
from domain.roles import Actor
from entrypoints.container import Container, close
from entrypoints.http.admin import AuditController, SettingsController, UserController
from entrypoints.http.autotask import AutotaskController, MappingController
from entrypoints.http.core import CustomerController, RunController
from entrypoints.http.observability import request_log
from entrypoints.http.problems import EXCEPTION_HANDLERS, ApiRequest, problem, problem_response
from entrypoints.metrics import CONTENT_TYPE, Metrics
from entrypoints.web.app import web_router
from entrypoints.web.plumbing import template_config

T = TypeVar("T")
TOKEN_MAX = 256
LOGGER = logging.getLogger("backupchecks.http")

# Dependency name → the container provider of the same name, as handlers name their parameters.
USE_CASES = (
    "put_customer",
    "list_customers",
    "put_run",
    "list_runs",
    "get_run",
    "search_companies",
    "map_customer",
    "clear_mapping",
    "refresh_mapping",
    "confirm_mapping",
    "refresh_all_mappings",
    "create_ticket",
    "get_ticket",
    "resolve_ticket",
    "refresh_tickets",
    "get_settings",
    "update_settings",
    "test_connection",
    "validate_configuration",
    "get_picklists",
    "get_usage",
    "add_user",
    "list_users",
    "remove_user",
    "authenticate",
    "query_audit",
    "export_audit",
    "verify_audit",
    "sessions",
)


def typed_provider(provider: providers.Provider[T]) -> Provide:
    """A provider function Litestar can read: no parameters, the use case's class as its return type."""
    kind = provider.cls if isinstance(provider, providers.Factory) else object

    def provide() -> Any:
        return provider()

    provide.__annotations__ = {"return": kind}
    provide.__name__ = f"provide_{kind.__name__}"
    return Provide(provide, sync_to_thread=False)


async def provide_actor(request: Request[Any, Any, Any], authenticate: NamedDependency[Authenticate]) -> Actor:
    """The bearer token's user, or 401. Unknown tokens are not audited (there is no actor to record)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > TOKEN_MAX:
        raise NotAuthorizedException()
    actor = await authenticate.execute(token)
    if actor is None:
        raise NotAuthorizedException()
    request.state.user = actor.name
    return actor


def create_app(container: Container) -> Litestar:
    metrics_provider: Callable[[], Metrics] = container.metrics

    def provide_metrics() -> Metrics:
        return metrics_provider()

    @get("/health", operation_id="health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", operation_id="ready", tags=["operations"],
         responses={503: problem_response("database_unavailable: the database does not answer")})
    async def ready() -> Response[dict[str, Any]]:
        try:
            async with container.storage()() as uow:
                await uow.settings.get()
        except Exception as error:  # any failure means "not ready"; the reason goes to the log only
            LOGGER.warning("readiness check failed: %s", type(error).__name__)
            return problem(503, "database_unavailable", "The database does not answer.")
        return Response({"status": "ok"})

    @get("/metrics", operation_id="metrics", tags=["operations"], media_type=CONTENT_TYPE)
    async def metrics() -> Response[bytes]:
        return Response(metrics_provider().exposition(), media_type=CONTENT_TYPE)

    async def on_shutdown() -> None:
        await close(container)

    api = Router(
        "/api/v1",
        route_handlers=[
            CustomerController,
            RunController,
            MappingController,
            AutotaskController,
            SettingsController,
            UserController,
            AuditController,
        ],
        dependencies={"actor": Provide(provide_actor)},
        security=[{"bearer": []}],
    )
    return Litestar(
        route_handlers=[health, ready, metrics, api, web_router()],
        dependencies={
            **{name: typed_provider(getattr(container, name)) for name in USE_CASES},
            "metrics": Provide(provide_metrics, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_log(metrics_provider())],
        on_shutdown=[on_shutdown],
        openapi_config=OpenAPIConfig(
            title="Backupchecks Autotask integration",
            version="1.0.0",
            path="/schema",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        request_class=ApiRequest,
        template_config=template_config(),
        state=State({"cookie_secure": container.config().cookie_secure}),
        debug=False,
        logging_config=None,  # the process (the command line) configures logging, not the app
    )


def app_from_env() -> Litestar:
    """The production app (`backupchecks serve`; uvicorn calls this in each worker)."""
    from entrypoints.cli import configure_logging

    configure_logging()
    return create_app(Container())
