"""Turns SQLAlchemy and driver errors into Python built-ins, so nothing of SQLAlchemy leaves the adapter, and keeps
statement parameters (sealed secrets, token hashes) out of error texts and logs. A unit of work hands the ones that
leave it to the application as the storage port's errors (`port_error`): StorageUnavailable, StorageRefused."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import exc

from application.errors import StorageError, StorageRefused, StorageUnavailable

UNAVAILABLE = "storage unavailable"
CONSTRAINT_VIOLATED = "storage constraint violated"
VALUE_REFUSED = "storage refused a value"
REFUSED_VALUE_CLASSES = ("22", "54")  # SQLSTATE classes: data exception, program limit exceeded (index row size)
CONNECTION_CLASSES = ("08", "53", "57P", "3D000")
"""SQLSTATE classes: connection exception, insufficient resources, server shutting down, and the database gone
(invalid catalog name: dropped or renamed under a running service)."""
MIN_REDACTED_LENGTH = 4


@contextmanager
def translated() -> Iterator[None]:
    """What the database refused → ValueError (constraint violations, values a column cannot hold, index rows too
    large); lost or refused connections → ConnectionError; a value our column types refused before sending → that
    ValueError/TypeError itself; anything else → RuntimeError. asyncpg, psycopg and sqlite3 raise different classes
    for the same failure (psycopg calls an oversized index row an OperationalError), so PostgreSQL errors are sorted by
    their SQLSTATE. Texts keep the driver's first line with every statement parameter's value masked; the original
    error is suppressed, so a logged traceback shows neither it nor its parameters."""
    try:
        yield
    except exc.StatementError as error:
        if isinstance(error.orig, ValueError | TypeError) and not isinstance(error, exc.DBAPIError):
            raise error.orig from None  # our own column types' refusals (a naive datetime, an unknown enum value)
        raise _builtin(error) from None
    except exc.SQLAlchemyError as error:
        raise RuntimeError(f"storage error: {_first_line(error)}") from None
    except OSError as error:  # a driver's raw socket error on connect
        raise ConnectionError(f"{UNAVAILABLE}: {error}") from None


@contextmanager
def port_errors() -> Iterator[None]:
    """`translated`, and what the application knows of it raised as the storage port's errors (for connections of
    the adapter's own, outside a unit of work)."""
    try:
        with translated():
            yield
    except Exception as error:
        if (port := port_error(error)) is not None:
            raise port from None
        raise


def _builtin(error: exc.StatementError) -> Exception:
    orig = error.orig
    state = str(getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None) or "")
    reason = _reason(error)
    if isinstance(error, exc.IntegrityError) or state.startswith("23"):
        return ValueError(f"{CONSTRAINT_VIOLATED}: {reason}")
    if state.startswith(REFUSED_VALUE_CLASSES) or isinstance(error, exc.DataError) or _client_side_value_error(orig):
        return ValueError(f"{VALUE_REFUSED}: {reason}")
    if (
        state.startswith(CONNECTION_CLASSES)
        or getattr(error, "connection_invalidated", False)
        or error.statement is None  # refused while connecting: "not currently accepting connections" (55000), …
    ):
        return ConnectionError(f"{UNAVAILABLE}: {reason}")
    if not state and isinstance(error, exc.OperationalError | exc.InterfaceError):  # SQLite, or no server answer
        return ConnectionError(f"{UNAVAILABLE}: {reason}")
    return RuntimeError(f"storage error: {reason}")


def port_error(error: BaseException | None) -> StorageError | None:
    """The storage port's error for a translated failure leaving a unit of work: the database did not answer
    (StorageUnavailable, 503) or refused a value (StorageRefused, 4xx). None for anything else (a bug stays a bug)."""
    text = str(error)
    if isinstance(error, ConnectionError) and not isinstance(error, StorageError) and text.startswith(UNAVAILABLE):
        return StorageUnavailable(text)
    if (
        isinstance(error, ValueError)
        and not isinstance(error, StorageError)
        and text.startswith((CONSTRAINT_VIOLATED, VALUE_REFUSED))
    ):
        return StorageRefused(text)
    return None


def _client_side_value_error(orig: BaseException | None) -> bool:
    """asyncpg refuses a parameter it cannot encode with a ValueError that SQLAlchemy wraps as a plain Error."""
    return orig is not None and isinstance(orig.__cause__, ValueError | TypeError)


def _reason(error: exc.StatementError) -> str:
    orig = error.orig
    text = _first_line(orig if orig is not None else error)
    for value in _values(error.params):
        text = text.replace(value, "***")
    return f"{type(orig or error).__name__}: {text}"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else ""


def _values(params: Any) -> Iterator[str]:
    """Every text-like parameter value long enough to mean something, longest first (so no partial masks)."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, str | bytes) and len(value) >= MIN_REDACTED_LENGTH:
            text = value if isinstance(value, str) else value.decode(errors="replace")
            found.update({text, repr(text)[1:-1]})

    walk(params)
    yield from sorted(found, key=len, reverse=True)


class _NoOperationArguments(logging.Filter):
    """aiosqlite logs every operation with its arguments at DEBUG, statement parameters included: drop those."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def quiet_driver_logs() -> None:
    logger = logging.getLogger("aiosqlite")
    if not any(isinstance(f, _NoOperationArguments) for f in logger.filters):
        logger.addFilter(_NoOperationArguments())
