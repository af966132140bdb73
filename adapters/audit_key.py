"""The audit key, kept like the password key: from BACKUPCHECKS_AUDIT_KEY, else a key file in the data directory
(created 0600 on first use). It is never stored in the database (docs/adr/0009-keyed-audit-chain.md)."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

from adapters.files import read_or_create_key
from domain.audit import AuditKey

KEY_FILE = "audit.key"


def audit_key_from_passphrase(passphrase: str) -> AuditKey:
    """Any string, stretched to a 32-byte key (salted apart from the password key's stretching)."""
    return AuditKey(hashlib.pbkdf2_hmac("sha256", passphrase.encode(), b"backupchecks-audit-chain", 200_000))


def audit_key_from_file(data_dir: Path) -> AuditKey:
    """The key in `<data_dir>/audit.key` (64 hex digits), made from 32 random bytes when absent."""
    text = read_or_create_key(data_dir / KEY_FILE, secrets.token_hex(32).encode())
    try:
        return AuditKey(bytes.fromhex(text.decode()))
    except ValueError as error:
        raise ValueError(f"{data_dir / KEY_FILE} does not hold an audit key (64 hex digits)") from error
