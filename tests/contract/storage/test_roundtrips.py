"""Every entity comes back exactly as it was saved, on every backend."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest

from application.ports import RunQuery, UnitOfWorkFactory
from domain.audit import Outcome, verify_chain
from domain.mapping import CompanyMapping
from domain.roles import Role
from domain.runs import RunStatus
from domain.settings import ApiLogLevel, Environment
from domain.tickets import TicketLink
from tests.contract.storage import samples as s
from tests.storage_backends import SQL_BACKENDS, backend_params, storage_backend


async def test_customers_round_trip_and_report_new(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.customers.get("c-1") is None
        assert await uow.customers.save(s.customer()) is True
        assert await uow.customers.save(s.customer("c-empty", "")) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.customers.get("c-1") == s.customer()
        assert await uow.customers.get("c-empty") == s.customer("c-empty", "")
        assert await uow.customers.save(s.customer(name="Renamed")) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.customers.get("c-1") == s.customer(name="Renamed")


async def test_runs_round_trip_with_objects_and_messages_replaced(uow_factory: UnitOfWorkFactory) -> None:
    full, bare = s.run(), s.bare_run()
    async with uow_factory() as uow:
        assert await uow.runs.save(full) is True
        assert await uow.runs.save(bare) is True
        await uow.commit()
    async with uow_factory() as uow:
        got = await uow.runs.get(full.id)
        assert got == full
        assert got is not None and got.run_at.tzinfo is not None and got.run_at.utcoffset() == timedelta(0)
        assert await uow.runs.get(bare.id) == bare
        assert await uow.runs.get("nope") is None
        fewer = dataclasses.replace(full, status=RunStatus.WARNING, objects=full.objects[1:], messages=("only",))
        assert await uow.runs.save(fewer) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.runs.get(full.id) == fewer


async def test_mappings_round_trip_one_per_customer(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.mappings.save(s.full_mapping())
        await uow.mappings.save(CompanyMapping.missing("c-2"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.mappings.get("c-1") == s.full_mapping()
        assert await uow.mappings.get("c-2") == CompanyMapping.missing("c-2")
        await uow.mappings.save(s.full_mapping().confirmed())
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.mappings.list() == [s.full_mapping().confirmed(), CompanyMapping.missing("c-2")]


async def test_mapping_update_is_a_compare_and_set_on_version(uow_factory: UnitOfWorkFactory) -> None:
    mapping = s.full_mapping()
    async with uow_factory() as uow:
        await uow.mappings.save(mapping)
        await uow.commit()
    confirmed, cleared = mapping.confirmed(), mapping.cleared()
    async with uow_factory() as uow:
        assert await uow.mappings.update(confirmed, expected_version=mapping.version) is True
        assert await uow.mappings.update(cleared, expected_version=mapping.version) is False  # stale version
        assert await uow.mappings.update(CompanyMapping.missing("c-unknown"), expected_version=1) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.mappings.get(mapping.customer_id) == confirmed


async def test_ticket_links_round_trip_every_field(uow_factory: UnitOfWorkFactory) -> None:
    full, pending = s.full_link("r-1"), s.pending_link("r-2")
    async with uow_factory() as uow:
        assert await uow.tickets.reserve(full) is True
        assert await uow.tickets.reserve(pending) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.get("r-1") == full
        assert await uow.tickets.get("r-2") == pending
        assert await uow.tickets.get("r-3") is None
        assert await uow.tickets.get_many(["r-2", "r-3", "r-1", "r-2"]) == {"r-1": full, "r-2": pending}
        assert await uow.tickets.get_many([]) == {}


async def test_ticket_link_update_is_a_compare_and_set_on_version(uow_factory: UnitOfWorkFactory) -> None:
    pending = s.pending_link("r-1")
    async with uow_factory() as uow:
        await uow.tickets.reserve(pending)
        await uow.commit()
    linked = s.linked_link("r-1")
    status = s.full_link().status
    assert status is not None
    observed = linked.observed(status, 2)
    async with uow_factory() as uow:
        assert await uow.tickets.update(linked, expected_version=pending.version) is True
        assert await uow.tickets.update(observed, expected_version=pending.version) is False  # stale version
        assert await uow.tickets.update(observed, expected_version=linked.version) is True
        assert await uow.tickets.update(s.linked_link("r-unknown"), expected_version=1) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.get("r-1") == observed
        assert await uow.tickets.get("r-unknown") is None
        assert await uow.tickets.list_open() == [observed]


async def test_release_drops_only_a_pending_link_at_its_version(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        for run_id in ("r-1", "r-2"):
            await uow.tickets.reserve(s.pending_link(run_id))
        await uow.tickets.update(s.linked_link("r-2"), expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.release("r-1", expected_version=2) is False
        assert await uow.tickets.release("r-2", expected_version=2) is False  # linked: not a reservation any more
        assert await uow.tickets.release("r-3", expected_version=1) is False
        assert await uow.tickets.release("r-1", expected_version=1) is True
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.tickets.get_many(["r-1", "r-2"]) == {"r-2": s.linked_link("r-2")}
        assert await uow.tickets.reserve(s.pending_link("r-1", actor="again")) is True


async def test_settings_round_trip_keep_the_installation_id(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        initial = await uow.settings.get()
    assert len(initial.installation_id) >= 16 and not initial.enabled and initial.api_password_sealed is None
    assert initial.environment is None  # no default: the admin chooses it with the credentials
    every = dataclasses.replace(
        initial,
        enabled=True,
        environment=Environment.PRODUCTION,
        api_username="api@example.com",
        api_password_sealed="v1.sealed-ciphertext==",
        tracking_identifier="TRACK-ÿ",
        backupchecks_base_url="https://bc",
        default_queue_id=1,
        default_issue_type_id=2,
        default_sub_issue_type_id=3,
        default_source_id=4,
        priority_error_id=5,
        priority_warning_id=6,
        new_ticket_status_id=7,
        note_type_id=8,
        note_publish_id=9,
        allow_resolve=True,
        api_log_level=ApiLogLevel.REQUESTS,
        ticket_due_hours=72,
        ticket_category_id=10,
        work_type_id=29682803,
        ticket_udfs=(("Zeta", "last, kept in order"), ("Backup Reference", "BC-ÿ\nline two"), ("Empty", "")),
        tenant_name="Example MSP Ltd ÿ",
        time_entries_visible=False,
        rights_checked_at=datetime(2026, 12, 3, 13, 0, 0, 123456, tzinfo=UTC),
    )
    async with uow_factory() as uow:
        await uow.settings.save(every)
        with pytest.raises(ValueError):
            await uow.settings.save(dataclasses.replace(every, installation_id="another"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.settings.get() == every
        await uow.settings.save(initial)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.settings.get() == initial


async def test_installation_id_differs_per_database() -> None:
    ids = set()
    for name in ("memory", "memory", "sqlite", "sqlite"):
        async with storage_backend(name) as factory, factory() as uow:
            ids.add((await uow.settings.get()).installation_id)
    assert len(ids) == 4


async def test_users_round_trip_unique_usernames(uow_factory: UnitOfWorkFactory) -> None:
    alice = s.user()
    bob = dataclasses.replace(s.user("u-2", "bøb", Role.REPORTER), password_hash=None)
    async with uow_factory() as uow:
        assert await uow.users.add(alice) is True
        assert await uow.users.add(bob) is True
        assert await uow.users.add(s.user("u-3", "alice", Role.OPERATOR)) is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.add(s.user("u-4", "alice")) is False
        assert await uow.users.by_username("alice") == alice
        assert await uow.users.by_username("bøb") == bob
        assert await uow.users.by_username("carol") is None
        assert await uow.users.by_token_hash(bob.token_hash) == bob
        assert await uow.users.by_token_hash("sha256:none") is None
        assert await uow.users.list() == [alice, bob]
        assert await uow.users.remove("u-2") is True
        assert await uow.users.remove("u-2") is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.list() == [alice]


async def test_a_users_lifecycle_round_trips(uow_factory: UnitOfWorkFactory) -> None:
    alice = s.user()
    async with uow_factory() as uow:
        assert await uow.users.add(alice) is True
        await uow.commit()
    changed = dataclasses.replace(
        alice,
        role=Role.REPORTER,
        disabled=True,
        password_hash="$argon2id$v=19$new",
        token_hash="sha256:rotated",
        password_changed_at=s.at(5),
        username="renamed",  # the username and creation time never change
        created_at=s.at(9),
    )
    async with uow_factory() as uow:
        assert await uow.users.get("u-1") == alice and alice.disabled is False
        assert await uow.users.update(changed) is True
        assert await uow.users.update(s.user("u-none", "nobody")) is False
        await uow.commit()
    stored = dataclasses.replace(changed, username="alice", created_at=alice.created_at)
    async with uow_factory() as uow:
        assert await uow.users.get("u-1") == stored
        assert await uow.users.by_token_hash("sha256:rotated") == stored
        assert await uow.users.by_token_hash(alice.token_hash) is None
        assert await uow.users.get("u-none") is None


async def test_a_users_last_seen_time_is_written_at_most_once_a_minute(uow_factory: UnitOfWorkFactory) -> None:
    """`seen` compares in its own UPDATE: within the minute it writes nothing, and `update` never moves it back."""
    minute = timedelta(minutes=1)
    async with uow_factory() as uow:
        await uow.users.add(s.user())
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.seen("u-1", s.at(1), minute) is True  # never seen: written
        assert await uow.users.seen("u-1", s.at(1) + minute / 2, minute) is False  # within the minute: not
        assert await uow.users.seen("u-none", s.at(1), minute) is False
        await uow.commit()
    async with uow_factory() as uow:
        user = await uow.users.get("u-1")
        assert user is not None and user.last_seen_at == s.at(1)
        assert await uow.users.update(dataclasses.replace(user, role=Role.OPERATOR, last_seen_at=None)) is True
        assert await uow.users.seen("u-1", s.at(2), minute) is True  # a minute later: written again
        await uow.commit()
    async with uow_factory() as uow:
        user = await uow.users.get("u-1")
        assert user is not None and (user.role, user.last_seen_at) == (Role.OPERATOR, s.at(2))


async def test_audit_records_round_trip_and_chain(uow_factory: UnitOfWorkFactory) -> None:
    entries = [
        s.entry(0, customer_id="c-1", ticket_id=2**40, ratio=0.1, ok=True, nothing=None, text="naïve “quotes”"),
        s.entry(1, action="settings.update", target=("settings", "autotask"), outcome=Outcome.DENIED),
        s.entry(2, outcome=Outcome.FAILED, reason="Autotask: Field “Title” is required"),
    ]
    async with uow_factory() as uow:
        appended = [await uow.audit.append(e) for e in entries]
        await uow.commit()
    assert [r.seq for r in appended] == [1, 2, 3]
    async with uow_factory() as uow:
        stored = await uow.audit.all()
    assert stored == appended
    assert [r.entry for r in stored] == entries
    assert verify_chain(stored, uow.audit.keys.ring()).ok and verify_chain(stored, uow.audit.keys.ring()).records == 3


@pytest.mark.parametrize("name", backend_params(SQL_BACKENDS))
async def test_sql_datetimes_come_back_as_the_same_instant_in_utc(name: str) -> None:
    plus_two = timezone(timedelta(hours=2))
    run = dataclasses.replace(s.run(), run_at=s.T0.astimezone(plus_two))
    async with storage_backend(name) as factory:
        async with factory() as uow:
            await uow.runs.save(run)
            record = await uow.audit.append(dataclasses.replace(s.entry(), at=s.T0.astimezone(plus_two)))
            with pytest.raises(ValueError):
                await uow.runs.save(dataclasses.replace(run, id="naive", run_at=s.T0.replace(tzinfo=None)))
            await uow.commit()
        async with factory() as uow:
            got = await uow.runs.get(run.id)
            stored = await uow.audit.all()
    assert got is not None and got.run_at == s.T0 and got.run_at.tzinfo is UTC
    assert stored == [record] and stored[0].entry.at.tzinfo is UTC and verify_chain(stored, uow.audit.keys.ring()).ok


async def test_long_and_unicode_ids_round_trip_and_page(uow_factory: UnitOfWorkFactory) -> None:
    ids = ["é" * 300, "東京-" * 200, "🗄️‍🔥" * 100, "a\u0301", "\u00e1", "Z" * 2000]  # up to 2,000 bytes each
    async with uow_factory() as uow:
        for n, rid in enumerate(ids):
            await uow.runs.save(s.run(rid, minutes=n % 2))
            await uow.tickets.reserve(TicketLink.reserve(rid, f"bc-{n}", "op", s.at(1)))  # external ids are short
        await uow.commit()
    async with uow_factory() as uow:
        for rid in ids:
            assert (await uow.runs.get(rid)) == s.run(rid, minutes=ids.index(rid) % 2)
        assert set(await uow.tickets.get_many(ids)) == set(ids)
        newest = sorted(ids, key=lambda rid: (ids.index(rid) % 2, rid), reverse=True)
        assert [r.id for r in await uow.runs.query(RunQuery(has_ticket=True))] == newest


INCOMPRESSIBLE = "".join(chr(0x4E00 + i * 7919 % 20000) for i in range(3000))  # 9,000 bytes PostgreSQL cannot squeeze


@pytest.mark.parametrize("bad_id", [INCOMPRESSIBLE, "nul\x00inside"], ids=["9000-bytes", "nul"])
async def test_an_id_the_database_cannot_index_or_hold_is_a_value_error(
    uow_factory: UnitOfWorkFactory, bad_id: str
) -> None:
    """PostgreSQL refuses index entries over ~2,700 bytes and NUL characters in text: that is a refused value
    (ValueError), never a lost connection or an unnamed failure. Memory and SQLite hold both."""
    try:
        async with uow_factory() as uow:
            await uow.customers.save(s.customer(bad_id))
            await uow.commit()
    except ValueError as error:
        assert "storage" in str(error)
        assert bad_id not in str(error)
    else:
        async with uow_factory() as uow:
            assert await uow.customers.get(bad_id) == s.customer(bad_id)


async def test_batched_mapping_updates_are_a_compare_and_set_per_row(uow_factory: UnitOfWorkFactory) -> None:
    fresh = [dataclasses.replace(s.full_mapping(), customer_id=f"c-{n}") for n in range(3)]
    async with uow_factory() as uow:
        for mapping in fresh:
            await uow.mappings.save(mapping)
        await uow.commit()
    async with uow_factory() as uow:  # someone else changes c-1 first
        assert await uow.mappings.update(fresh[1].confirmed(), expected_version=fresh[1].version)
        await uow.commit()
    renamed = [dataclasses.replace(m, company_name=f"New {m.customer_id}", version=m.version + 1) for m in fresh]
    unknown = CompanyMapping.missing("c-unknown")
    async with uow_factory() as uow:
        changes = [(m, fresh[0].version) for m in renamed] + [(unknown, 1)]
        assert await uow.mappings.update_many(changes) == {"c-0", "c-2"}
        assert await uow.mappings.update_many([]) == set()
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.mappings.get_many(["c-0", "c-1", "c-2", "c-unknown"]) == {
            "c-0": renamed[0],
            "c-1": fresh[1].confirmed(),  # the concurrent change is not overwritten
            "c-2": renamed[2],
        }


async def test_batched_ticket_link_updates_are_a_compare_and_set_per_row(uow_factory: UnitOfWorkFactory) -> None:
    ids = [f"r-{n:02}" for n in range(40)]
    async with uow_factory() as uow:
        for run_id in ids:
            await uow.tickets.reserve(s.pending_link(run_id))
        await uow.commit()
    linked = {run_id: s.linked_link(run_id) for run_id in ids}
    async with uow_factory() as uow:  # someone else links every fifth first
        for run_id in ids[::5]:
            assert await uow.tickets.update(linked[run_id].gone(), expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.tickets.update_many([(linked[run_id], 1) for run_id in reversed(ids)])
        assert stored == set(ids) - set(ids[::5])
        assert await uow.tickets.update_many([(s.linked_link("r-unknown"), 1)]) == set()
        await uow.commit()
    async with uow_factory() as uow:
        after = await uow.tickets.get_many(ids)
    assert after == {run_id: linked[run_id].gone() if run_id in ids[::5] else linked[run_id] for run_id in ids}
