"""Password hashing (argon2id), verification and the strength rule."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from errors import UsageError

MIN_LENGTH = 10
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """True if ``password`` matches; False for a wrong password or an unreadable hash, never an exception."""
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_strength(name: str, password: str) -> None:
    """UsageError unless the password is long enough and does not contain the user name."""
    if len(password) < MIN_LENGTH:
        raise UsageError(f"password must be at least {MIN_LENGTH} characters long")
    if name and name.lower() in password.lower():
        raise UsageError("password must not contain the user name")


def generate_password() -> str:
    """A random one-time password of 20 URL-safe characters (120 bits)."""
    return secrets.token_urlsafe(15)
