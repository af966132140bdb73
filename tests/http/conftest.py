"""An app on the in-memory store and the fake PSA (through the container's overrides), three users, a seeded world.

The app is built once per module (building one costs ~0.3 s of CPU); each test gets the module's container with every
override and singleton reset and its own store, PSA, secret box, config and metrics, so no state crosses tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from dependency_injector import providers
from litestar import Litestar
from litestar.testing import AsyncTestClient

from adapters.credentials import Argon2Credentials, token_hash
from adapters.fake_psa import FakeConnector, FakePsa
from adapters.memory import MemoryStore
from adapters.secret_box import FernetSecretBox
from application.ports import User
from domain.roles import Role
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.settings import AutotaskSettings, Environment
from entrypoints.asgi import create_app
from entrypoints.container import Config, Container
from entrypoints.http.hardening import AuthThrottle
from entrypoints.metrics import Metrics
from tests.asgi import asgi_transport
from tests.storage_backends import storage_backend

PASSWORD = "s3cret-Autotask-pw"
CREDENTIALS = ("api@example.com", PASSWORD, "TRACKING01")
AT = datetime(2026, 1, 15, 2, 10, tzinfo=UTC)
NO_DELAY = AuthThrottle(cap=0.0)
"""Failed authentication still goes through the throttle, held for 0 seconds (tests send many wrong tokens)."""
Client = AsyncTestClient[Litestar]
"""The test client of the app (the `client` fixture's type)."""


@dataclass
class HttpWorld:
    store: MemoryStore
    psa: FakePsa
    box: FernetSecretBox
    container: Container
    tokens: dict[Role, str]

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def configure(self, **changes: Any) -> None:
        self.store.settings["autotask"] = self.configured(self.store.settings["autotask"], **changes)

    def configured(self, settings: AutotaskSettings, **changes: Any) -> AutotaskSettings:
        """`settings` made ready for tickets with the fake PSA's credentials (sealed with this world's box)."""
        settings = replace(
            settings,
            enabled=True,
            environment=Environment.SANDBOX,
            api_username=CREDENTIALS[0],
            api_password_sealed=self.box.seal(CREDENTIALS[1]),
            tracking_identifier=CREDENTIALS[2],
            default_queue_id=29683481,
            priority_error_id=1,
            priority_warning_id=2,
            note_type_id=3,
            note_publish_id=2,
            allow_resolve=True,
            backupchecks_base_url="https://backupchecks.example.com",
            time_entries_visible=True,  # as a Test connection just now found
            rights_checked_at=datetime.now(UTC),
        )
        return replace(settings, **changes)

    def seed(self) -> None:
        """Customers c1 (mapped to 100), c2 (unmapped); runs r-err (error), r-warn (warning), r-ok (success)."""
        self.psa.add_company(100, "Acme BV")
        self.psa.add_company(101, "Globex")
        self.psa.add_company(102, "Old Corp", active=False)
        self.store.customers["c1"] = Customer("c1", "Acme")
        self.store.customers["c2"] = Customer("c2", "Initech")
        objects = (RunObject("vm-01", ObjectStatus.ERROR, "VM", "Snapshot failed"),)
        for run_id, status, minutes in (
            ("r-err", RunStatus.ERROR, 0),
            ("r-warn", RunStatus.WARNING, 1),
            ("r-ok", RunStatus.SUCCESS, 2),
        ):
            self.store.runs[run_id] = Run(
                run_id,
                "c1",
                "Nightly",
                "Veeam Backup & Replication",
                "Backup job",
                AT.replace(minute=minutes),
                status,
                objects,
                ("Job finished with errors",),
            )
        self.store.runs["r-c2"] = Run(
            "r-c2", "c2", "Files", "Veeam", "Backup job", AT.replace(minute=3), RunStatus.ERROR
        )


@dataclass
class SharedApp:
    """One app of a module's tests, with the container it resolves its providers from at request time."""

    container: Container
    app: Litestar
    metrics: Metrics
    """Built with the app (its request log writes here): emptied for each test."""


def make_world(tmp_path: Path, shared: SharedApp | None = None) -> HttpWorld:
    """A world on a new container, or on `shared`'s container with all its overrides and singletons reset."""
    store, psa = MemoryStore(), FakePsa(accept=CREDENTIALS)
    box = FernetSecretBox(Fernet.generate_key())
    container = Container() if shared is None else shared.container
    if shared is not None:
        container.reset_override()
        container.reset_singletons()
        Metrics.__init__(shared.metrics)  # fresh counters in the object the app's middleware holds
        container.metrics.override(providers.Object(shared.metrics))
    container.config.override(providers.Object(Config(data_dir=tmp_path)))
    container.storage.override(providers.Object(store))
    container.psa.override(providers.Object(FakeConnector(psa)))
    container.secret_box.override(providers.Object(box))
    container.hasher.override(
        providers.Object(Argon2Credentials(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)))
    )
    tokens = {}
    for role in Role:
        tokens[role] = secrets.token_urlsafe(32)
        store.users[role.value] = User(role.value, role.value, role, None, token_hash(tokens[role]), AT)
    return HttpWorld(store, psa, box, container, tokens)


@pytest.fixture(scope="module")
def shared_app(tmp_path_factory: pytest.TempPathFactory) -> SharedApp:
    container = Container()
    container.config.override(providers.Object(Config(data_dir=tmp_path_factory.mktemp("app"))))
    app = create_app(container, throttle=NO_DELAY)
    return SharedApp(container, app, container.metrics())


@pytest.fixture
def world(tmp_path: Path, shared_app: SharedApp) -> HttpWorld:
    w = make_world(tmp_path, shared_app)
    w.seed()
    w.configure()
    return w


@pytest.fixture
async def client(world: HttpWorld, shared_app: SharedApp) -> AsyncIterator[Client]:
    async with AsyncTestClient(shared_app.app) as c:
        yield c


async def call(
    client: httpx.AsyncClient, world: HttpWorld, role: Role | None, method: str, path: str, body: object = None
) -> httpx.Response:
    headers = world.auth(role) if role else {}
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    return await client.request(method, path, **kwargs)


async def map_and_ticket(client: Client, world: HttpWorld) -> dict[str, Any]:
    """c1 mapped to company 100 and a ticket for run r-err, both made over HTTP by the operator."""
    r = await call(client, world, Role.OPERATOR, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    assert r.status_code == 200, r.text
    r = await call(client, world, Role.OPERATOR, "POST", "/api/v1/runs/r-err/autotask-ticket")
    assert r.status_code == 201, r.text
    return dict(r.json())


@asynccontextmanager
async def app_on_backend(
    name: str, tmp_path: Path, password: str | None = None
) -> AsyncIterator[tuple[HttpWorld, httpx.AsyncClient]]:
    """The app on a fresh `name` store (memory, SQLite or PostgreSQL) holding one user per role (with `password`, so
    they may sign in to the pages), served in this event loop: a test client in a thread of its own would share
    PostgreSQL connections across event loops."""
    async with storage_backend(name) as storage:
        world = make_world(tmp_path)
        world.container.storage.override(providers.Object(storage))
        password_hash = None if password is None else world.container.hasher().hash_password(password)
        async with storage() as uow:
            for role, token in world.tokens.items():
                await uow.users.add(User(role.value, role.value, role, password_hash, token_hash(token), AT))
            await uow.commit()
        transport = asgi_transport(create_app(world.container, throttle=NO_DELAY))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield world, client
