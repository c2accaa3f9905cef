"""Errors Strongroom reports to its users (the ground floor: every package may import it, it imports none).

Every error a user can cause or meet carries a one-line message and an exit
status; the CLI prints the message and exits with the status, never a traceback.
Messages never contain key material or S3 credentials.
"""

from __future__ import annotations


class StrongroomError(Exception):
    """Base of every error reported to the user as one line."""

    exit_code = 1


class UsageError(StrongroomError):
    """The command was asked for something malformed (bad name, unknown type, missing file)."""

    exit_code = 2


class NotFound(StrongroomError):
    """An unknown record or version."""


class Conflict(StrongroomError):
    """The record is in a state that does not allow the request (void, being updated)."""


class IntegrityError(StrongroomError):
    """Stored data failed authentication or its checksum: tampered, corrupted or truncated."""


class KeyMissing(StrongroomError):
    """The keyring has no key that can open an object."""


class StorageUnavailable(StrongroomError):
    """The S3 endpoint cannot be reached or refused the request."""


class ObjectUnreadable(StorageUnavailable):
    """The storage answers, but not with this one object: it reported an error for it alone.

    A damaged volume (SeaweedFS answers 500 when a needle fails its CRC), an object the
    server refuses or cuts short. Other objects can still be read, so a check that meets
    this reports the one object and goes on; a ``StorageUnavailable`` stops it.
    """


class ConfigError(StrongroomError):
    """The home directory or its configuration is missing or invalid."""


class Unauthenticated(StrongroomError):
    """No valid login: wrong password, unknown, expired or revoked token, disabled or locked account."""


class Forbidden(StrongroomError):
    """The actor is logged in but the access policy does not allow the request."""

    exit_code = 3
