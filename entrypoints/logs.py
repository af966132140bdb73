"""How the process logs: one JSON object a line on stderr, for every logger (ours, Litestar's, uvicorn's, httpx's),
configured once by whoever starts the process (the command line, or a uvicorn worker). A line carries the time, the
level, the logger and either the message or an `Event`'s fields; nothing here adds a value the caller did not log, so
what keeps secrets out of the log (never logging a token, a password or a query string) stays with the caller."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any


class Event:
    """A structured log message: `LOGGER.info(Event("request", status=200))`. Its text (`record.getMessage()`) is the
    JSON object of its fields; the JSON formatter puts the fields on the line itself."""

    __slots__ = ("fields",)

    def __init__(self, event: str, **fields: Any) -> None:
        self.fields: dict[str, Any] = {"event": event, **fields}

    def __str__(self) -> str:
        return json.dumps(self.fields, default=str)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: `at` (UTC), `level`, `logger`, then an `Event`'s fields or `message`, and the traceback
    as `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if isinstance(record.msg, Event) and not record.args:
            line.update(record.msg.fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for every logger, unless the process already configured logging (a test, a host)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Autotask call is the connector's job
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # its plugin list at every start
