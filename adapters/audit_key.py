"""The audit keys, kept like the password key: from BACKUPCHECKS_AUDIT_KEY, else a key file in the data directory
(created 0600 on first use). They are never stored in the database (docs/adr/0009-keyed-audit-chain.md). The key file
holds one key per line, oldest first: `backupchecks audit rotate-key` adds a line, the last one signs new records and
the earlier ones stay to check the records of their epoch (docs/adr/0033-audit-key-rotation.md)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import secrets
from pathlib import Path

from adapters.files import private_file, read_or_create_key
from application.errors import AuditKeyUnknown, KeyRotationUnavailable
from application.ports import AuditKeys
from domain.audit import AuditKey, AuditKeyring, AuditRecord

KEY_FILE = "audit.key"


def audit_key_from_passphrase(passphrase: str) -> AuditKey:
    """Any string, stretched to a 32-byte key (salted apart from the password key's stretching)."""
    return AuditKey(hashlib.pbkdf2_hmac("sha256", passphrase.encode(), b"backupchecks-audit-chain", 200_000))


def audit_key_from_file(data_dir: Path) -> AuditKey:
    """The current key in `<data_dir>/audit.key` (made from 32 random bytes when absent)."""
    return FileAuditKeys(data_dir / KEY_FILE).ring().current


class HeldAuditKeys:
    """Keys this process holds and keeps nowhere else: a passphrase's key (`rotatable=False`: the environment holds
    it, so a rotation would not outlive the process) or the fresh key of a test store (rotated in memory)."""

    def __init__(self, key: AuditKey | None = None, *, rotatable: bool = True) -> None:
        self._ring = AuditKeyring((key or AuditKey.generate(),))
        self._rotatable = rotatable

    def ring(self) -> AuditKeyring:
        return self._ring

    def reload(self) -> AuditKeyring:
        return self._ring

    def rotate(self) -> AuditKeyring:
        if not self._rotatable:
            raise KeyRotationUnavailable()
        self._ring = self._ring.rotated(AuditKey.generate())
        return self._ring


class FileAuditKeys:
    """The keys in a key file, one per line (64 hex digits), oldest first. A rotation rewrites the file whole under
    an exclusive `flock` (written, synced, then swapped in with `os.replace`): a reader sees the old ring or the new
    one, never half of it, and two rotations at once keep both new keys."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = path.with_name(path.name + ".lock")
        self._ring = self._read(read_or_create_key(path, secrets.token_hex(32).encode()))

    def _read(self, text: bytes) -> AuditKeyring:
        try:
            return AuditKeyring(tuple(AuditKey(bytes.fromhex(line.decode())) for line in text.split()))
        except ValueError as error:
            raise ValueError(f"{self.path} does not hold audit keys (64 hex digits a line)") from error

    def ring(self) -> AuditKeyring:
        return self._ring

    def reload(self) -> AuditKeyring:
        self._ring = self._read(self.path.read_bytes())
        return self._ring

    def rotate(self) -> AuditKeyring:
        with open(private_file(self._lock), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            ring = self.reload().rotated(AuditKey.generate())
            temporary = private_file(self.path.with_name(self.path.name + ".new"))
            with open(temporary, "w") as handle:
                handle.write("".join(key.secret.hex() + "\n" for key in ring.keys))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)  # the new key survives a crash: records signed with it must stay checkable
            finally:
                os.close(directory)
        self._ring = ring
        return ring


def signing_key(keys: AuditKeys, head: AuditRecord | None) -> AuditKey:
    """The key that signs the record after `head`: the newest this process knows. When `head` is signed with a key it
    does not know (another process rotated), the keys are read again; still unknown, nothing is appended
    (AuditKeyUnknown), so no record is ever signed with a key older than its predecessor's."""
    ring = keys.ring()
    if head is not None and head.key_id is not None and ring.epoch(head.key_id) is None:
        ring = keys.reload()
        if ring.epoch(head.key_id) is None:
            raise AuditKeyUnknown(f"audit record {head.seq} is signed with key {head.key_id}, not held here")
    return ring.current


def held_keys(keys: AuditKey | AuditKeys | None) -> AuditKeys:
    """A store's keys: the key store given, or a single key (a fresh one when None) held by this process."""
    return keys if keys is not None and not isinstance(keys, AuditKey) else HeldAuditKeys(keys)
