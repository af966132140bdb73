"""The composition root: the one place where adapters meet use cases. Nothing is built at import time; providers
build on first use, and tests override them (`container.storage.override(providers.Object(MemoryStore()))`)."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from dependency_injector import containers, providers

from adapters.audit_anchor import ANCHOR_FILE, FileAnchor
from adapters.audit_key import KEY_FILE, FileAuditKeys, HeldAuditKeys, audit_key_from_passphrase
from adapters.autotask import AutotaskConnector
from adapters.autotask.budget import LocalBudget
from adapters.clock import SystemClock
from adapters.credentials import Argon2Credentials
from adapters.file_budget import FileLockBudget, sqlite_budget_folder
from adapters.memory.jobs import MemoryJobStore
from adapters.memory.refusals import MemoryRefusedCredentials
from adapters.memory.sessions import MemorySessionStore
from adapters.secret_box import FernetSecretBox
from adapters.sql import SqlStorage, default_database_url
from adapters.sql.budget import AdvisoryLockBudget
from adapters.sql.jobs import SqlJobStore
from adapters.sql.refusals import SqlRefusedCredentials
from adapters.sql.sessions import SqlSessionStore
from application.denials import DenialFolder
from application.deps import Deps
from application.ports import (
    MAPPING_CHECK,
    STATUS_SYNC,
    AuditKeys,
    InFlightBudget,
    JobStore,
    PsaConnector,
    RefusedCredentials,
    SecretBox,
    SessionStore,
    UnitOfWorkFactory,
)
from application.scheduler import Runner, Scheduler, Timing
from application.use_cases.audit_log import ExportAudit, QueryAudit, RotateAuditKey, VerifyAudit
from application.use_cases.clear_mapping import ClearMapping
from application.use_cases.confirm_mapping import ConfirmMapping
from application.use_cases.create_ticket import CreateTicket
from application.use_cases.diagnostics import CheckConnection, GetPicklists, GetUsage, ValidateConfiguration
from application.use_cases.get_ticket import GetTicket
from application.use_cases.list_customers import CountCustomers, GetCustomer, ListCustomerNames, ListCustomers
from application.use_cases.map_customer import MapCustomer
from application.use_cases.mapping_files import ExportMappings, ImportMappings
from application.use_cases.mapping_suggestions import AcceptSuggestions, SuggestMappings
from application.use_cases.preview_ticket import PreviewTicket
from application.use_cases.put_customer import PutCustomer
from application.use_cases.put_run import PutRun
from application.use_cases.refresh_all_mappings import RefreshAllMappings
from application.use_cases.refresh_mapping import RefreshMapping
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.rejected_request import RecordRejectedRequest
from application.use_cases.resolve_ticket import ResolveTicket
from application.use_cases.search_companies import SearchCompanies
from application.use_cases.settings import GetSettings, UpdateSettings
from application.use_cases.sync_status import GetSyncStatus
from application.use_cases.test_ticket import MakeTestTicket
from application.use_cases.users import (
    AddUser,
    Authenticate,
    ChangeOwnPassword,
    ListUserRows,
    ListUsers,
    RemoveUser,
    ResetPassword,
    RotateToken,
    UpdateUser,
)
from application.use_cases.view_runs import GetRun, ListRuns
from application.use_cases.web_sessions import SessionPolicy, Sessions
from entrypoints.metrics import Metrics

ENV_PREFIX = "BACKUPCHECKS_"


@dataclass(frozen=True, slots=True)
class Config:
    """Read from the environment (BACKUPCHECKS_*)."""

    data_dir: Path = Path("./var")
    database_url: str | None = None
    secret_key: str | None = None
    audit_key: str | None = None
    autotask_zone_url: str | None = None
    base_url: str | None = None
    autotask_timeout: float = 30.0
    ticket_stale_after: float = 120.0
    metrics_token: str | None = None
    """A bearer token that may read /metrics (besides an admin's API token)."""
    cookie_secure: bool = False
    """Mark the web session cookie Secure (set BACKUPCHECKS_COOKIE_SECURE=true when a TLS proxy serves the pages)."""
    session_idle_minutes: float = 30.0
    session_max_hours: float = 12.0
    scheduler: bool = False
    """Run the scheduled jobs in this process (`serve` and `demo` do, from the environment; tests choose)."""
    scheduler_tick_seconds: float = 15.0
    scheduler_lease_seconds: float = 120.0
    scheduler_minute_seconds: float = 60.0
    """Seconds per minute of the job intervals: only tests shorten it."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            return env.get(ENV_PREFIX + name) or None

        return cls(
            data_dir=Path(get("DATA_DIR") or "./var"),
            database_url=get("DATABASE_URL"),
            secret_key=get("SECRET_KEY"),
            audit_key=get("AUDIT_KEY"),
            autotask_zone_url=get("AUTOTASK_ZONE_URL"),
            base_url=get("BASE_URL"),
            autotask_timeout=float(get("AUTOTASK_TIMEOUT") or 30.0),
            ticket_stale_after=float(get("TICKET_STALE_AFTER") or 120.0),
            metrics_token=get("METRICS_TOKEN"),
            cookie_secure=(get("COOKIE_SECURE") or "").lower() in ("1", "true", "yes"),
            session_idle_minutes=float(get("SESSION_IDLE_MINUTES") or 30.0),
            session_max_hours=float(get("SESSION_MAX_HOURS") or 12.0),
            scheduler=(get("SCHEDULER") or "on").lower() not in ("0", "off", "false", "no"),
            scheduler_tick_seconds=float(get("SCHEDULER_TICK_SECONDS") or 15.0),
            scheduler_lease_seconds=float(get("SCHEDULER_LEASE_SECONDS") or 120.0),
            scheduler_minute_seconds=float(get("SCHEDULER_MINUTE_SECONDS") or 60.0),
        )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or default_database_url(self.data_dir)

    @property
    def embedded_database(self) -> bool:
        """The SQLite default under the data directory (migrated automatically at start)."""
        return self.database_url is None

    def __repr__(self) -> str:
        return (
            f"Config(data_dir={str(self.data_dir)!r}, database_url={'***' if self.database_url else None}, "
            f"metrics_token={'***' if self.metrics_token else None})"
        )


def make_storage(config: Config, audit_keys: AuditKeys) -> UnitOfWorkFactory:
    return SqlStorage(config.effective_database_url, audit_keys, FileAnchor(config.data_dir / ANCHOR_FILE, audit_keys))


def make_audit_keys(config: Config) -> AuditKeys:
    """A passphrase in the environment is one key (rotated there, not by rotate-key); else the data dir's key file."""
    if config.audit_key:
        return HeldAuditKeys(audit_key_from_passphrase(config.audit_key), rotatable=False)
    return FileAuditKeys(config.data_dir / KEY_FILE)


def make_secret_box(config: Config) -> SecretBox:
    if config.secret_key:
        return FernetSecretBox.from_passphrase(config.secret_key)
    return FernetSecretBox.from_key_file(config.data_dir)


def make_session_store(storage: UnitOfWorkFactory) -> SessionStore:
    """Sessions beside the data: in the SQL database, or in memory when the storage is (tests)."""
    return SqlSessionStore(storage) if isinstance(storage, SqlStorage) else MemorySessionStore()


def make_job_store(storage: UnitOfWorkFactory) -> JobStore:
    """The scheduled jobs' leases beside the data (every process sharing the database sees them)."""
    return SqlJobStore(storage) if isinstance(storage, SqlStorage) else MemoryJobStore()


def make_scheduler(
    deps: Deps, jobs: JobStore, config: Config, refresh_tickets: RefreshTickets, refresh_mappings: RefreshAllMappings
) -> Scheduler:
    timing = Timing(
        lease_seconds=config.scheduler_lease_seconds,
        tick_seconds=config.scheduler_tick_seconds,
        minute_seconds=config.scheduler_minute_seconds,
    )
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    runners: dict[str, Runner] = {STATUS_SYNC: refresh_tickets.execute, MAPPING_CHECK: refresh_mappings.execute}
    return Scheduler(deps, jobs, runners, holder, timing)


def session_policy(config: Config) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=config.session_idle_minutes), absolute=timedelta(hours=config.session_max_hours)
    )


