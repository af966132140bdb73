"""Private files and folders: what holds secrets or data (the SQLite database, the key files) is readable by its
owner only — files 0600, their folder 0700."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """Make `path` (and missing parents) and narrow it to its owner."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty when absent, readable and writable by its owner only, and narrow it when it exists."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    path.chmod(PRIVATE_FILE)
    return path


def read_or_create_key(path: Path, make: bytes) -> bytes:
    """The key kept in `path` (created with `make`, mode 0600, in a 0700 folder, when absent)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        path.chmod(PRIVATE_FILE)
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(make)
    return make
