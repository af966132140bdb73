"""Login credentials of Backupchecks users: argon2 password hashes and random API tokens stored as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Credentials:
    """Implements `application.ports.CredentialHasher`.

    Tokens are 256 random bits, so a fast unsalted SHA-256 is enough to store them (and lets a request find its user by
    the digest); passwords are chosen by people, so they get argon2id."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._argon2 = hasher or PasswordHasher()
        self._dummy: str | None = None
        self._dummy_lock = threading.Lock()

    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def new_password(self) -> str:
        return secrets.token_urlsafe(18)

    def hash_token(self, token: str) -> str:
        return token_hash(token)

    def hash_password(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify_password(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def dummy_hash(self) -> str:
        with self._dummy_lock:
            if self._dummy is None:
                self._dummy = self._argon2.hash(secrets.token_urlsafe(18))
            return self._dummy

    def __repr__(self) -> str:
        return "Argon2Credentials()"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
