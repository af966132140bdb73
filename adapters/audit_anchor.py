"""The audit chain's anchor, kept outside the database beside the audit key: `<data_dir>/audit.anchor`, one JSON object
signed with the current key, advanced after every commit that appended records (docs/adr/0028-audit-anchor.md; after a
rotation the next advance re-signs it with the new key and keeps its `keyed_since`: docs/adr/0033)."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from pathlib import Path

from adapters.files import private_dir, private_file
from application.ports import AuditKeys
from domain.audit import Anchor, AuditRecord

ANCHOR_FILE = "audit.anchor"
log = logging.getLogger("backupchecks.audit")


class AnchorUnreadable(ValueError):
    """The anchor file exists but does not hold an anchor."""


def read_anchor(path: Path) -> Anchor | None:
    """The anchor in `path`, None when there is no file (AnchorUnreadable when it holds something else)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        return Anchor(
            int(data["seq"]), str(data["hash"]), int(data["keyed_since"]), str(data["key_id"]), str(data["mac"])
        )
    except (ValueError, KeyError, TypeError) as error:
        raise AnchorUnreadable(f"{path} does not hold an audit anchor") from error


class FileAnchor:
    """`advance` moves the anchor forward to a committed record (never back: processes commit in any order), under an
    exclusive `flock` so processes on this host do not interleave; the new file replaces the old atomically."""

    def __init__(self, path: Path, keys: AuditKeys) -> None:
        self.path = path
        self._keys = keys
        self._lock = path.with_name(path.name + ".lock")

    def read(self) -> Anchor | None:
        return read_anchor(self.path)

    def advance(self, record: AuditRecord) -> None:
        """Best effort: the records are committed already, so a failure here is logged, not raised (the anchor then
        lags, which weakens the check but never fails it)."""
        try:
            self._advance(record)
        except (OSError, AnchorUnreadable) as error:
            log.warning("the audit anchor could not be advanced to seq %s: %s", record.seq, error)

    def _advance(self, record: AuditRecord) -> None:
        private_dir(self.path.parent)
        with open(private_file(self._lock), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current = read_anchor(self.path)
            except AnchorUnreadable:
                current = None
            ring = self._keys.ring()
            if current is not None and ring.epoch(current.key_id) is None:
                ring = self._keys.reload()  # signed with a key another process rotated to
            if current is not None and current.genuine(ring) and current.seq >= record.seq:
                return
            anchor = Anchor.at(ring, record, current)
            body = {k: getattr(anchor, k) for k in ("seq", "hash", "keyed_since", "key_id", "mac")}
            temporary = private_file(self.path.with_name(self.path.name + ".new"))
            temporary.write_text(json.dumps(body, sort_keys=True) + "\n")
            os.replace(temporary, self.path)
