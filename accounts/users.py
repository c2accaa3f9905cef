"""Users and their roles, logging in with a password, and the bearer tokens a login hands out.

Argon2 checks are slow on purpose, so a login checks the password in a read
transaction first and only then takes the catalog write lock to record the outcome
(re-reading the user, so a concurrent lock or password change is honoured).
Refused logins are committed, failure count and audit event included, before the
error is raised.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accounts import lockout
from accounts.passwords import (
    check_strength,
    generate_password,
    hash_password,
    verify_password,
)
from accounts.tokens import hash_token, new_token
from archive.service import as_utc, utcnow
from audit import trail
from catalog.schema import Token, User
from errors import Conflict, NotFound, Unauthenticated, UsageError

if TYPE_CHECKING:
    from archive.service import Archive
    from audit.actor import Actor
    from config.settings import ServiceSettings

ROLES = ("director", "manager", "staff", "auditor", "admin")
ADMIN_ROLE = "admin"
BOOTSTRAP_ADMIN = "admin"
SYSTEM_ACTOR = "system"
NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,31}")
ACTOR_MAX = 64

BAD_LOGIN = "invalid user name or password"
BAD_OLD_PASSWORD = "current password is wrong"
NOT_LOGGED_IN = "not logged in, or the session expired; run 'strongroom login'"


@dataclass(frozen=True)
class UserView:
    name: str
    role: str
    enabled: bool
    must_change_password: bool
    created_at: str
    locked_until: str | None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Login:
    """A successful login; ``token`` is the only copy of the bearer token and is kept out of ``repr``."""

    token: str = field(repr=False)
    expires_at: str
    user: UserView


def validate_user_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise UsageError(
            f"invalid user name {name[:40]!r}: 2-32 characters, lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter"
        )
    return name


def _validate_role(role: str) -> str:
    if role not in ROLES:
        raise UsageError(f"unknown role {role[:40]!r}; roles are {', '.join(ROLES)}")
    return role


def _moment(now: datetime | None) -> datetime:
    """``now`` (default: the current time) in UTC, as the catalog stores it."""
    return as_utc(now).astimezone(UTC) if now is not None else utcnow()


def _lock_end(user: User, now: datetime) -> datetime | None:
    """When the user's lockout ends, if it has not ended by ``now``."""
    end = as_utc(user.locked_until) if user.locked_until is not None else None
    return end if end is not None and end > now else None


def _is_locked(user: User, now: datetime) -> bool:
    return _lock_end(user, now) is not None


def _view(user: User, now: datetime) -> UserView:
    lock_end = _lock_end(user, now)
    return UserView(
        name=user.name,
        role=user.role,
        enabled=user.enabled,
        must_change_password=user.must_change_password,
        created_at=as_utc(user.created_at).isoformat(),
        locked_until=lock_end.isoformat() if lock_end else None,
    )


