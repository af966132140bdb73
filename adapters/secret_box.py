"""The secret box: authenticated encryption (Fernet: AES-128-CBC + HMAC-SHA256) for secrets at rest."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from adapters.files import read_or_create_key
from application.ports import SecretUnreadable

KEY_FILE = "secret.key"


class SecretBoxError(SecretUnreadable):
    """A sealed value could not be opened (wrong key, or tampered with)."""


class FernetSecretBox:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_passphrase(cls, passphrase: str) -> FernetSecretBox:
        """A box keyed by a passphrase (BACKUPCHECKS_SECRET_KEY): any string, stretched to a Fernet key."""
        digest = hashlib.pbkdf2_hmac("sha256", passphrase.encode(), b"backupchecks-autotask", 200_000)
        return cls(base64.urlsafe_b64encode(digest))

    @classmethod
    def from_key_file(cls, data_dir: Path) -> FernetSecretBox:
        """A box keyed by `<data_dir>/secret.key`, created with mode 0600 (in a 0700 folder) when absent."""
        return cls(read_or_create_key(data_dir / KEY_FILE, Fernet.generate_key()))

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as error:
            raise SecretBoxError("The stored secret cannot be opened with this key.") from error

    def __repr__(self) -> str:
        return "FernetSecretBox(key=***)"
