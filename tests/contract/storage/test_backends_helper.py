"""The test helper itself: what happens when PostgreSQL is asked for but unreachable or not configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.sql import default_database_url
from adapters.sql.migrate import upgrade
from tests.storage_backends import POSTGRES_REQUIRED_ENV, POSTGRES_URL_ENV, backend_params, empty_database

UNREACHABLE = "postgresql+asyncpg://postgres@127.0.0.1:9/postgres"


async def test_unreachable_postgres_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, UNREACHABLE)
    monkeypatch.setenv(POSTGRES_REQUIRED_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="unusable"):
        async with empty_database("postgres"):
            pass


async def test_unreachable_postgres_skips_when_not_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, UNREACHABLE)
    monkeypatch.delenv(POSTGRES_REQUIRED_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="unusable"):
        async with empty_database("postgres"):
            pass


def test_postgres_params_skip_with_a_how_to_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(POSTGRES_URL_ENV, raising=False)
    memory, sqlite, postgres = backend_params()
    assert memory.marks == sqlite.marks == []
    assert POSTGRES_URL_ENV in postgres.marks[0].kwargs["reason"]
    monkeypatch.setenv(POSTGRES_URL_ENV, UNREACHABLE)
    assert backend_params()[2].marks == []


def test_default_database_url_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = default_database_url(tmp_path)
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/backupchecks.sqlite3"
    upgrade(url)  # also callable from plain synchronous code, as the CLI does
    assert (tmp_path / "backupchecks.sqlite3").is_file()
