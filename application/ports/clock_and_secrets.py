"""The clock, credential hashing and the secret box."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class CredentialHasher(Protocol):
    """Makes and hashes secrets (an adapter: argon2 for passwords, SHA-256 for random tokens)."""

    def new_token(self) -> str: ...
    def new_password(self) -> str: ...
    def hash_token(self, token: str) -> str: ...
    def hash_password(self, password: str) -> str: ...
    def verify_password(self, password_hash: str, password: str) -> bool: ...
    def dummy_hash(self) -> str:
        """A password hash of nobody's password, made once per process: verifying against it costs what verifying a
        real user's password does, so timing does not tell which usernames exist."""
        ...


class SecretUnreadable(Exception):
    """A sealed secret cannot be opened: the key changed (BACKUPCHECKS_SECRET_KEY, the key file) or it was altered."""


class SecretBox(Protocol):
    """Seals secrets for storage (authenticated encryption) and opens them again (or raises SecretUnreadable)."""

    def seal(self, plaintext: str) -> str: ...
    def open(self, sealed: str) -> str: ...
