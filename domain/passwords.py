"""The minimum password policy (docs/adr/0024-users-lifecycle.md): every new or changed password meets it, whoever
sets it and from whichever entrypoint. A generated password always does."""

from __future__ import annotations

MIN_LENGTH = 12
MAX_LENGTH = 256

COMMON = frozenset(
    {
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "password1234!",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "qwertyuiop12",
        "qwerty123456",
        "qwertyuiopasdf",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "abcdefghijkl",
        "abcd1234abcd",
        "iloveyou1234",
        "letmein12345",
        "welcome12345",
        "welcome123456",
        "changeme1234",
        "administrator",
        "administrator1",
        "admin1234567",
        "adminadmin123",
        "backupchecks",
        "backupchecks1",
        "autotask1234",
        "superman1234",
        "football1234",
        "monkey123456",
        "trustno1trustno1",
        "sunshine1234",
        "princess1234",
    }
)
"""Passwords of 12+ characters found near the top of every leaked-password list (compared case-insensitively)."""


def password_weakness(password: str, username: str) -> str | None:
    """Why `password` may not be used by `username` (a message for them), or None when it meets the policy."""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"A password has at most {MAX_LENGTH} characters."
    folded = password.casefold()
    if username and username.casefold() in folded and len(folded) < len(username) + MIN_LENGTH // 2:
        return "A password may not be the username (or the username with a few characters added)."
    if folded in COMMON or len(set(folded)) <= 2:
        return "This password is too common: choose another."
    return None
