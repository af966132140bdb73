"""Turns SQLAlchemy and driver errors into Python built-ins, so nothing of SQLAlchemy leaves the adapter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc


@contextmanager
def translated() -> Iterator[None]:
    """IntegrityError → ValueError; lost or refused connections → ConnectionError; a value the column type refused
    → that ValueError/TypeError itself; anything else from SQLAlchemy → RuntimeError. Parameters are never quoted
    (engines are made with hide_parameters=True)."""
    try:
        yield
    except exc.IntegrityError as error:
        raise ValueError(f"storage constraint violated: {_reason(error)}") from None
    except (exc.OperationalError, exc.InterfaceError, exc.DisconnectionError) as error:
        raise ConnectionError(f"storage unavailable: {_reason(error)}") from None
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise ConnectionError(f"storage connection lost: {_reason(error)}") from None
        raise RuntimeError(f"storage error: {_reason(error)}") from None
    except exc.StatementError as error:
        if isinstance(error.orig, ValueError | TypeError):
            raise error.orig from None
        raise RuntimeError(f"storage error: {_reason(error)}") from None
    except exc.SQLAlchemyError as error:
        raise RuntimeError(f"storage error: {_reason(error)}") from None
    except OSError as error:  # a driver's raw socket error on connect
        raise ConnectionError(f"storage unavailable: {error}") from None


def _reason(error: exc.SQLAlchemyError) -> str:
    orig = getattr(error, "orig", None)
    text = str(orig if orig is not None else error).strip().splitlines()
    return f"{type(orig or error).__name__}: {text[0] if text else ''}"
