"""The HTTP API's part of the app (docs/http-api.md): the `/api/v1` router with token authentication, the operations
routes (/health, /ready, /metrics), the use cases as dependencies, the audit of rejected requests and the OpenAPI
document. entrypoints/asgi.py mounts it beside the pages (ADR 0037).

Routes receive use cases through typed provider functions that call the container's providers per request, so
`container.<provider>.override(...)` takes effect at once."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import Scope

from application.errors import Forbidden, StorageUnavailable
from application.use_cases.users import Authenticate
from domain.roles import Actor, Permission
from entrypoints.container import Container, UseCase, use_cases
from entrypoints.http.audit import AuditController
from entrypoints.http.customers import CustomerController
from entrypoints.http.docs import docs_page
from entrypoints.http.hardening import AuthThrottle
from entrypoints.http.mappings import AutotaskController, MappingController
from entrypoints.http.problems import problem, refused_fields
from entrypoints.http.request_bodies import check_body_strictly
from entrypoints.http.response_specs import problem_response
from entrypoints.http.runs import RunController, TicketRefreshController
from entrypoints.http.settings import SettingsController
from entrypoints.http.users import MeController, UserController
from entrypoints.metrics import CONTENT_TYPE, Metrics

TOKEN_MAX = 256
LOGGER = logging.getLogger("backupchecks.http")


def typed_provider(provider: UseCase | Callable[[], object], kind: type | None = None) -> Provide:
    """A provider function Litestar can read: no parameters, `kind` (the use case's class) as its return type. It
    calls the container's provider per request, so `container.<provider>.override(...)` takes effect at once."""
    kind = kind or provider.cls  # type: ignore[union-attr]

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


class ApiAuth:
    """Who sends an API request: the bearer token's user; failed authentication is slowed by `throttle` (ADR 0008)."""

    def __init__(self, throttle: AuthThrottle) -> None:
        self.throttle = throttle

    async def authenticated(self, request: Request[Any, Any, Any], authenticate: Authenticate) -> Actor:
        """The bearer token's user, or 401 after the client's failure delay. Unknown tokens are not audited (there is
        no actor to record); they are slowed instead."""
        token = bearer_token(request)
        actor = None if token is None else await authenticate.execute(token)
        if actor is None:
            await self.throttle.failed(client_of(request))
            raise NotAuthorizedException()
        self.throttle.succeeded(client_of(request))
        request.state.user = actor.name
        request.state.actor = actor
        return actor


class RejectedAudit:
    """An `after_exception` hook: a request whose values failed the API's own checks after authentication is audited
    (and folded)."""

    def __init__(self, container: Container) -> None:
        self.container = container

    async def __call__(self, error: Exception, scope: Scope) -> None:
        actor = (scope.get("state") or {}).get("actor")
        if isinstance(error, ValidationException) and isinstance(actor, Actor):
            operation = f"{scope.get('method', '')} {scope.get('path_template', scope.get('path', ''))}"
            try:
                await self.container.record_rejected_request().execute(actor, operation, refused_fields(error))
            except Exception as failure:  # the client still gets its 400; the log says the record is missing
                LOGGER.error("could not audit a rejected request on %s: %s", operation, type(failure).__name__)


async def provide_actor(request: Request[Any, Any, Any], authenticate: NamedDependency[Authenticate]) -> Actor:
    """The actor (through this app's ApiAuth); then the body is checked strictly (a refusal after authentication is
    audited)."""
    auth: ApiAuth = request.app.state.api_auth
    actor = await auth.authenticated(request, authenticate)
    await check_body_strictly(request)
    return actor


def _container(request: Request[Any, Any, Any]) -> Container:
    container: Container = request.app.state.container
    return container


@get("/health", operation_id="health", tags=["operations"])
async def health() -> dict[str, str]:
    return {"status": "ok"}


@get(
    "/ready",
    operation_id="ready",
    tags=["operations"],
    responses={503: problem_response("database_unavailable: the database does not answer")},
)
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    try:
        async with _container(request).storage()() as uow:
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
    },
    description="Prometheus metrics. The bearer token is BACKUPCHECKS_METRICS_TOKEN or an admin's API token.",
)
async def metrics(request: Request[Any, Any, Any], authenticate: NamedDependency[Authenticate]) -> Response[Any]:
    container = _container(request)
    token, expected = bearer_token(request), container.config().metrics_token
    if token is None or expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
        auth: ApiAuth = request.app.state.api_auth
        actor = await auth.authenticated(request, authenticate)
        if not actor.may(Permission.ADMINISTER):
            return problem(403, Forbidden.code, "Only an admin (or the metrics token) may read the metrics.")
    return Response(container.metrics().exposition(), media_type=CONTENT_TYPE)


def api_router() -> Router:
    """`/api/v1`: every resource, each request's actor from its bearer token (the app's state holds its ApiAuth)."""
    return Router(
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


OPERATIONS = [health, ready, metrics]
"""The unversioned routes: liveness, readiness and the Prometheus metrics."""


def api_dependencies(container: Container) -> dict[str, Provide]:
    """Every use case by name (and the metrics), resolved from `container` per request."""
    return {
        **{name: typed_provider(provider) for name, provider in use_cases(container).items()},
        "metrics": typed_provider(container.metrics, Metrics),
    }


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Backupchecks Autotask integration",
        version="1.0.0",
        path="/schema",
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        render_plugins=[docs_page()],
    )
