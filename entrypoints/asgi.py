"""The one ASGI app (ADR 0037): the API (entrypoints/http) and the pages (entrypoints/web) mounted side by side, with
what both share set once: the security headers, the request log, the body limits, the use cases as dependencies, the
background jobs' lifespan. Neither entrypoint imports the other; this module imports both."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.datastructures import State

from application.attempts import flush_denials
from entrypoints.container import Container, close
from entrypoints.http.app import OPERATIONS, ApiAuth, RejectedAudit, api_dependencies, api_router, openapi_config
from entrypoints.http.docs import docs_assets
from entrypoints.http.hardening import MAX_BODY_BYTES, AuthThrottle, allowed_methods, options_allow
from entrypoints.http.observability import request_log
from entrypoints.http.openapi import make_exact
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.request_bodies import ApiRequest
from entrypoints.logs import configure_logging
from entrypoints.shared.headers import security_headers
from entrypoints.web.app import web_router
from entrypoints.web.plumbing import template_config


class BackgroundJobs:
    """The scheduled jobs run in every `serve` process; their leases let one work at a time (ADR 0022). On shutdown
    they stop, the folded denials are written and the container is closed."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.stop = asyncio.Event()
        self.running: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        if self.container.config().scheduler:
            self.running.append(asyncio.create_task(self.container.scheduler().serve(self.stop)))

    async def shut_down(self) -> None:
        self.stop.set()
        for task in self.running:
            await task
        await flush_denials(self.container.deps())
        await close(self.container)


def create_app(container: Container, throttle: AuthThrottle | None = None) -> Litestar:
    """`throttle`: how failed authentication is slowed (ADR 0008); tests pass one that does not sleep."""
    auth = ApiAuth(throttle or AuthThrottle())
    jobs = BackgroundJobs(container)
    allowed: dict[str, str] = {}  # route → its Allow header, filled once the app is built
    app = Litestar(
        route_handlers=[*OPERATIONS, api_router(), docs_assets(), web_router()],
        dependencies=api_dependencies(container),
        exception_handlers=EXCEPTION_HANDLERS,
        after_exception=[RejectedAudit(container)],
        middleware=[options_allow(allowed), request_log(container.metrics())],
        before_send=[security_headers],
        on_startup=[jobs.start],
        on_shutdown=[jobs.shut_down],
        openapi_config=openapi_config(),
        request_class=ApiRequest,
        request_max_body_size=MAX_BODY_BYTES,
        template_config=template_config(),
        state=State({"cookie_secure": container.config().cookie_secure, "container": container, "api_auth": auth}),
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
