"""What a SQL repository needs of its unit of work: statements run in the open transaction, and an INSERT in the
database's dialect. The unit of work (`storage.py`) provides it and builds the repositories; the repositories know it
only by this protocol, so they never import the storage module (an import-linter contract)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql import Executable, TableClause


class Statements(Protocol):
    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        ...

    def insert(self, table: TableClause) -> postgresql.Insert | sqlite.Insert:
        """A dialect INSERT (it knows ON CONFLICT)."""
        ...

    async def execute(self, statement: Executable) -> CursorResult[Any]:
        """Run `statement` in the unit of work's transaction; a database failure is the storage port's error."""
        ...
