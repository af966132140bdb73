"""In-memory repositories and unit of work: real implementations of the storage ports, for unit tests and for
developers of Backupchecks. Semantics follow a database at READ COMMITTED with row locks: a write locks its row
until the unit of work ends, a second writer of that row waits, and nothing is visible to others before commit."""

from adapters.memory.store import MemoryStore, MemoryUnitOfWork

__all__ = ["MemoryStore", "MemoryUnitOfWork"]
