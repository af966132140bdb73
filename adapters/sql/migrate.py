"""Schema migrations, callable from code (they back `backupchecks db upgrade|downgrade`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

from adapters.sql.errors import translated

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url  # not in the ini options: no %-interpolation, never written anywhere
    return config


def _run(action: Callable[[Config, str], None], url: str, revision: str) -> None:
    def go() -> None:
        with translated():
            action(_config(url), revision)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        go()
        return
    # Called from async code: the migration runs its own event loop, so it needs a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(go).result()


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (default: the newest)."""
    _run(command.upgrade, url, revision)


def downgrade(url: str, revision: str) -> None:
    """Take the database at `url` down to `revision` (`base` drops everything, the audit log included)."""
    _run(command.downgrade, url, revision)
