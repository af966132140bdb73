"""SQL storage (SQLAlchemy 2 async Core): SQLite embedded by default, PostgreSQL for several app instances.

    storage = SqlStorage(url)          # a UnitOfWorkFactory; nothing connects until a unit of work opens
    async with storage() as uow: ...   # one transaction
    await storage.dispose()

The schema comes from `adapters.sql.migrate.upgrade(url)`.
"""

from adapters.sql.storage import SqlStorage, SqlUnitOfWork, default_database_url, make_engine

__all__ = ["SqlStorage", "SqlUnitOfWork", "default_database_url", "make_engine"]
