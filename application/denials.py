"""Folding of repeated refusals (ADR 0008): a client that is refused again and again must not be able to flood the
audit log, and no refusal may go uncounted. For one actor and action, the first refusal is written; the ones that
follow within `window` are only counted, and the next one written after the window (or the flush at shutdown)
carries `folded`: how many were counted, not written, since the record before it. So the number of refusals is always
the number of records plus the sum of their `folded`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from domain.audit import AuditEntry

Key = tuple[str, str]


@dataclass(slots=True)
class _Window:
    written_at: datetime
    folded: int = 0
    last: AuditEntry | None = None
    """The last folded refusal: what the flush writes (with the count) when no later one comes."""


class DenialFolder:
    """In process and bounded: at most `keys` actor/action pairs are remembered; when one is forgotten to make room,
    its count is handed back by `admit` of the newcomer so the caller writes it (see `evicted`)."""

    def __init__(self, window: timedelta = timedelta(seconds=60), keys: int = 10_000) -> None:
        self.window, self.keys = window, keys
        self._windows: OrderedDict[Key, _Window] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, entry: AuditEntry) -> tuple[int, list[AuditEntry]] | None:
        """None when `entry` is folded (counted, not written). Otherwise the number folded before it (to record with
        it) and the folded records of forgotten pairs, each already carrying its count, to write with it."""
        key = (entry.actor, entry.action)
        with self._lock:
            window = self._windows.pop(key, None)
            if window is not None and entry.at - window.written_at < self.window:
                window.folded += 1
                window.last = entry
                self._windows[key] = window
                return None
            self._windows[key] = _Window(entry.at)
            evicted: list[AuditEntry] = []
            while len(self._windows) > self.keys:
                _, old = self._windows.popitem(last=False)
                evicted.extend(_with_count(old))
            return (window.folded if window else 0), evicted

    def flush(self) -> list[AuditEntry]:
        """The folded refusals not written yet, one record per actor/action with its count (at shutdown)."""
        with self._lock:
            pending = [entry for window in self._windows.values() for entry in _with_count(window)]
            self._windows.clear()
            return pending


def with_folded(entry: AuditEntry, folded: int) -> AuditEntry:
    """`entry` carrying `folded` (when any): the refusals it stands for besides itself."""
    return replace(entry, details={**entry.details, "folded": folded}) if folded else entry


def _with_count(window: _Window) -> list[AuditEntry]:
    """The last folded refusal, written for all of the window's unwritten ones: itself and `folded` others."""
    return [] if window.last is None else [with_folded(window.last, window.folded - 1)]
