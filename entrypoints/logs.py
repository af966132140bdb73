"""How the process logs: configured once by whoever starts it (the command line, or a uvicorn worker)."""

from __future__ import annotations

import logging
import sys


def configure_logging(level: int = logging.INFO) -> None:
    """Plain lines on stderr: the request log is already JSON, one object per line."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Autotask call is the connector's job
