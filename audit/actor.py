"""Who is acting, as every permission check and audit entry sees it.

It lives with the audit trail, which records it, so that ``access`` (the floor above, which
decides what an actor may do) and ``accounts`` (which authenticates one) can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

CLI_SOURCE = "cli"


@dataclass(frozen=True)
class Actor:
    """An authenticated user (``role`` set) or the operator of a home that has no users yet.

    While a home has no users at all (``role is None``), the local operator has full
    rights so that an archive can be bootstrapped; once one user exists, every actor
    is a registered, enabled user with exactly that user's permissions.
    """

    name: str
    role: str | None
    source: str = CLI_SOURCE

    @property
    def is_bootstrap(self) -> bool:
        return self.role is None
