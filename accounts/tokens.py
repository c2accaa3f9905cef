"""Bearer tokens: random strings handed out once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """``(token, sha256 hex of token)``: give the first to the client, store the second."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)
