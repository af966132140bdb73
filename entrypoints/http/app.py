"""The Litestar app factory. Routes receive use cases through typed provider functions that call the container's
providers per request, so `container.<provider>.override(...)` takes effect at once."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Scope

from application.attempts import flush_denials
from application.errors import Forbidden, StorageUnavailable
from application.use_cases.users import Authenticate
from domain.roles import Actor, Permission
from entrypoints.container import Container, UseCase, close, use_cases
from entrypoints.http.audit import AuditController
from entrypoints.http.customers import CustomerController
from entrypoints.http.docs import docs_assets, docs_page
from entrypoints.http.hardening import (
    MAX_BODY_BYTES,
    AuthThrottle,
    TooManyAttempts,
    allowed_methods,
    options_allow,
    security_headers,
)
from entrypoints.http.mappings import AutotaskController, MappingController
from entrypoints.http.observability import request_log
from entrypoints.http.openapi import make_exact
from entrypoints.http.problems import (
    ERROR_MEANINGS,
    EXCEPTION_HANDLERS,
    ApiRequest,
    check_body_strictly,
    problem,
    problem_response,
    refused_fields,
)
from entrypoints.http.runs import RunController, TicketRefreshController
from entrypoints.http.settings import SettingsController
from entrypoints.http.users import MeController, UserController
from entrypoints.logs import configure_logging
from entrypoints.metrics import CONTENT_TYPE, Metrics
from entrypoints.web.app import web_router
from entrypoints.web.plumbing import template_config

TOKEN_MAX = 256
LOGGER = logging.getLogger("backupchecks.http")


def typed_provider(provider: UseCase) -> Provide:
    """A provider function Litestar can read: no parameters, the use case's class as its return type. It calls the
    container's provider per request, so `container.<provider>.override(...)` takes effect at once."""
    kind = provider.cls

    def provide() -> Any:
        return provider()

    provide.__annotations__ = {"return": kind}
    provide.__name__ = f"provide_{kind.__name__}"
    return Provide(provide, sync_to_thread=False)


def bearer_token(request: Request[Any, Any, Any]) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token and len(token) <= TOKEN_MAX else None


