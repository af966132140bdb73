"""Users on the wire: a user in and out, role and password changes, tokens, a page of users."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta, Struct

from domain.roles import Role
from entrypoints.http.schemas.common import SINGLE_LINE

USERNAME = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
Password = Annotated[str, Meta(min_length=1, max_length=256, pattern=SINGLE_LINE)]


class UserIn(Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=USERNAME)]
    role: Role
    password: Password | None = None
    """Checked by the password policy (422 weak_password), not here."""

    def __repr__(self) -> str:
        return f"UserIn(username={self.username!r}, role={self.role.value!r})"


class UserPatchIn(Struct, forbid_unknown_fields=True):
    role: Role | None = None
    disabled: bool | None = None


class PasswordResetIn(Struct, forbid_unknown_fields=True):
    password: Password | None = None
    """Absent: a password is generated (and answered once)."""

    def __repr__(self) -> str:
        return "PasswordResetIn(password='***')"


class OwnPasswordIn(Struct, forbid_unknown_fields=True):
    current_password: Annotated[str, Meta(max_length=256)]
    new_password: Password

    def __repr__(self) -> str:
        return "OwnPasswordIn(current_password='***', new_password='***')"


class UserOut(Struct):
    id: str
    username: str
    role: Role
    disabled: bool
    created_at: datetime
    password_changed_at: datetime | None
    last_seen_at: datetime | None
    """When the user last authenticated (a sign-in, a page of a session, an API token), to the minute; null: never."""


class TokenOut(Struct):
    token: str


class PasswordOut(Struct):
    password: str | None
    """The generated password (shown once); null when the admin chose it."""


class NewUserOut(Struct):
    id: str
    username: str
    role: Role
    token: str


class UserPage(Struct):
    items: list[UserOut]
    next_cursor: str | None
