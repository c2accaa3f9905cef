"""What a check reports about one stored object it could not use: damaged, unreadable or missing.

``verify``, key rotation and the number-marker check share these verdicts, so one object
read by any of them is called the same: *damaged* when its bytes are wrong or gone
(``IntegrityError``), *unreadable* when the storage answers but cannot deliver it
(``ObjectUnreadable``) or no key in the keyring opens it (``KeyMissing``), *missing* when
a number marker that should be in the bucket is not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from errors import IntegrityError, KeyMissing, ObjectUnreadable

DAMAGED = "damaged"
UNREADABLE = "unreadable"
MISSING = "missing"

PER_OBJECT = (IntegrityError, KeyMissing, ObjectUnreadable)
"""The failures that are one object's own: a check reports them and goes on with the others."""


@dataclass(frozen=True)
class Problem:
    """One stored object a check could not use; ``version`` is None for a record's number marker."""

    name: str
    version: int | None
    kind: str
    error: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def problem_of(name: str, version: int | None, exc: IntegrityError | KeyMissing | ObjectUnreadable) -> Problem:
    """The verdict on an object whose read failed with one of :data:`PER_OBJECT`."""
    return Problem(name, version, DAMAGED if isinstance(exc, IntegrityError) else UNREADABLE, str(exc))