def client_of(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


def create_app(container: Container, throttle: AuthThrottle | None = None) -> Litestar:
    """`throttle`: the budget of failed token checks per client address (ADR 0035); tests pass their own."""
    metrics_provider: Callable[[], Metrics] = container.metrics
    throttle = throttle or AuthThrottle()
    allowed: dict[str, str] = {}  # route → its Allow header, filled once the app is built

    def provide_metrics() -> Metrics:
        return metrics_provider()

    async def authenticated(request: Request[Any, Any, Any], authenticate: Authenticate) -> Actor:
        """The bearer token's user; 401 without one, 429 while the client's address is over its budget of failed token
        checks (the token is then not checked: ADR 0035). Unknown tokens are not audited (there is no actor to record);
        they spend the address's budget instead."""
        token, client = bearer_token(request), client_of(request)
        if token is None:
            raise NotAuthorizedException()
        retry_after = await throttle.admit(client)
        if retry_after is not None:
            raise TooManyAttempts(retry_after)
        try:
            actor = await authenticate.execute(token)
        except BaseException:
            throttle.released(client)
            raise
        if actor is None:
            throttle.failed(client)
            raise NotAuthorizedException()
        throttle.succeeded(client)
        request.state.user = actor.name
        request.state.actor = actor
        return actor

    async def provide_actor(request: Request[Any, Any, Any], authenticate: NamedDependency[Authenticate]) -> Actor:
        """The actor; then the body is checked strictly (a refusal after authentication is audited)."""
        actor = await authenticated(request, authenticate)
        await check_body_strictly(request)
        return actor

    async def audit_rejected(error: Exception, scope: Scope) -> None:
        """A request whose values failed the API's own checks after authentication is audited (and folded)."""
        actor = (scope.get("state") or {}).get("actor")
        if isinstance(error, ValidationException) and isinstance(actor, Actor):
            operation = f"{scope.get('method', '')} {scope.get('path_template', scope.get('path', ''))}"
            try:
                await container.record_rejected_request().execute(actor, operation, refused_fields(error))
            except Exception as failure:  # the client still gets its 400; the log says the record is missing
                LOGGER.error("could not audit a rejected request on %s: %s", operation, type(failure).__name__)

    @get("/health", operation_id="health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @get(
        "/ready",
        operation_id="ready",
        tags=["operations"],
        responses={503: problem_response("database_unavailable: the database does not answer")},
    )
    async def ready() -> Response[dict[str, Any]]:
        try:
            async with container.storage()() as uow:
                await uow.settings.get()
        except Exception as error:  # any failure means "not ready"; the reason goes to the log only
            LOGGER.warning("readiness check failed: %s", type(error).__name__)
            return problem(503, StorageUnavailable.code, "The database does not answer.")
        return Response({"status": "ok"})

    @get(
        "/metrics",
        operation_id="metrics",
        tags=["operations"],
        media_type=CONTENT_TYPE,
        security=[{"bearer": []}],
        responses={
            401: problem_response("unauthorized: send BACKUPCHECKS_METRICS_TOKEN or an admin's API token"),
            403: problem_response("forbidden: an API token of a role other than admin"),
            429: problem_response(ERROR_MEANINGS[429]),
        },
        description="Prometheus metrics. The bearer token is BACKUPCHECKS_METRICS_TOKEN or an admin's API token.",
    )
    async def metrics(request: Request[Any, Any, Any], authenticate: NamedDependency[Authenticate]) -> Response[Any]:
        token, expected = bearer_token(request), container.config().metrics_token
        if token is None or expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
            actor = await authenticated(request, authenticate)
            if not actor.may(Permission.ADMINISTER):
                return problem(403, Forbidden.code, "Only an admin (or the metrics token) may read the metrics.")
        return Response(metrics_provider().exposition(), media_type=CONTENT_TYPE)

    stop, running = asyncio.Event(), []

    async def on_startup() -> None:
        """The scheduled jobs run in every `serve` process; their leases let one work at a time (ADR 0022)."""
        if container.config().scheduler:
            running.append(asyncio.create_task(container.scheduler().serve(stop)))

    async def on_shutdown() -> None:
        stop.set()
        for task in running:
            await task
        await flush_denials(container.deps())
        await close(container)

    api = Router(
        "/api/v1",
        route_handlers=[
            CustomerController,
            RunController,
            MappingController,
            AutotaskController,
            TicketRefreshController,
            SettingsController,
            UserController,
            MeController,
            AuditController,
        ],
        dependencies={"actor": Provide(provide_actor)},
        security=[{"bearer": []}],
    )
    app = Litestar(
        route_handlers=[health, ready, metrics, api, docs_assets(), web_router()],
        dependencies={
            **{name: typed_provider(provider) for name, provider in use_cases(container).items()},
            "metrics": Provide(provide_metrics, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        after_exception=[audit_rejected],
        middleware=[options_allow(allowed), request_log(metrics_provider())],
        before_send=[security_headers],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=OpenAPIConfig(
            title="Backupchecks Autotask integration",
            version="1.0.0",
            path="/schema",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
            render_plugins=[docs_page()],
        ),
        request_class=ApiRequest,
        request_max_body_size=MAX_BODY_BYTES,
        template_config=template_config(),
        state=State({"cookie_secure": container.config().cookie_secure}),
        debug=False,
        logging_config=None,  # the process (the command line) configures logging, not the app
    )
    make_exact(app)
    allowed.update(allowed_methods(app))
    return app


def app_from_env() -> Litestar:
    """The production app (`backupchecks serve`; uvicorn calls this in each worker)."""
    configure_logging()
    return create_app(Container())
