"""A small world for use-case tests: storage, the fake PSA, a clock the test moves, and ready-made actors."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet

from adapters.fake_psa import FakeConnector, FakeGateway, FakePsa
from adapters.memory import MemoryStore
from adapters.secret_box import FernetSecretBox
from application.deps import Deps
from application.ports import Credentials, UnitOfWorkFactory
from domain.mapping import CompanyLookup, CompanyMapping
from domain.roles import Actor, Role
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.settings import Environment

ADMIN = Actor("alice", Role.ADMIN)
OPERATOR = Actor("oscar", Role.OPERATOR)
REPORTER = Actor("rita", Role.REPORTER)
PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 1, 15, 2, 10, tzinfo=UTC)


@dataclass
class FixedClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def make_run(run_id: str = "run-1", customer_id: str = "cust-1", status: RunStatus = RunStatus.ERROR) -> Run:
    return Run(
        id=run_id,
        customer_id=customer_id,
        job_name="Nightly VMs",
        backup_software="Veeam Backup & Replication",
        backup_type="Backup job",
        run_at=T0,
        status=status,
        objects=(
            RunObject("HV01", ObjectStatus.ERROR, "VM", "Snapshot failed"),
            RunObject("USB Disk", ObjectStatus.SUCCESS),
        ),
        messages=("Job finished with 1 error.",),
    )


class PatchedConnector(FakeConnector):
    """The fake PSA with some gateway operations wrapped, to script what happens *during* a call: each wrapper is
    given the original operation and answers its replacement."""

    def __init__(self, psa: FakePsa, **wrappers: Callable[[Any], Any]) -> None:
        super().__init__(psa)
        self.wrappers = wrappers

    def connect(self, credentials: Credentials, *, fresh: bool = False) -> FakeGateway:
        gateway = super().connect(credentials, fresh=fresh)
        for name, wrap in self.wrappers.items():
            setattr(gateway, name, wrap(getattr(gateway, name)))
        return gateway


@dataclass
class UseCaseWorld:
    uow: UnitOfWorkFactory = field(default_factory=MemoryStore)
    psa: FakePsa = field(default_factory=FakePsa)
    clock: FixedClock = field(default_factory=FixedClock)
    secrets: FernetSecretBox = field(default_factory=lambda: FernetSecretBox(Fernet.generate_key()))

    def __post_init__(self) -> None:
        self.psa.clock = self.clock.now  # the fake PSA stamps its changes by the test's clock

    @property
    def deps(self) -> Deps:
        return Deps(self.uow, self.clock, FakeConnector(self.psa), self.secrets)

    def deps_with(self, **wrappers: Callable[[Any], Any]) -> Deps:
        """The ports, with the PSA's operations wrapped (see PatchedConnector)."""
        return replace(self.deps, psa=PatchedConnector(self.psa, **wrappers))

    async def configure(self, **changes: Any) -> None:
        """Enable the integration with working credentials and valid defaults (the fake's picklists)."""
        self.psa.accept = ("api@example.com", PASSWORD, "TRACKING01")
        async with self.uow() as uow:
            settings = await uow.settings.get()
            settings = replace(
                settings,
                enabled=True,
                environment=Environment.SANDBOX,
                api_username="api@example.com",
                api_password_sealed=self.secrets.seal(PASSWORD),
                tracking_identifier="TRACKING01",
                default_queue_id=29683481,
                default_issue_type_id=11,
                default_sub_issue_type_id=111,
                default_source_id=4,
                priority_error_id=1,
                priority_warning_id=2,
                note_type_id=3,
                note_publish_id=2,
                allow_resolve=True,
                backupchecks_base_url="https://backupchecks.example.com",
                time_entries_visible=True,  # as a Test connection just now found
                rights_checked_at=self.clock.now(),
            )
            await uow.settings.save(replace(settings, **changes))
            await uow.commit()

    async def seed(self, run: Run | None = None, *, company_id: int | None = 100, customer_name: str = "Acme") -> Run:
        """A customer (mapped to `company_id` unless None) and a run of it."""
        run = run or make_run()
        if company_id is not None and company_id not in self.psa.companies:
            self.psa.add_company(company_id, "Acme B.V.")
        async with self.uow() as uow:
            await uow.customers.save(Customer(run.customer_id, customer_name))
            await uow.runs.save(run)
            if company_id is not None:
                company = self.psa.companies[company_id]
                lookup = CompanyLookup.found(company.id, company.name, is_active=company.is_active)
                await uow.mappings.save(CompanyMapping.from_lookup(run.customer_id, lookup, self.clock.now()))
            await uow.commit()
        return run