def make_budget(storage: UnitOfWorkFactory) -> InFlightBudget:
    """Autotask's in-flight cap counts every process with the same tracking identifier: on PostgreSQL (several
    instances) the processes share it through the database's advisory locks; on a SQLite file every process on the
    host (each `serve` worker, the command line run by cron) shares it through lock files beside the database; in
    memory (tests) one process holds it."""
    if isinstance(storage, SqlStorage):
        if storage.engine.dialect.name == "postgresql":
            return AdvisoryLockBudget(storage.engine)
        if storage.engine.dialect.name == "sqlite" and (folder := sqlite_budget_folder(storage.engine.url.database)):
            return FileLockBudget(folder)
    return LocalBudget()


def make_refusals(storage: UnitOfWorkFactory) -> RefusedCredentials:
    """The credentials Autotask refused, beside the data: in the SQL database (every process and the CLI see them),
    or in memory when the storage is (tests)."""
    return SqlRefusedCredentials(storage) if isinstance(storage, SqlStorage) else MemoryRefusedCredentials()


def make_connector(config: Config, metrics: Metrics, storage: UnitOfWorkFactory) -> PsaConnector:
    return AutotaskConnector(
        zone_discovery_urls=[config.autotask_zone_url] if config.autotask_zone_url else None,
        timeout=config.autotask_timeout,
        budget=make_budget(storage),
        refusals=make_refusals(storage),
        on_request=metrics.autotask_request,
        logger=logging.getLogger("backupchecks.autotask"),
    )