def _lookup(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def _find(session: Session, name: str) -> User:
    user = _lookup(session, validate_user_name(name))
    if user is None:
        raise NotFound(f"no user named {name}")
    return user


def any_users(archive: Archive) -> bool:
    with archive.catalog.read() as session:
        return session.scalar(select(User.id).limit(1)) is not None


def list_users(archive: Archive) -> list[UserView]:
    now = utcnow()
    with archive.catalog.read() as session:
        return [_view(user, now) for user in session.scalars(select(User).order_by(User.name))]


def _new_password(name: str, password: str | None) -> tuple[str, str | None]:
    """``(hash, generated password or None)``: a given password must be strong, else one is generated."""
    if password is None:
        generated = generate_password()
        return hash_password(generated), generated
    check_strength(name, password)
    return hash_password(password), None


def _insert(session: Session, name: str, role: str, password_hash: str, *, must_change: bool, now: datetime) -> User:
    user = User(
        name=name, role=role, password_hash=password_hash, enabled=True, must_change_password=must_change,
        failed_logins=0, locked_until=None, created_at=now, updated_at=now,
    )
    session.add(user)
    session.flush()
    return user


def _revoke_tokens(session: Session, user: User, now: datetime, *, keep: str | None = None) -> int:
    """End the user's sessions, except the one whose token is ``keep``; return how many ended."""
    query = update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
    if keep is not None:
        query = query.where(Token.token_hash != hash_token(keep))
    return session.execute(query.values(revoked_at=now)).rowcount


def _keep_an_admin(session: Session, user: User) -> None:
    """Conflict if ``user`` is the only enabled admin: without one, nobody could manage users."""
    others = session.scalar(
        select(func.count()).select_from(User).where(
            User.role == ADMIN_ROLE, User.enabled.is_(True), User.id != user.id
        )
    )
    if not others:
        raise Conflict(f"{user.name} is the only enabled admin; make another user admin first")


def add_user(
    archive: Archive, name: str, role: str, password: str | None, *, actor: Actor
) -> tuple[UserView, str | None]:
    """Create a user; without a password one is generated, returned once, and must be changed at first use."""
    validate_user_name(name)
    _validate_role(role)
    password_hash, generated = _new_password(name, password)
    now = utcnow()
    try:
        with archive.catalog.write() as session:
            if _lookup(session, name) is not None:
                raise Conflict(f"user {name} already exists")
            user = _insert(session, name, role, password_hash, must_change=generated is not None, now=now)
            trail.append(
                session, actor=actor.name, action="user.add", source=actor.source, detail={"user": name, "role": role}
            )
            view = _view(user, now)
    except IntegrityError:  # created concurrently (databases that let two writers in at once)
        raise Conflict(f"user {name} already exists") from None
    return view, generated


def set_enabled(archive: Archive, name: str, enabled: bool, *, actor: Actor) -> UserView:
    """Enable or disable a user; disabling ends every session of the user at once."""
    now = utcnow()
    with archive.catalog.write() as session:
        user = _find(session, name)
        if not enabled:
            if user.enabled and user.role == ADMIN_ROLE:
                _keep_an_admin(session, user)
            _revoke_tokens(session, user, now)
        user.enabled = enabled
        user.updated_at = now
        trail.append(
            session, actor=actor.name, action="user.enable" if enabled else "user.disable", source=actor.source,
            detail={"user": name},
        )
        return _view(user, now)


def set_password(archive: Archive, name: str, password: str | None, *, actor: Actor) -> str | None:
    """An operator's reset: ends the user's sessions and lockout; returns the password if one was generated."""
    password_hash, generated = _new_password(name, password)
    now = utcnow()
    with archive.catalog.write() as session:
        user = _find(session, name)
        user.password_hash = password_hash
        user.must_change_password = generated is not None
        user.failed_logins = 0
        user.locked_until = None
        user.updated_at = now
        _revoke_tokens(session, user, now)
        trail.append(
            session, actor=actor.name, action="user.passwd", source=actor.source,
            detail={"user": name, "generated": generated is not None},
        )
    return generated


def set_role(archive: Archive, name: str, role: str, *, actor: Actor) -> UserView:
    _validate_role(role)
    now = utcnow()
    with archive.catalog.write() as session:
        user = _find(session, name)
        previous = user.role
        if previous == ADMIN_ROLE and role != ADMIN_ROLE and user.enabled:
            _keep_an_admin(session, user)
        user.role = role
        user.updated_at = now
        trail.append(
            session, actor=actor.name, action="user.role", source=actor.source,
            detail={"user": name, "role": role, "previous": previous},
        )
        return _view(user, now)


@cache
def _dummy_hash() -> str:
    return hash_password(generate_password())


def _password_matches(user: User | None, password: str, now: datetime) -> bool:
    """Check the password; an unknown or locked account's is checked against a dummy hash and never matches.

    Every attempt costs one argon2 check, so the time an answer takes does not tell an
    unknown name from a real one, nor a locked account from an open one; a locked
    account's own hash is not consulted, so no attempt while it is locked learns anything.
    """
    if user is None or (user.enabled and _is_locked(user, now)):
        verify_password(_dummy_hash(), password)
        return False
    return verify_password(user.password_hash, password)


def _first_check(archive: Archive, name: str, password: str, now: datetime) -> tuple[str | None, bool]:
    """``(hash checked against, whether it matched)``, outside any write transaction."""
    with archive.catalog.read() as session:
        user = _lookup(session, name)
    return (user.password_hash if user else None), _password_matches(user, password, now)


def _refusal(user: User | None, matched: bool, now: datetime) -> str | None:
    """Why a password attempt is refused (the audit ``reason``), or None if it succeeds."""
    if user is None:
        return "unknown user"
    if not user.enabled:
        return "disabled"
    if _is_locked(user, now):
        return "locked"
    return None if matched else "bad password"


def _final_check(
    session: Session, name: str, password: str, seen_hash: str | None, matched: bool, now: datetime
) -> tuple[User | None, str | None]:
    """``(user, refusal reason or None)``, re-read under the write lock."""
    user = _lookup(session, name)
    if user is not None and user.password_hash != seen_hash:
        matched = _password_matches(user, password, now)  # changed since the first check
    return user, _refusal(user, matched, now)


def _settle(user: User | None, reason: str | None, now: datetime, service: ServiceSettings) -> None:
    """Reset the failure count after a success; count a wrong password and lock the account if due."""
    if user is None:
        return
    if reason is None:
        user.failed_logins = 0
        user.locked_until = None
    elif reason == "bad password":
        user.failed_logins += 1
        user.locked_until = lockout.locked_until(
            user.failed_logins, now, after=service.lockout_after, minutes=service.lockout_minutes
        )


def _wrong_old_password(user: User | None, reason: str | None) -> Unauthenticated:
    """Why a logged-in user's password change was refused: the lock is named, since the caller owns the account."""
    if user is not None and reason == "locked" and user.locked_until is not None:
        # Rounded up to the minute, so the time shown is never one that is still locked.
        shown = as_utc(user.locked_until) + timedelta(seconds=59, microseconds=999_999)
        return Unauthenticated(
            f"account locked after repeated failed logins; try again after {shown:%H:%M} UTC"
        )
    return Unauthenticated(BAD_OLD_PASSWORD)


def _audit_attempt(
    session: Session, name: str, action: str, source: str, reason: str | None, detail: dict[str, object] | None = None
) -> None:
    trail.append(
        session, actor=name[:ACTOR_MAX], action=action, source=source,
        outcome="ok" if reason is None else "failed", detail={"reason": reason} if reason else (detail or {}),
    )


def login(archive: Archive, name: str, password: str, *, source: str, now: datetime | None = None) -> Login:
    """Check a user's password and open a session; the returned token is shown only this once.

    Every refusal is the same :data:`BAD_LOGIN`, whether the name is unknown, the password
    wrong, the account disabled or locked (even with the right password): an answer must not
    confirm that an account exists. The audit trail records the real reason.
    """
    now = _moment(now)
    seen_hash, matched = _first_check(archive, name, password, now)
    with archive.catalog.write() as session:
        user, reason = _final_check(session, name, password, seen_hash, matched, now)
        _settle(user, reason, now, archive.settings.service)
        _audit_attempt(session, name, "auth.login", source, reason)
        if user is not None and reason is None:
            token, token_hash = new_token()
            expires = now + timedelta(hours=archive.settings.service.token_hours)
            session.add(Token(
                token_hash=token_hash, user_id=user.id, created_at=now, expires_at=expires, source=source
            ))
            return Login(token=token, expires_at=expires.isoformat(), user=_view(user, now))
    raise Unauthenticated(BAD_LOGIN)


def _valid_session(session: Session, token: str, now: datetime) -> tuple[User, Token]:
    row = session.execute(
        select(User, Token).join(Token, Token.user_id == User.id).where(Token.token_hash == hash_token(token))
    ).first()
    if row is None:
        raise Unauthenticated(NOT_LOGGED_IN)
    user, token_row = row
    if token_row.revoked_at is not None or as_utc(token_row.expires_at) <= now or not user.enabled:
        raise Unauthenticated(NOT_LOGGED_IN)
    return user, token_row


_USERS, _TOKENS = User.__table__, Token.__table__
# Built once: every API request runs it, and building the statement costs more than the query.
_TOKEN_USER = (
    select(_USERS, _TOKENS.c.expires_at.label("token_expires_at"), _TOKENS.c.revoked_at.label("token_revoked_at"))
    .join(_TOKENS, _TOKENS.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == bindparam("token_hash"))
)


_USER_NAMED = select(_USERS).where(_USERS.c.name == bindparam("name"))
_ANY_USER = select(_USERS.c.id).limit(1)


def _user_of(row: Row[Any]) -> User:
    return User(**{column.key: getattr(row, column.key) for column in _USERS.columns})


def authenticate(archive: Archive, token: str, *, now: datetime | None = None) -> UserView:
    """The user a bearer token belongs to; Unauthenticated if it is unknown, expired, revoked or the user disabled."""
    now = _moment(now)
    with archive.catalog.lookup() as connection:
        row = connection.execute(_TOKEN_USER, {"token_hash": hash_token(token)}).first()
    if row is None or row.token_revoked_at is not None or as_utc(row.token_expires_at) <= now or not row.enabled:
        raise Unauthenticated(NOT_LOGGED_IN)
    return _view(_user_of(row), now)


def local_user(archive: Archive, name: str) -> tuple[bool, UserView | None]:
    """``(whether any user exists, the user called name or None)``, for a command run on the archive host.

    One lookup in the usual case (the user exists), since every local command asks it.
    A malformed name is a UsageError once users exist; before that it does not matter.
    """
    with archive.catalog.lookup() as connection:
        row = connection.execute(_USER_NAMED, {"name": name}).first()
        if row is None:
            exists = connection.execute(_ANY_USER).first() is not None
            if exists:
                validate_user_name(name)
            return exists, None
    return True, _view(_user_of(row), utcnow())


def logout(archive: Archive, token: str, *, source: str) -> None:
    now = utcnow()
    with archive.catalog.write() as session:
        user, token_row = _valid_session(session, token, now)
        token_row.revoked_at = now
        trail.append(session, actor=user.name, action="auth.logout", source=source)


def _new_own_password(name: str, old: str, new: str) -> str:
    if new == old:
        raise UsageError("the new password must differ from the current one")
    check_strength(name, new)
    return hash_password(new)


def change_password(
    archive: Archive, name: str, old: str, new: str, *, source: str, keep_token: str | None = None
) -> int:
    """A user changes their own password; returns how many of their other sessions it ended.

    Every session of the user ends (a token or cookie someone else may hold stops working)
    except ``keep_token``, the session that made the change; without one (a change on the
    host, outside any session) all of them end. Wrong current passwords count towards the
    lockout like failed logins.
    """
    now = utcnow()
    seen_hash, matched = _first_check(archive, name, old, now)
    new_hash = _new_own_password(name, old, new) if matched else None
    with archive.catalog.write() as session:
        user, reason = _final_check(session, name, old, seen_hash, matched, now)
        _settle(user, reason, now, archive.settings.service)
        ended = 0
        if user is not None and reason is None:
            user.password_hash = new_hash or _new_own_password(name, old, new)
            user.must_change_password = False
            user.updated_at = now
            ended = _revoke_tokens(session, user, now, keep=keep_token)
        _audit_attempt(session, name, "auth.password", source, reason, {"sessions_ended": ended})
        if user is not None and reason is None:
            return ended
    raise _wrong_old_password(user, reason)


def ensure_bootstrap_admin(archive: Archive, *, source: str) -> str | None:
    """Create the first user, ``admin``, if there are no users; return its one-time password (else None)."""
    if any_users(archive):
        return None
    password = generate_password()
    password_hash = hash_password(password)
    now = utcnow()
    try:
        with archive.catalog.write() as session:
            if session.scalar(select(User.id).limit(1)) is not None:
                return None  # another process got there first
            _insert(session, BOOTSTRAP_ADMIN, ADMIN_ROLE, password_hash, must_change=True, now=now)
            trail.append(
                session, actor=SYSTEM_ACTOR, action="user.add", source=source,
                detail={"user": BOOTSTRAP_ADMIN, "role": ADMIN_ROLE},
            )
    except IntegrityError:  # the same race on databases that let two writers in at once
        return None
    return password
