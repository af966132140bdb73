"""The scheduled jobs' state on the wire (status sync, mapping check)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct

from application.use_cases.sync_status import JobView
from entrypoints.http.schemas.common import fields_of, out


class JobOut(Struct, omit_defaults=True):
    every: int
    """Minutes between runs; 0: switched off in the settings."""
    last_run_at: datetime | None
    next_run_at: datetime | None
    last_result: dict[str, Any] | None
    running: bool
    last_error: str | None = None
    paused_reason: str | None = None


class SyncOut(Struct):
    status_sync: JobOut
    mapping_check: JobOut


def sync_out(views: dict[str, JobView]) -> SyncOut:
    return out({job: {**fields_of(view), "every": view.every_minutes} for job, view in views.items()}, SyncOut)
