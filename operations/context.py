"""Who acts on which archive under which policy, for one command or one HTTP request."""

from __future__ import annotations

from dataclasses import dataclass

from access.policy import AccessPolicy
from archive.service import Archive
from audit.actor import CLI_SOURCE, Actor
from audit.trail import record as audit
from errors import Forbidden, Unauthenticated


@dataclass(frozen=True)
class Context:
    archive: Archive
    policy: AccessPolicy
    actor: Actor

    def require(
        self, action: str, audit_action: str, *, record_type: str | None = None, record_name: str | None = None,
        version: int | None = None,
    ) -> None:
        """Check the policy; a refusal is recorded in the audit trail before it is raised."""
        try:
            with self.archive.catalog.read() as session:
                self.policy.require(session, self.actor, action, record_type=record_type, record_name=record_name)
        except Forbidden as exc:
            audit(self.archive, self.actor, audit_action, outcome="denied", record=record_name, version=version,
                  detail={"reason": str(exc)})
            raise

    def allows(self, action: str, *, record_type: str | None = None, record_name: str | None = None) -> bool:
        with self.archive.catalog.read() as session:
            return self.policy.allows(session, self.actor, action, record_type=record_type, record_name=record_name)


def local_actor(archive: Archive, name: str) -> Actor:
    """The actor of a CLI command run on the archive host without a server.

    While the home has no users at all, the local operator has full rights (bootstrap);
    afterwards the name must be a registered, enabled user and acts with that user's role.
    """
    from accounts.users import local_user

    any_user, user = local_user(archive, name)
    if not any_user:
        return Actor(name, None, CLI_SOURCE)
    if user is None or not user.enabled:
        raise Unauthenticated(
            f"{name!r} is not an enabled Strongroom user; act as one with --as NAME or STRONGROOM_USER"
        )
    return Actor(user.name, user.role, CLI_SOURCE)
