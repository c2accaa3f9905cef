"""Users, passwords, login tokens and lockout, against a real home's catalog."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from accounts import users
from accounts.lockout import MAX_LOCK, locked_until
from accounts.passwords import (
    check_strength,
    generate_password,
    hash_password,
    verify_password,
)
from accounts.tokens import hash_token, new_token
from archive.service import Archive, as_utc, utcnow
from audit.actor import Actor
from audit.trail import Event, to_event, walk_chain
from catalog.schema import AuditEvent, Token, User
from errors import Conflict, NotFound, Unauthenticated, UsageError

OPERATOR = Actor("root", "admin", "test")
GOOD = "correct horse battery"
OTHER = "another long passphrase"
NAME_RE = re.compile(r"[a-z][a-z0-9._-]{1,31}")


@pytest.fixture
def strict(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    """An archive whose settings (from the environment) lock an account after 3 failures for 10 minutes."""
    monkeypatch.setenv("STRONGROOM_SERVICE_LOCKOUT_AFTER", "3")
    monkeypatch.setenv("STRONGROOM_SERVICE_LOCKOUT_MINUTES", "10")
    opened = Archive.open(home)
    yield opened
    opened.close()


def row(archive: Archive, name: str) -> User:
    with archive.catalog.read() as session:
        return session.scalars(select(User).where(User.name == name)).one()


def token_rows(archive: Archive) -> list[Token]:
    with archive.catalog.read() as session:
        return list(session.scalars(select(Token).order_by(Token.id)))


def view_of(archive: Archive, name: str) -> users.UserView:
    """How a user is shown, as the local commands see it."""
    _, view = users.local_user(archive, name)
    assert view is not None
    return view


def events(archive: Archive, action: str) -> list[Event]:
    with archive.catalog.read() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        return [to_event(event) for event in session.scalars(query)]


def chain_ok(archive: Archive) -> bool:
    with archive.catalog.read() as session:
        return walk_chain(session).ok


def refusal(call, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(Unauthenticated) as caught:
        call(*args, **kwargs)
    return str(caught.value)


# --- passwords and tokens ------------------------------------------------------------------


def test_hash_is_argon2id_and_verifies_only_the_right_password():
    stored = hash_password(GOOD)
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored
    assert verify_password(stored, GOOD)
    assert not verify_password(stored, GOOD + "!")
    assert not verify_password("not a hash", GOOD)
    assert not verify_password("", GOOD)
    assert hash_password(GOOD) != stored  # salted


@pytest.mark.parametrize(
    ("name", "password"),
    [("alice", "short"), ("alice", "123456789"), ("alice", "xxALICExx-long"), ("bob.smith", "my-bob.smith-pw")],
)
def test_weak_passwords_are_refused(name, password):
    with pytest.raises(UsageError) as caught:
        check_strength(name, password)
    assert password not in str(caught.value)


def test_strong_password_passes():
    assert check_strength("alice", "0123456789") is None


def test_generated_passwords_are_long_and_distinct():
    generated = {generate_password() for _ in range(50)}
    assert len(generated) == 50
    assert all(len(password) >= 16 for password in generated)


def test_token_hash_is_sha256_of_the_token():
    token, digest = new_token()
    assert digest == hashlib.sha256(token.encode()).hexdigest() == hash_token(token)
    assert len(token) >= 32
    assert new_token()[0] != token


# --- user names ------------------------------------------------------------------------------


@given(st.text(max_size=40))
def test_validate_user_name_accepts_exactly_the_pattern(text):
    if NAME_RE.fullmatch(text):
        assert users.validate_user_name(text) == text
    else:
        with pytest.raises(UsageError):
            users.validate_user_name(text)


@given(st.from_regex(NAME_RE, fullmatch=True))
def test_every_well_formed_name_is_accepted(name):
    assert users.validate_user_name(name) == name


@pytest.mark.parametrize("name", ["a", "Alice", "1abc", "ab c", "ab\n", "-ab", "a" * 33, "al/ice", "", "émile"])
def test_malformed_names_are_refused(name):
    with pytest.raises(UsageError) as caught:
        users.validate_user_name(name)
    assert "\n" not in str(caught.value)


# --- lockout arithmetic -----------------------------------------------------------------------

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def lock_length(failures: int, after: int, minutes: int) -> timedelta:
    until = locked_until(failures, T0, after=after, minutes=minutes)
    return until - T0 if until else timedelta(0)


def test_lock_starts_at_threshold_and_doubles():
    assert locked_until(4, T0, after=5, minutes=15) is None
    assert locked_until(5, T0, after=5, minutes=15) == T0 + timedelta(minutes=15)
    assert locked_until(6, T0, after=5, minutes=15) == T0 + timedelta(minutes=30)
    assert locked_until(7, T0, after=5, minutes=15) == T0 + timedelta(minutes=60)
    assert locked_until(30, T0, after=5, minutes=15) == T0 + MAX_LOCK
    assert locked_until(10**9, T0, after=5, minutes=15) == T0 + MAX_LOCK


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.integers(1, 50), st.integers(1, 3000))
def test_lock_grows_with_failures_and_is_capped(first, second, after, minutes):
    low, high = sorted((first, second))
    assert lock_length(low, after, minutes) <= lock_length(high, after, minutes) <= MAX_LOCK


@given(st.integers(0, 1000), st.integers(1, 1000), st.integers(1, 3000))
def test_no_lock_below_threshold(failures, after, minutes):
    until = locked_until(failures, T0, after=after, minutes=minutes)
    if failures < after:
        assert until is None
    else:
        assert until is not None and T0 < until <= T0 + MAX_LOCK


@given(st.integers(1, 50), st.integers(1, 24 * 60))
def test_first_lock_lasts_the_configured_minutes(after, minutes):
    assert lock_length(after, after, minutes) == timedelta(minutes=minutes)


# --- managing users --------------------------------------------------------------------------


def test_add_get_and_list_users(archive):
    view, generated = users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    users.add_user(archive, "alice", "director", OTHER, actor=OPERATOR)
    assert generated is None
    assert view == view_of(archive, "carol")
    assert (view.role, view.enabled, view.must_change_password, view.locked_until) == ("staff", True, False, None)
    assert datetime.fromisoformat(view.created_at).utcoffset() == timedelta(0)
    assert view.as_dict()["name"] == "carol"
    assert [user.name for user in users.list_users(archive)] == ["alice", "carol"]
    assert users.any_users(archive)
    added = events(archive, "user.add")
    assert [(e.actor, e.source, e.detail) for e in added] == [
        ("root", "test", {"user": "carol", "role": "staff"}),
        ("root", "test", {"user": "alice", "role": "director"}),
    ]


def test_add_user_refusals_leave_nothing_behind(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    with pytest.raises(Conflict):
        users.add_user(archive, "carol", "manager", OTHER, actor=OPERATOR)
    with pytest.raises(UsageError):
        users.add_user(archive, "dave", "janitor", OTHER, actor=OPERATOR)
    with pytest.raises(UsageError):
        users.add_user(archive, "Dave", "staff", OTHER, actor=OPERATOR)
    with pytest.raises(UsageError):
        users.add_user(archive, "dave", "staff", "dave-is-me-123", actor=OPERATOR)
    assert [user.name for user in users.list_users(archive)] == ["carol"]
    assert row(archive, "carol").role == "staff"
    assert len(events(archive, "user.add")) == 1


def test_unknown_user_is_not_found(archive):
    with pytest.raises(NotFound):
        users.set_enabled(archive, "nobody", False, actor=OPERATOR)
    assert not users.any_users(archive)


def test_local_user_answers_in_one_lookup_what_a_local_command_needs(archive):
    assert users.local_user(archive, "Not A Name!") == (False, None)  # a fresh home: anyone bootstraps it
    view, _ = users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    assert users.local_user(archive, "carol") == (True, view)
    assert users.local_user(archive, "nobody") == (True, None)
    with pytest.raises(UsageError):
        users.local_user(archive, "Not A Name!")
    users.set_enabled(archive, "carol", False, actor=OPERATOR)
    exists, disabled = users.local_user(archive, "carol")
    assert exists and disabled is not None and not disabled.enabled


def test_generated_password_is_returned_once_and_must_be_changed(archive):
    view, generated = users.add_user(archive, "erin", "auditor", None, actor=OPERATOR)
    assert generated is not None and len(generated) >= 16
    assert view.must_change_password
    assert users.login(archive, "erin", generated, source="test").user.must_change_password


def test_no_plaintext_password_or_token_in_the_catalog(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    _, generated = users.add_user(archive, "erin", "staff", None, actor=OPERATOR)
    login = users.login(archive, "carol", GOOD, source="test")
    stored = row(archive, "carol").password_hash
    assert stored.startswith("$argon2id$") and stored != GOOD
    assert [t.token_hash for t in token_rows(archive)] == [hash_token(login.token)]
    catalog_bytes = b"".join(path.read_bytes() for path in Path(archive.settings.home).glob("catalog.sqlite3*"))
    assert stored.encode() in catalog_bytes  # the files searched do hold the catalog's data
    for secret in (GOOD, generated, login.token):
        assert secret.encode() not in catalog_bytes


# --- logging in and sessions ----------------------------------------------------------------


def test_login_returns_a_token_that_authenticates(archive):
    users.add_user(archive, "carol", "manager", GOOD, actor=OPERATOR)
    login = users.login(archive, "carol", GOOD, source="http:10.0.0.7")
    assert login.token not in repr(login)
    assert login.user.name == "carol"
    expires = datetime.fromisoformat(login.expires_at)
    assert timedelta(hours=7, minutes=59) < expires - utcnow() <= timedelta(hours=8)
    assert users.authenticate(archive, login.token) == login.user
    (stored,) = token_rows(archive)
    assert (stored.source, stored.revoked_at) == ("http:10.0.0.7", None)
    (event,) = events(archive, "auth.login")
    assert (event.actor, event.outcome, event.source) == ("carol", "ok", "http:10.0.0.7")


def test_unknown_expired_and_revoked_tokens_are_refused(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    login = users.login(archive, "carol", GOOD, source="test")
    expected = "not logged in, or the session expired; run 'strongroom login'"
    assert refusal(users.authenticate, archive, "made-up-token") == expected
    assert refusal(users.authenticate, archive, "") == expected
    later = utcnow() + timedelta(hours=8, seconds=1)
    assert refusal(users.authenticate, archive, login.token, now=later) == expected
    assert users.authenticate(archive, login.token).name == "carol"
    users.logout(archive, login.token, source="test")
    assert refusal(users.authenticate, archive, login.token) == expected
    assert refusal(users.logout, archive, login.token, source="test") == expected
    assert token_rows(archive)[0].revoked_at is not None
    assert [e.actor for e in events(archive, "auth.logout")] == ["carol"]


def test_disabling_a_user_ends_their_sessions_at_once(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    login = users.login(archive, "carol", GOOD, source="test")
    assert not users.set_enabled(archive, "carol", False, actor=OPERATOR).enabled
    refusal(users.authenticate, archive, login.token)
    assert refusal(users.login, archive, "carol", GOOD, source="test") == "invalid user name or password"
    assert users.set_enabled(archive, "carol", True, actor=OPERATOR).enabled
    refusal(users.authenticate, archive, login.token)  # revoked, not merely suspended
    assert users.authenticate(archive, users.login(archive, "carol", GOOD, source="test").token).enabled
    assert [e.detail for e in events(archive, "user.disable")] == [{"user": "carol"}]
    assert [e.outcome for e in events(archive, "auth.login")] == ["ok", "failed", "ok"]
    assert events(archive, "auth.login")[1].detail == {"reason": "disabled"}


def test_a_disabled_user_is_refused_even_with_an_unrevoked_token(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    login = users.login(archive, "carol", GOOD, source="test")
    with archive.catalog.write() as session:
        session.scalars(select(User).where(User.name == "carol")).one().enabled = False
    refusal(users.authenticate, archive, login.token)
    assert token_rows(archive)[0].revoked_at is None


def test_wrong_password_and_unknown_user_look_the_same(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    wrong = refusal(users.login, archive, "carol", OTHER, source="test")
    unknown = refusal(users.login, archive, "mallory", OTHER, source="test")
    assert wrong == unknown == "invalid user name or password"
    assert [e.detail["reason"] for e in events(archive, "auth.login")] == ["bad password", "unknown user"]
    assert row(archive, "carol").failed_logins == 1


def test_unknown_user_still_costs_a_password_check(archive, monkeypatch):
    checked: list[str] = []
    real = users.verify_password
    monkeypatch.setattr(users, "verify_password", lambda stored, password: checked.append(stored) or real(stored, password))
    refusal(users.login, archive, "mallory", OTHER, source="test")
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")


def test_failed_logins_are_committed_and_chained(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    for _ in range(2):
        refusal(users.login, archive, "carol", OTHER, source="http:10.0.0.9")
    refusal(users.login, archive, "x" * 100, OTHER, source="http:10.0.0.9")
    failed = [e for e in events(archive, "auth.login") if e.outcome == "failed"]
    assert [(e.actor, e.source) for e in failed[:2]] == [("carol", "http:10.0.0.9")] * 2
    assert failed[2].actor == "x" * 64
    assert row(archive, "carol").failed_logins == 2
    assert chain_ok(archive)


def test_lockout_refuses_even_the_right_password_until_it_ends(strict):
    users.add_user(strict, "carol", "staff", GOOD, actor=OPERATOR)
    start = utcnow()
    for _ in range(3):
        assert refusal(users.login, strict, "carol", OTHER, source="test", now=start) == users.BAD_LOGIN
    end = start + timedelta(minutes=10)
    assert refusal(users.login, strict, "carol", GOOD, source="test", now=start) == users.BAD_LOGIN
    assert view_of(strict, "carol").locked_until == end.isoformat()  # the operator sees the lock
    assert row(strict, "carol").failed_logins == 3  # attempts while locked are not counted
    assert refusal(users.login, strict, "carol", GOOD, source="test", now=end - timedelta(seconds=1)) == users.BAD_LOGIN
    login = users.login(strict, "carol", GOOD, source="test", now=end)
    assert login.user.locked_until is None
    assert (row(strict, "carol").failed_logins, row(strict, "carol").locked_until) == (0, None)
    reasons = [e.detail.get("reason") for e in events(strict, "auth.login")]
    assert reasons == ["bad password"] * 3 + ["locked"] * 2 + [None]
    assert chain_ok(strict)


def test_a_locked_account_answers_exactly_like_an_unknown_name(strict, monkeypatch):
    """Item 9 of issue 14: "account locked" confirmed that a name exists; now only the audit trail says so."""
    users.add_user(strict, "carol", "staff", GOOD, actor=OPERATOR)
    for _ in range(3):
        refusal(users.login, strict, "carol", OTHER, source="test")
    checked: list[str] = []
    real = users.verify_password
    monkeypatch.setattr(users, "verify_password", lambda stored, password: checked.append(stored) or real(stored, password))
    answers = [
        refusal(users.login, strict, "carol", GOOD, source="test"),  # locked, the right password
        refusal(users.login, strict, "carol", OTHER, source="test"),  # locked, a wrong one
        refusal(users.login, strict, "mallory", GOOD, source="test"),  # nobody of that name
    ]
    assert answers == [users.BAD_LOGIN] * 3
    # Each attempt costs one argon2id check of the same cost, and never against carol's own hash.
    carol_hash = row(strict, "carol").password_hash
    assert len(checked) == 3 and carol_hash not in checked
    parameters = {stored.rsplit("$", 2)[0] for stored in [*checked, carol_hash]}
    assert len(parameters) == 1 and parameters.pop().startswith("$argon2id$")
    assert [e.detail["reason"] for e in events(strict, "auth.login")][-3:] == ["locked", "locked", "unknown user"]


def test_each_failure_after_the_lock_doubles_it(strict):
    users.add_user(strict, "carol", "staff", GOOD, actor=OPERATOR)
    start = utcnow()
    for _ in range(3):
        refusal(users.login, strict, "carol", OTHER, source="test", now=start)
    after_first = start + timedelta(minutes=10)
    refusal(users.login, strict, "carol", OTHER, source="test", now=after_first)
    assert as_utc(row(strict, "carol").locked_until) == after_first + timedelta(minutes=20)


# --- passwords changed by users and operators ------------------------------------------------


def test_change_password(archive):
    _, generated = users.add_user(archive, "erin", "staff", None, actor=OPERATOR)
    assert refusal(users.change_password, archive, "erin", OTHER, GOOD, source="test") == "current password is wrong"
    with pytest.raises(UsageError):
        users.change_password(archive, "erin", generated, generated, source="test")
    with pytest.raises(UsageError):
        users.change_password(archive, "erin", generated, "short", source="test")
    assert view_of(archive, "erin").must_change_password
    users.change_password(archive, "erin", generated, GOOD, source="test")
    assert not view_of(archive, "erin").must_change_password
    refusal(users.login, archive, "erin", generated, source="test")
    assert users.login(archive, "erin", GOOD, source="test").user.name == "erin"
    assert [(e.outcome, e.detail) for e in events(archive, "auth.password")] == [
        ("failed", {"reason": "bad password"}),
        ("ok", {"sessions_ended": 0}),
    ]
    assert chain_ok(archive)


def test_wrong_current_passwords_count_towards_the_lockout(strict):
    users.add_user(strict, "carol", "staff", GOOD, actor=OPERATOR)
    for _ in range(3):
        refusal(users.change_password, strict, "carol", OTHER, "a new long password", source="test")
    assert refusal(users.login, strict, "carol", GOOD, source="test") == users.BAD_LOGIN
    # A logged-in user changing their own password is told about the lock: the account is theirs.
    assert "locked" in refusal(users.change_password, strict, "carol", GOOD, "a new long password", source="test")


def test_changing_ones_password_ends_every_other_session(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    users.add_user(archive, "dave", "staff", OTHER, actor=OPERATOR)
    here, laptop, browser = (users.login(archive, "carol", GOOD, source="test").token for _ in range(3))
    someone_else = users.login(archive, "dave", OTHER, source="test").token
    ended = users.change_password(archive, "carol", GOOD, "a new long password", source="test", keep_token=here)
    assert ended == 2
    assert users.authenticate(archive, here).name == "carol"
    for other in (laptop, browser):
        refusal(users.authenticate, archive, other)
    assert users.authenticate(archive, someone_else).name == "dave"
    # Outside any session (the host), every session ends.
    again = users.change_password(archive, "carol", "a new long password", GOOD, source="test")
    assert again == 1
    refusal(users.authenticate, archive, here)
    assert [e.detail for e in events(archive, "auth.password")] == [{"sessions_ended": 2}, {"sessions_ended": 1}]
    assert chain_ok(archive)


def test_operator_reset_revokes_sessions_and_clears_lockout(strict):
    users.add_user(strict, "carol", "staff", GOOD, actor=OPERATOR)
    login = users.login(strict, "carol", GOOD, source="test")
    for _ in range(3):
        refusal(users.login, strict, "carol", OTHER, source="test")
    generated = users.set_password(strict, "carol", None, actor=OPERATOR)
    assert generated is not None
    refusal(users.authenticate, strict, login.token)
    view = view_of(strict, "carol")
    assert view.must_change_password and view.locked_until is None
    assert row(strict, "carol").failed_logins == 0
    assert users.login(strict, "carol", generated, source="test").user.must_change_password
    assert users.set_password(strict, "carol", OTHER, actor=OPERATOR) is None
    assert not users.login(strict, "carol", OTHER, source="test").user.must_change_password
    with pytest.raises(UsageError):
        users.set_password(strict, "carol", "carol12345678", actor=OPERATOR)
    assert [e.detail for e in events(strict, "user.passwd")] == [
        {"user": "carol", "generated": True},
        {"user": "carol", "generated": False},
    ]


def test_set_role(archive):
    users.add_user(archive, "carol", "staff", GOOD, actor=OPERATOR)
    assert users.set_role(archive, "carol", "manager", actor=OPERATOR).role == "manager"
    with pytest.raises(UsageError):
        users.set_role(archive, "carol", "owner", actor=OPERATOR)
    assert view_of(archive, "carol").role == "manager"
    assert [e.detail for e in events(archive, "user.role")] == [{"user": "carol", "role": "manager", "previous": "staff"}]


def test_the_last_enabled_admin_cannot_be_removed(archive):
    users.ensure_bootstrap_admin(archive, source="test")
    with pytest.raises(Conflict):
        users.set_role(archive, "admin", "staff", actor=OPERATOR)
    with pytest.raises(Conflict):
        users.set_enabled(archive, "admin", False, actor=OPERATOR)
    users.add_user(archive, "root2", "admin", GOOD, actor=OPERATOR)
    assert not users.set_enabled(archive, "admin", False, actor=OPERATOR).enabled
    with pytest.raises(Conflict):
        users.set_role(archive, "root2", "staff", actor=OPERATOR)


# --- bootstrap -------------------------------------------------------------------------------


def test_bootstrap_admin_is_created_once(archive):
    password = users.ensure_bootstrap_admin(archive, source="service")
    assert password is not None and len(password) >= 16
    assert users.ensure_bootstrap_admin(archive, source="service") is None
    (admin,) = users.list_users(archive)
    assert (admin.name, admin.role, admin.must_change_password) == ("admin", "admin", True)
    assert users.login(archive, "admin", password, source="test").user.role == "admin"
    (event,) = events(archive, "user.add")
    assert (event.actor, event.source, event.detail) == ("system", "service", {"user": "admin", "role": "admin"})


def test_concurrent_bootstraps_create_one_admin(archive):
    with ThreadPoolExecutor(4) as pool:
        passwords = list(pool.map(lambda _: users.ensure_bootstrap_admin(archive, source="test"), range(4)))
    assert len([p for p in passwords if p is not None]) == 1
    assert [u.name for u in users.list_users(archive)] == ["admin"]
    assert len(events(archive, "user.add")) == 1


def test_bootstrap_does_nothing_once_users_exist(archive):
    users.add_user(archive, "carol", "admin", GOOD, actor=OPERATOR)
    assert users.ensure_bootstrap_admin(archive, source="test") is None
    assert [u.name for u in users.list_users(archive)] == ["carol"]


def test_the_cli_offers_exactly_the_account_roles() -> None:
    from accounts.users import ROLES
    from commands.service import ROLE

    assert tuple(ROLE.choices) == ROLES