class UseCase(providers.Factory):  # type: ignore[type-arg]
    """A use case, built per call. The HTTP app offers every one as a route dependency of the same name, so a use
    case is listed once: here."""


class Container(containers.DeclarativeContainer):
    config = providers.Singleton(Config.from_env)
    metrics = providers.Singleton(Metrics)
    clock = providers.Singleton(SystemClock)
    audit_keys = providers.Singleton(make_audit_keys, config)
    storage = providers.Singleton(make_storage, config, audit_keys)
    secret_box = providers.Singleton(make_secret_box, config)
    psa = providers.Singleton(make_connector, config, metrics, storage)
    hasher = providers.Singleton(Argon2Credentials)
    denials = providers.Singleton(DenialFolder)
    job_store = providers.Singleton(make_job_store, storage)
    deps = providers.Factory(Deps, uow=storage, clock=clock, psa=psa, secrets=secret_box, denials=denials)

    put_customer = UseCase(PutCustomer, deps)
    list_customers = UseCase(ListCustomers, deps)
    list_customer_names = UseCase(ListCustomerNames, deps)
    count_customers = UseCase(CountCustomers, deps)
    get_customer = UseCase(GetCustomer, deps)
    put_run = UseCase(PutRun, deps)
    list_runs = UseCase(ListRuns, deps)
    get_run = UseCase(GetRun, deps)
    search_companies = UseCase(SearchCompanies, deps)
    map_customer = UseCase(MapCustomer, deps)
    suggest_mappings = UseCase(SuggestMappings, deps)
    export_mappings = UseCase(ExportMappings, deps)
    import_mappings = UseCase(ImportMappings, deps)
    accept_suggestions = UseCase(AcceptSuggestions, deps)
    clear_mapping = UseCase(ClearMapping, deps)
    refresh_mapping = UseCase(RefreshMapping, deps)
    confirm_mapping = UseCase(ConfirmMapping, deps)
    refresh_all_mappings = UseCase(RefreshAllMappings, deps, jobs=job_store)
    create_ticket = UseCase(
        CreateTicket, deps, stale_after_seconds=config.provided.ticket_stale_after, base_url=config.provided.base_url
    )
    get_ticket = UseCase(GetTicket, deps)
    preview_ticket = UseCase(PreviewTicket, deps, base_url=config.provided.base_url)
    resolve_ticket = UseCase(ResolveTicket, deps, stale_after_seconds=config.provided.ticket_stale_after)
    refresh_tickets = UseCase(
        RefreshTickets, deps, stale_after_seconds=config.provided.ticket_stale_after, jobs=job_store
    )
    get_settings = UseCase(GetSettings, deps)
    update_settings = UseCase(UpdateSettings, deps)
    test_connection = UseCase(CheckConnection, deps)
    validate_configuration = UseCase(ValidateConfiguration, deps)
    get_picklists = UseCase(GetPicklists, deps)
    get_usage = UseCase(GetUsage, deps)
    test_ticket = UseCase(MakeTestTicket, deps)
    session_store = providers.Singleton(make_session_store, storage)
    add_user = UseCase(AddUser, deps, hasher)
    list_users = UseCase(ListUsers, deps)
    list_user_rows = UseCase(
        ListUserRows, deps, session_store, providers.Callable(lambda c: session_policy(c).forget_after, config)
    )
    remove_user = UseCase(RemoveUser, deps)
    update_user = UseCase(UpdateUser, deps, session_store)
    rotate_token = UseCase(RotateToken, deps, hasher, session_store)
    reset_password = UseCase(ResetPassword, deps, hasher, session_store)
    change_own_password = UseCase(ChangeOwnPassword, deps, hasher, session_store)
    authenticate = UseCase(Authenticate, deps, hasher)
    query_audit = UseCase(QueryAudit, deps)
    export_audit = UseCase(ExportAudit, deps)
    verify_audit = UseCase(VerifyAudit, deps)
    rotate_audit_key = UseCase(RotateAuditKey, deps)
    record_rejected_request = UseCase(RecordRejectedRequest, deps)
    get_sync_status = UseCase(GetSyncStatus, deps, job_store)
    scheduler = providers.Singleton(make_scheduler, deps, job_store, config, refresh_tickets, refresh_all_mappings)
    sessions = UseCase(Sessions, deps, hasher, session_store, providers.Factory(session_policy, config))


def use_cases(container: Container) -> dict[str, UseCase]:
    """This container's use-case providers by name (overrides on the container take effect through them)."""
    return {name: provider for name, provider in container.providers.items() if isinstance(provider, UseCase)}


async def close(container: Container) -> None:
    """Release the storage's pool and the PSA connector's HTTP client (building either costs no I/O)."""
    for provider in (container.storage, container.psa):
        instance = provider()
        for name in ("dispose", "aclose"):
            method = getattr(instance, name, None)
            if method is not None:
                await method()
