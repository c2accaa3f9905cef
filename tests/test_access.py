"""Access control: the Casbin policy, per-record grants, access requests and their audit events."""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from access.grants import expire_due, list_grants, live_purposes, revoke
from access.policy import ACTIONS, SHIPPED_MODEL, SHIPPED_POLICY, AccessPolicy
from access.requests import approve, deny, my_requests, pending_requests, request_access
from archive.service import utcnow
from audit.actor import Actor
from catalog.schema import AccessRequest, AuditEvent, Grant
from errors import ConfigError, Conflict, Forbidden, NotFound, UsageError
from naming import InvalidName
from operations import access as access_ops
from operations.context import Context
from tests.helpers import put_bytes

ROLES = ("director", "manager", "staff", "auditor", "admin")
TYPES = ("contract", "minutes", "report")

# The default policy, spelled out: for each role and record type, exactly the actions allowed.
STAFF_OPEN = {"read", "view", "file", "version", "request", "list"}
MANAGING = {"retention", "dispose"}
DIRECTING = {"grant", "audit", "hold", "approve-disposal"} | MANAGING
EXPECTED = {
    "director": {
        "contract": {"read", "view", "file", "version", "request", "list"} | DIRECTING,
        "minutes": {"read", "view", "file", "version", "request", "list"} | DIRECTING,
        "report": {"read", "view", "file", "version", "request", "list"} | DIRECTING,
    },
    "manager": {
        "contract": {"file", "version", "request", "list"} | MANAGING,
        "minutes": STAFF_OPEN | MANAGING,
        "report": STAFF_OPEN | MANAGING,
    },
    "staff": {
        "contract": {"file", "version", "request", "list"},
        "minutes": STAFF_OPEN,
        "report": STAFF_OPEN,
    },
    "auditor": {
        "contract": {"request", "audit", "list", "retention"},
        "minutes": {"read", "view", "request", "audit", "list", "retention"},
        "report": {"read", "view", "request", "audit", "list", "retention"},
    },
    "admin": {
        "contract": {"request", "users", "list"},
        "minutes": {"request", "users", "list"},
        "report": {"request", "users", "list"},
    },
}
# Actions that concern no record type (record_type None): only "*" rules apply (the director
# reads every type, including types added to records.types later).
EXPECTED_UNTYPED = {
    "director": {"read", "view", "file", "version", "request", "list"} | DIRECTING,
    "manager": {"file", "version", "request", "list"} | MANAGING,
    "staff": {"file", "version", "request", "list"},
    "auditor": {"request", "audit", "list", "retention"},
    "admin": {"request", "users", "list"},
}

DIRECTOR = Actor("dora", "director")
MANAGER = Actor("mia", "manager")
STAFF = Actor("alice", "staff")
OTHER_STAFF = Actor("bob", "staff")
AUDITOR = Actor("carl", "auditor")
ADMIN = Actor("ada", "admin")


@pytest.fixture
def policy(archive):
    return AccessPolicy.load(archive.settings)


@pytest.fixture
def records(archive):
    """One real record of each type of the matrix, plus a second contract."""
    named = {record_type: put_bytes(archive, record_type.encode(), record_type=record_type).name for record_type in TYPES}
    named["contract2"] = put_bytes(archive, b"second contract").name
    return named


def allows(archive, policy, actor, action, **kwargs):
    with archive.catalog.read() as session:
        return policy.allows(session, actor, action, **kwargs)


def events(archive, action=None, outcome=None):
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if outcome is not None:
        query = query.where(AuditEvent.outcome == outcome)
    with archive.catalog.read() as session:
        return list(session.scalars(query))


def custom_policy(archive, tmp_path, extra: str) -> AccessPolicy:
    """The shipped policy plus ``extra`` lines, configured through settings.access.policy_path."""
    path = tmp_path / "custom-policy.csv"
    path.write_text(SHIPPED_POLICY.read_text() + "\n" + extra + "\n")
    archive.settings.access.policy_path = str(path)
    return AccessPolicy.load(archive.settings)


def grant_to(archive, policy, actor, name, days=None, approver=DIRECTOR, purpose="read"):
    request = request_access(archive, policy, actor, name, "audit of the year", days, purpose)
    return approve(archive, policy, approver, request.id)


# -- the default policy ----------------------------------------------------------------------


def test_default_matrix(archive, policy, records):
    assert set(ACTIONS) == {"read", "view", "list", "file", "version", "request", "grant", "audit", "users",
                            "retention", "hold", "dispose", "approve-disposal"}
    wrong = []
    with archive.catalog.read() as session:
        for role in ROLES:
            actor = Actor(f"user-{role}", role)
            for record_type in TYPES:
                allowed = EXPECTED[role][record_type]
                for action in ACTIONS:
                    expected = action in allowed
                    # A new version of a named record also needs the right to read it (no grants here).
                    expected_by_name = expected and (action != "version" or "read" in allowed)
                    by_type = policy.allows(session, actor, action, record_type=record_type)
                    by_name = policy.allows(session, actor, action, record_name=records[record_type])
                    if by_type != expected or by_name != expected_by_name:
                        wrong.append((role, record_type, action, expected, by_type, by_name))
            for action in ACTIONS:
                if policy.allows(session, actor, action) != (action in EXPECTED_UNTYPED[role]):
                    wrong.append((role, None, action, action in EXPECTED_UNTYPED[role]))
    assert wrong == []


def test_letters_and_other_follow_minutes_and_unknown_roles_get_nothing(archive, policy):
    with archive.catalog.read() as session:
        for record_type in ("letter", "other"):
            assert policy.allows(session, STAFF, "read", record_type=record_type)
            assert policy.allows(session, AUDITOR, "view", record_type=record_type)
            assert not policy.allows(session, ADMIN, "read", record_type=record_type)
        stranger = Actor("eve", "intern")
        assert not any(policy.allows(session, stranger, action, record_type="minutes") for action in ACTIONS)


def test_bootstrap_actor_may_do_everything(archive, policy, records):
    operator = Actor("root", None)
    with archive.catalog.read() as session:
        for action in ACTIONS:
            assert policy.allows(session, operator, action)
            for name in records.values():
                assert policy.allows(session, operator, action, record_name=name)
                policy.require(session, operator, action, record_name=name)


def test_require_raises_one_line_forbidden(archive, policy, records):
    with archive.catalog.read() as session:
        with pytest.raises(Forbidden) as caught:
            policy.require(session, STAFF, "read", record_name=records["contract"])
        assert str(caught.value) == f"alice (staff) may not read {records['contract']}"
        with pytest.raises(Forbidden, match=r"^ada \(admin\) may not audit$"):
            policy.require(session, ADMIN, "audit")
        with pytest.raises(Forbidden, match=r"^carl \(auditor\) may not file contract$"):
            policy.require(session, AUDITOR, "file", record_type="contract")
        policy.require(session, DIRECTOR, "read", record_name=records["contract"])


def test_unknown_action_or_mismatched_type_is_a_programming_error(archive, policy, records):
    with archive.catalog.read() as session:
        with pytest.raises(ValueError, match="unknown action"):
            policy.allows(session, STAFF, "delete")
        with pytest.raises(ValueError, match="not of type"):
            policy.allows(session, STAFF, "read", record_type="minutes", record_name=records["contract"])


# -- grants ------------------------------------------------------------------------------------


def test_grant_lets_one_user_read_one_record_until_expiry(archive, policy, records):
    contract, other = records["contract"], records["contract2"]
    assert not allows(archive, policy, STAFF, "read", record_name=contract)
    grant = grant_to(archive, policy, STAFF, contract, days=3)
    expires = datetime.fromisoformat(grant.expires_at)
    assert grant.user == "alice" and grant.record == contract and grant.granted_by == "dora" and grant.active
    assert expires - datetime.fromisoformat(grant.created_at) == timedelta(days=3)

    assert allows(archive, policy, STAFF, "read", record_name=contract)
    assert allows(archive, policy, STAFF, "view", record_name=contract)
    assert not allows(archive, policy, STAFF, "read", record_name=other), "another record"
    assert not allows(archive, policy, OTHER_STAFF, "read", record_name=contract), "another user"
    assert not allows(archive, policy, Actor("alice", "admin"), "grant", record_name=contract), "only read/view"
    assert not allows(archive, policy, STAFF, "read", record_type="contract"), "no record named: no grant"

    assert allows(archive, policy, STAFF, "read", record_name=contract, now=expires - timedelta(seconds=1))
    assert not allows(archive, policy, STAFF, "read", record_name=contract, now=expires)
    assert not allows(archive, policy, STAFF, "read", record_name=contract, now=expires + timedelta(seconds=1))
    with archive.catalog.read() as session:
        assert live_purposes(session, "alice", contract, expires - timedelta(seconds=1)) == {"read"}
        assert live_purposes(session, "alice", contract, expires) == frozenset()
        assert live_purposes(session, "alice", contract, expires.replace(tzinfo=None) + timedelta(hours=1)) == set()


def test_revoke_ends_a_grant_at_once(archive, policy, records):
    contract = records["contract"]
    grant = grant_to(archive, policy, STAFF, contract)
    assert [g.id for g in list_grants(archive, user="alice")] == [grant.id]

    revoked = revoke(archive, policy, DIRECTOR, grant.id)
    assert revoked.revoked_by == "dora" and revoked.revoked_at is not None and not revoked.active
    assert not allows(archive, policy, STAFF, "read", record_name=contract)
    assert list_grants(archive, user="alice") == []
    assert [g.id for g in list_grants(archive, record=contract, active_only=False)] == [grant.id]
    [event_] = events(archive, "access.revoke", "ok")
    assert event_.record == contract and event_.actor == "dora"

    with pytest.raises(Conflict, match="already revoked"):
        revoke(archive, policy, DIRECTOR, grant.id)
    with pytest.raises(NotFound):
        revoke(archive, policy, DIRECTOR, 9999)


def test_revoke_refusals_are_audited(archive, policy, records):
    grant = grant_to(archive, policy, STAFF, records["contract"])
    with pytest.raises(Forbidden):
        revoke(archive, policy, STAFF, grant.id)
    with pytest.raises(Forbidden):
        revoke(archive, policy, STAFF, 9999)  # no probing for grant ids without the right
    denied = events(archive, "access.revoke", "denied")
    assert [(e.actor, e.record) for e in denied] == [("alice", records["contract"]), ("alice", None)]
    assert allows(archive, policy, STAFF, "read", record_name=records["contract"]), "still granted"


def test_an_expired_grant_cannot_be_revoked(archive, policy, records):
    grant = grant_to(archive, policy, STAFF, records["contract"])
    with archive.catalog.write() as session:
        session.get(Grant, grant.id).expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(Conflict, match="already expired"):
        revoke(archive, policy, DIRECTOR, grant.id)
    assert not allows(archive, policy, STAFF, "read", record_name=records["contract"])


def test_a_decision_queries_grants_at_most_once(archive, policy, records):
    grant_to(archive, policy, STAFF, records["contract"])
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if "grants" in statement:
            statements.append(statement)

    engine = archive.catalog._read_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        cases = [
            (STAFF, "read", records["contract"], True),  # granted
            (OTHER_STAFF, "read", records["contract"], False),  # refused after every policy line
            (STAFF, "view", records["contract2"], False),
            (STAFF, "read", records["minutes"], True),  # role rule
            (AUDITOR, "list", records["contract"], True),  # not read/view: never a lookup
            (STAFF, "version", records["contract"], False),  # a read grant: looked up, read-only
            (STAFF, "version", records["minutes"], True),  # read by role: no lookup needed
        ]
        for actor, action, name, expected in cases:
            before = len(statements)
            assert allows(archive, policy, actor, action, record_name=name) is expected
            assert len(statements) - before <= 1, (actor, action, name)
        assert len(statements) >= 2
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_policy_is_safe_to_share_between_threads(archive, policy, records):
    grant_to(archive, policy, STAFF, records["contract"])
    cases = [
        (STAFF, "read", records["contract"], True),
        (OTHER_STAFF, "read", records["contract"], False),
        (DIRECTOR, "read", records["contract2"], True),
        (ADMIN, "read", records["minutes"], False),
        (AUDITOR, "view", records["report"], True),
    ]
    errors: list[object] = []
    enforcers: list[object] = []  # kept alive, so no two can share an id()

    def work() -> None:
        try:
            for _ in range(40):
                for actor, action, name, expected in cases:
                    if allows(archive, policy, actor, action, record_name=name) is not expected:
                        errors.append((actor, action, name))
            enforcers.append(policy._local.enforcer)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({id(enforcer) for enforcer in enforcers}) == 6, "one enforcer per thread"



def test_threads_preparing_their_matchers_at_once_do_not_break_python_s_ast():
    """Each thread's first decision parses and compiles the matcher; CPython 3.11's AST converter
    keeps its recursion depth in shared state, so unserialised that failed now and then under
    concurrent uploads ("SystemError: AST constructor recursion depth mismatch"). A tiny switch
    interval makes the race near certain without the lock."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    errors: list[object] = []
    try:
        for _ in range(20):
            policy = AccessPolicy(SHIPPED_MODEL.read_text(), SHIPPED_POLICY.read_text(),
                                  model_path=SHIPPED_MODEL, policy_path=SHIPPED_POLICY)

            def decide(policy: AccessPolicy = policy) -> None:
                try:
                    assert policy.allows(None, STAFF, "list") is True
                except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                    errors.append(exc)

            threads = [threading.Thread(target=decide) for _ in range(16)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert errors == []

# -- new versions: the type's version right and the right to read the record -----------------

GRANT_STATES = ("none", "read", "amend", "expired amend", "revoked amend")


def add_grant_row(archive, user, record, state):
    """A grant row as an approval (and a revocation or the clock) leaves it; "none" adds nothing."""
    if state == "none":
        return
    now = utcnow()
    revoked = state == "revoked amend"
    with archive.catalog.write() as session:
        session.add(Grant(
            user_name=user, record_name=record, purpose=state.split()[-1], granted_by="dora",
            created_at=now - timedelta(days=2),
            expires_at=now - timedelta(minutes=1) if state == "expired amend" else now + timedelta(days=3),
            revoked_at=now - timedelta(minutes=1) if revoked else None, revoked_by="dora" if revoked else None,
            expiry_recorded=False,
        ))


def test_version_by_role_record_type_and_grant(archive, policy, records):
    """Every role x contract/minutes x grant: a new version needs the type's right and the right to read the record.

    Staff and managers have ``version`` for every type but read only minutes, reports, letters:
    a contract takes a live amend grant. A read grant stays read-only; auditors and admins never
    file versions, whatever they hold; the director files versions of everything.
    """
    wrong = []
    for role in ROLES:
        for record_type in ("contract", "minutes"):
            name = records[record_type]
            for state in GRANT_STATES:
                actor = Actor(f"{role}-{record_type}-{state}".replace(" ", "-"), role)
                add_grant_row(archive, actor.name, name, state)
                reads_by_role = "read" in EXPECTED[role][record_type]
                live = state in ("read", "amend")
                expected = {
                    "version": "version" in EXPECTED[role][record_type] and (reads_by_role or state == "amend"),
                    "read": reads_by_role or live,
                    "view": reads_by_role or live,
                }
                for action, allowed in expected.items():
                    if allows(archive, policy, actor, action, record_name=name) is not allowed:
                        wrong.append((role, record_type, state, action, allowed))
    assert wrong == []
    # The cells that matter most, spelled out.
    assert allows(archive, policy, Actor("staff-contract-amend", "staff"), "version", record_name=records["contract"])
    assert not allows(archive, policy, Actor("staff-contract-read", "staff"), "version",
                      record_name=records["contract"])
    assert not allows(archive, policy, Actor("staff-contract-none", "staff"), "version",
                      record_name=records["contract"])
    assert not allows(archive, policy, Actor("auditor-minutes-amend", "auditor"), "version",
                      record_name=records["minutes"])
    assert allows(archive, policy, Actor("director-contract-none", "director"), "version",
                  record_name=records["contract"])


def test_an_amend_grant_covers_one_record_one_user_and_its_period(archive, policy, records):
    contract, other = records["contract"], records["contract2"]
    grant = grant_to(archive, policy, STAFF, contract, days=2, purpose="amend")
    expires = datetime.fromisoformat(grant.expires_at)
    assert grant.purpose == "amend"
    for action in ("version", "read", "view"):
        assert allows(archive, policy, STAFF, action, record_name=contract), action
    assert not allows(archive, policy, STAFF, "version", record_name=other), "another record"
    assert not allows(archive, policy, OTHER_STAFF, "version", record_name=contract), "another user"
    assert allows(archive, policy, STAFF, "version", record_name=contract, now=expires - timedelta(seconds=1))
    assert not allows(archive, policy, STAFF, "version", record_name=contract, now=expires)
    assert not allows(archive, policy, Actor("alice", "auditor"), "version", record_name=contract), (
        "the grant does not outlive a role that may not file versions")
    revoke(archive, policy, DIRECTOR, grant.id)
    assert not allows(archive, policy, STAFF, "version", record_name=contract)
    assert not allows(archive, policy, STAFF, "read", record_name=contract)


def test_a_read_grant_is_read_only_and_the_refusal_says_why(archive, policy, records):
    contract = records["contract"]
    grant_to(archive, policy, STAFF, contract)
    assert allows(archive, policy, STAFF, "read", record_name=contract)
    with archive.catalog.read() as session:
        with pytest.raises(Forbidden) as caught:
            policy.require(session, STAFF, "version", record_name=contract)
        assert str(caught.value) == (f"alice (staff) may not version {contract}: a new version needs the right "
                                     "to read the record, or an amend grant")
        with pytest.raises(Forbidden, match=rf"^carl \(auditor\) may not version {records['minutes']}$"):
            policy.require(session, AUDITOR, "version", record_name=records["minutes"])
        assert policy.allows(session, STAFF, "version", record_type="contract"), "the type's right alone"


# -- requests ----------------------------------------------------------------------------------


def test_request_approve_flow_and_audit(archive, policy, records):
    contract = records["contract"]
    request = request_access(archive, policy, STAFF, contract, "  quarterly review  ")
    assert (request.record, request.requester, request.reason, request.days, request.state) == (
        contract, "alice", "quarterly review", archive.settings.access.default_grant_days, "pending")
    assert [r.id for r in my_requests(archive, STAFF)] == [request.id]
    assert my_requests(archive, OTHER_STAFF) == []
    assert [r.id for r in pending_requests(archive, policy, DIRECTOR)] == [request.id]

    grant = approve(archive, policy, DIRECTOR, request.id)
    assert grant.request_id == request.id and grant.user == "alice"
    expires = datetime.fromisoformat(grant.expires_at)
    created = datetime.fromisoformat(grant.created_at)
    assert expires - created == timedelta(days=archive.settings.access.default_grant_days)
    [mine] = my_requests(archive, STAFF)
    assert mine.state == "approved" and mine.decided_by == "dora" and mine.decided_at is not None
    assert pending_requests(archive, policy, DIRECTOR) == []

    [asked] = events(archive, "access.request", "ok")
    assert asked.actor == "alice" and asked.record == contract
    [approved] = events(archive, "access.approve", "ok")
    assert json.loads(approved.detail) == {
        "request": request.id, "grant": grant.id, "user": "alice", "purpose": "read", "expires_at": grant.expires_at}

    with pytest.raises(Conflict, match="already approved"):
        approve(archive, policy, DIRECTOR, request.id)
    with pytest.raises(Conflict, match="already approved"):
        deny(archive, policy, DIRECTOR, request.id, "too late")
    with pytest.raises(NotFound):
        approve(archive, policy, DIRECTOR, 9999)


def test_request_for_a_readable_record_is_refused(archive, policy, records):
    with pytest.raises(Conflict, match=f"^you can already read {records['minutes']}; no request needed$"):
        request_access(archive, policy, STAFF, records["minutes"], "why not")
    with pytest.raises(Conflict, match="no request needed"):
        request_access(archive, policy, DIRECTOR, records["contract"], "why not")
    grant_to(archive, policy, STAFF, records["contract"])
    with pytest.raises(Conflict, match="no request needed"):
        request_access(archive, policy, STAFF, records["contract"], "again")
    with archive.catalog.read() as session:
        assert session.query(AccessRequest).count() == 1


def test_amend_request_flow_records_the_purpose(archive, policy, records):
    contract = records["contract"]
    request = request_access(archive, policy, STAFF, contract, "add the signed copy", 2, "amend")
    assert (request.purpose, request.state) == ("amend", "pending")
    assert [r.purpose for r in pending_requests(archive, policy, DIRECTOR)] == ["amend"]
    assert not allows(archive, policy, STAFF, "version", record_name=contract), "not before approval"
    grant = approve(archive, policy, DIRECTOR, request.id)
    assert grant.purpose == "amend" and grant.user == "alice"
    assert allows(archive, policy, STAFF, "version", record_name=contract)
    [asked] = events(archive, "access.request", "ok")
    assert json.loads(asked.detail) == {"request": request.id, "days": 2, "purpose": "amend",
                                        "reason": "add the signed copy"}
    [approved] = events(archive, "access.approve", "ok")
    assert json.loads(approved.detail)["purpose"] == "amend"
    read_request = request_access(archive, policy, OTHER_STAFF, contract, "just reading")
    assert read_request.purpose == "read"
    deny(archive, policy, DIRECTOR, read_request.id, "no")
    [denied] = events(archive, "access.deny", "ok")
    assert json.loads(denied.detail)["purpose"] == "read"


def test_amend_requests_that_cannot_help_are_refused(archive, policy, records):
    contract, minutes = records["contract"], records["minutes"]
    with pytest.raises(UsageError, match="^purpose must be read or amend, not 'write'$"):
        request_access(archive, policy, STAFF, contract, "reason", None, "write")
    for actor in (AUDITOR, ADMIN):
        with pytest.raises(Forbidden, match="may not file versions of contract records; an amend grant cannot"):
            request_access(archive, policy, actor, contract, "let me sign it", None, "amend")
    assert [e.actor for e in events(archive, "access.request", "denied")] == ["carl", "ada"]
    with pytest.raises(Conflict, match=f"^you can already file new versions of {minutes}; no request needed$"):
        request_access(archive, policy, STAFF, minutes, "reason", None, "amend")
    with pytest.raises(Conflict, match="no request needed"):
        request_access(archive, policy, DIRECTOR, contract, "reason", None, "amend")
    with archive.catalog.read() as session:
        assert session.query(AccessRequest).count() == 0

    grant_to(archive, policy, STAFF, contract)  # read: asking to amend it as well is the point
    assert request_access(archive, policy, STAFF, contract, "signed copy", None, "amend").purpose == "amend"
    grant_to(archive, policy, OTHER_STAFF, contract, purpose="amend")  # amend includes read
    with pytest.raises(Conflict, match="you can already read"):
        request_access(archive, policy, OTHER_STAFF, contract, "read it")
    with pytest.raises(Conflict, match="you can already file new versions"):
        request_access(archive, policy, OTHER_STAFF, contract, "again", None, "amend")


def test_duplicate_pending_request_is_refused(archive, policy, records):
    first = request_access(archive, policy, STAFF, records["contract"], "one")
    with pytest.raises(Conflict, match="pending request"):
        request_access(archive, policy, STAFF, records["contract"], "two")
    other = request_access(archive, policy, OTHER_STAFF, records["contract"], "mine")  # another user: fine
    second = request_access(archive, policy, STAFF, records["contract2"], "other record")  # another record: fine
    deny(archive, policy, DIRECTOR, first.id, "not now")
    again = request_access(archive, policy, STAFF, records["contract"], "now?")  # none pending any more
    assert len({first.id, other.id, second.id, again.id}) == 4


def test_request_validation(archive, policy, records):
    contract = records["contract"]
    maximum = archive.settings.access.max_grant_days
    for days in (0, -1, maximum + 1, True):
        with pytest.raises(UsageError, match="days"):
            request_access(archive, policy, STAFF, contract, "reason", days)
    for reason in ("", "   "):
        with pytest.raises(UsageError, match="reason"):
            request_access(archive, policy, STAFF, contract, reason)
    with pytest.raises(InvalidName):
        request_access(archive, policy, STAFF, "2026-7-contract", "reason")
    with pytest.raises(NotFound):
        request_access(archive, policy, STAFF, "2026-0099-contract", "reason")
    assert request_access(archive, policy, STAFF, contract, "reason", maximum).days == maximum
    assert request_access(archive, policy, OTHER_STAFF, contract, "reason", 1).days == 1
    assert request_access(archive, policy, ADMIN, contract, "admins may ask").state == "pending"


def test_refused_request_is_audited_as_denied(archive, policy, records):
    stranger = Actor("eve", "intern")
    with pytest.raises(Forbidden, match=r"eve \(intern\) may not request"):
        request_access(archive, policy, stranger, records["contract"], "let me in")
    [denied] = events(archive, "access.request", "denied")
    assert denied.actor == "eve" and denied.record == records["contract"]
    assert events(archive, "access.request", "ok") == []
    with archive.catalog.read() as session:
        assert session.query(AccessRequest).count() == 0


def test_approve_days_bounds_and_override(archive, policy, records):
    request = request_access(archive, policy, STAFF, records["contract"], "reason", 10)
    maximum = archive.settings.access.max_grant_days
    for days in (0, maximum + 1):
        with pytest.raises(UsageError, match="days"):
            approve(archive, policy, DIRECTOR, request.id, days)
    grant = approve(archive, policy, DIRECTOR, request.id, 2)
    expires = datetime.fromisoformat(grant.expires_at)
    created = datetime.fromisoformat(grant.created_at)
    assert expires - created == timedelta(days=2)


def test_nobody_approves_their_own_request(archive, tmp_path, records):
    policy = custom_policy(archive, tmp_path, "p, manager, *, grant")
    mine = request_access(archive, policy, MANAGER, records["contract"], "for the board")
    assert policy.allows(None, MANAGER, "grant"), "the custom policy lets managers decide"
    with pytest.raises(Forbidden, match="^nobody approves their own request$"):
        approve(archive, policy, MANAGER, mine.id)
    [denied] = events(archive, "access.approve", "denied")
    assert denied.actor == "mia" and denied.record == records["contract"]
    with archive.catalog.read() as session:
        assert session.get(AccessRequest, mine.id).state == "pending"
        assert session.query(Grant).count() == 0
    grant = approve(archive, policy, Actor("max", "manager"), mine.id)
    assert grant.user == "mia" and grant.granted_by == "max"


def test_deny_records_the_reason(archive, policy, records):
    request = request_access(archive, policy, STAFF, records["contract"], "reason")
    with pytest.raises(UsageError, match="reason"):
        deny(archive, policy, DIRECTOR, request.id, "  ")
    with pytest.raises(Forbidden):
        deny(archive, policy, OTHER_STAFF, request.id, "no")
    denied = deny(archive, policy, DIRECTOR, request.id, "  not needed for your work ")
    assert denied.state == "denied" and denied.decision_reason == "not needed for your work"
    assert denied.decided_by == "dora" and denied.decided_at is not None
    assert not allows(archive, policy, STAFF, "read", record_name=records["contract"])
    [ok] = events(archive, "access.deny", "ok")
    assert '"reason":"not needed for your work"' in ok.detail
    [refused] = events(archive, "access.deny", "denied")
    assert refused.actor == "bob"
    with pytest.raises(Conflict, match="already denied"):
        approve(archive, policy, DIRECTOR, request.id)


def test_deciding_needs_the_grant_right_and_refusals_are_audited(archive, policy, records):
    request = request_access(archive, policy, STAFF, records["contract"], "reason")
    for actor in (MANAGER, AUDITOR, ADMIN, OTHER_STAFF):
        with pytest.raises(Forbidden, match="may not grant"):
            approve(archive, policy, actor, request.id)
        with pytest.raises(Forbidden, match="may not grant"):
            pending_requests(archive, policy, actor)
    with pytest.raises(Forbidden, match="may not grant"):
        approve(archive, policy, STAFF, 9999)
    approvals = events(archive, "access.approve", "denied")
    assert [e.actor for e in approvals] == ["mia", "carl", "ada", "bob", "alice"]
    assert [e.actor for e in events(archive, "access.pending", "denied")] == ["mia", "carl", "ada", "bob"]
    with archive.catalog.read() as session:
        assert session.query(Grant).count() == 0


# -- listing grants --------------------------------------------------------------------------


def test_those_who_decide_see_every_grant_and_others_their_own(archive, policy, records):
    def listed(actor, **kwargs):
        found = access_ops.list_grants(Context(archive, policy, actor), **kwargs)
        return [(g.user, g.record, g.purpose) for g in found]

    assert listed(DIRECTOR) == [] and listed(STAFF) == []
    grant_to(archive, policy, STAFF, records["contract"])
    grant_to(archive, policy, OTHER_STAFF, records["contract2"], purpose="amend")
    ended = grant_to(archive, policy, AUDITOR, records["contract"])
    revoke(archive, policy, DIRECTOR, ended.id)
    everyone = [("alice", records["contract"], "read"), ("bob", records["contract2"], "amend")]
    assert listed(DIRECTOR) == everyone, "the director holds no grant of their own and sees them all"
    assert listed(STAFF) == [everyone[0]] and listed(OTHER_STAFF) == [everyone[1]]
    assert listed(AUDITOR) == [] and listed(ADMIN) == []
    assert len(listed(DIRECTOR, include_inactive=True)) == 3
    assert listed(AUDITOR, include_inactive=True) == [("carl", records["contract"], "read")]
    assert events(archive, outcome="denied") == [], "listing one's own grants is no refusal"


# -- expiry ------------------------------------------------------------------------------------


def test_expire_due_audits_each_grant_once(archive, policy, records):
    short = grant_to(archive, policy, STAFF, records["contract"], days=1)
    long = grant_to(archive, policy, OTHER_STAFF, records["contract"], days=30)
    revoked = grant_to(archive, policy, STAFF, records["contract2"], days=1)
    revoke(archive, policy, DIRECTOR, revoked.id)

    assert expire_due(archive) == []
    later = utcnow() + timedelta(days=2)
    expired = expire_due(archive, later)
    assert [g.id for g in expired] == [short.id] and not expired[0].active
    assert expire_due(archive, later) == []
    [logged] = events(archive, "access.expire")
    assert (logged.actor, logged.source, logged.outcome, logged.record) == (
        "system", "service", "ok", records["contract"])
    assert [g.id for g in list_grants(archive, now=later)] == [long.id]

    much_later = utcnow() + timedelta(days=31)
    assert [g.id for g in expire_due(archive, much_later)] == [long.id]
    assert len(events(archive, "access.expire")) == 2
    assert expire_due(archive, much_later) == []


# -- the catalog -------------------------------------------------------------------------------


def test_migration_0005_makes_existing_requests_and_grants_read_only(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from catalog.database import MIGRATIONS_DIR, Catalog

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    at = "2026-01-05 10:00:00"
    old = create_engine(url)
    with old.connect() as connection:  # a catalog as release 0004 left it, with a request and its grant
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.execute(text(
            "INSERT INTO access_requests (id, record_name, requester, reason, days, state, created_at, decided_by, "
            f"decided_at) VALUES (1, '2026-0001-contract', 'sam', 'loan review', 3, 'approved', '{at}', 'dora', '{at}')"
        ))
        connection.execute(text(
            "INSERT INTO grants (id, user_name, record_name, request_id, granted_by, created_at, expires_at, "
            f"expiry_recorded) VALUES (1, 'sam', '2026-0001-contract', 1, 'dora', '{at}', '2999-01-01 00:00:00', 0)"
        ))
        connection.commit()
    old.dispose()
    catalog = Catalog(url)
    assert catalog.revision() == "0004"
    catalog.migrate()
    assert catalog.revision() == "0005"
    with catalog.read() as session:
        assert session.get(AccessRequest, 1).purpose == "read"
        assert session.get(Grant, 1).purpose == "read"
        assert live_purposes(session, "sam", "2026-0001-contract", utcnow()) == {"read"}
    catalog.dispose()


# -- configuration -----------------------------------------------------------------------------


def test_policy_paths_relative_to_home(archive, policy):
    assert policy.model_path == SHIPPED_MODEL and policy.policy_path == SHIPPED_POLICY
    (archive.settings.home / "my-policy.csv").write_text("p, staff, *, audit\n")
    archive.settings.access.policy_path = "my-policy.csv"
    custom = AccessPolicy.load(archive.settings)
    assert custom.policy_path == archive.settings.home / "my-policy.csv"
    assert custom.allows(None, STAFF, "audit") and not custom.allows(None, STAFF, "list")


MODEL = SHIPPED_MODEL.read_text()


@pytest.mark.parametrize(("model", "policy_text", "message"), [
    (None, "p, staff, *, list\n", "does not exist"),
    (MODEL, None, "does not exist"),
    (MODEL.replace("[matchers]", "[nothing]"), "p, staff, *, list\n", "matchers"),
    (MODEL.replace("r = sub, role, type, obj, act", "r = sub, act"), "p, staff, *, list\n", "request"),
    (MODEL.replace("granted(r.sub, r.obj)", "granted(r.sub, r.obj"), "p, staff, *, list\n", "matcher fails"),
    (MODEL.replace("granted(", "nosuchfunction("), "p, staff, *, read\n", "matcher fails"),
    ("this is not a model", "p, staff, *, list\n", "cannot be loaded"),
    (MODEL, "", "no rules"),
    (MODEL, "# only a comment\n", "no rules"),
    (MODEL, "p, staff, list\n", "wrong size"),
    (MODEL, "p, staff, *, list, extra\n", "wrong size"),
    (MODEL, "p, staff, *, delete\n", "unknown action"),
    (MODEL, "x, staff, *, list\n", "not p or g"),
    (MODEL, "g, manager\n", "cannot be loaded"),
])
def test_broken_model_or_policy_is_a_config_error(archive, tmp_path, model, policy_text, message):
    model_path, policy_path = tmp_path / "model.conf", tmp_path / "policy.csv"
    if model is not None:
        model_path.write_text(model)
    if policy_text is not None:
        policy_path.write_text(policy_text)
    archive.settings.access.model_path = str(model_path)
    archive.settings.access.policy_path = str(policy_path)
    with pytest.raises(ConfigError, match=message) as caught:
        AccessPolicy.load(archive.settings)
    assert "\n" not in str(caught.value)


def test_shipped_files_are_found_without_settings(tmp_path):
    from config.settings import Settings

    policy = AccessPolicy.load(Settings(home=Path(tmp_path)))
    assert policy.allows(None, DIRECTOR, "grant") and not policy.allows(None, STAFF, "grant")


def test_matcher_compiles_only_the_safe_subset_and_falls_back_to_simpleeval(archive, tmp_path, records):
    from access.policy import _CompiledMatcher

    functions = {"g": lambda a, b: a == b, "granted": lambda a, b: False}
    assert _CompiledMatcher.compile('r_act == p_act and g(r_role, p_sub) or not granted(r_sub, r_obj)', functions)
    for unsafe in ("r_sub.__class__", "open('x')", "r_sub[0] == 'a'", "(lambda: 1)()", "1 + 1 == 2",
                   "g(r_sub, p_sub, extra=1)", "__import__('os')"):
        assert _CompiledMatcher.compile(unsafe, functions) is None, unsafe

    model_path = tmp_path / "model.conf"
    model_path.write_text(MODEL.replace("m = r.act == p.act &&", "m = 1 + 1 == 2 && r.act == p.act &&"))
    archive.settings.access.model_path = str(model_path)
    interpreted = AccessPolicy.load(archive.settings)
    assert not isinstance(next(iter(interpreted._enforcer()._expressions.values())), _CompiledMatcher)
    grant_to(archive, interpreted, STAFF, records["contract"])
    with archive.catalog.read() as session:
        for role in ROLES:
            actor = Actor(f"user-{role}", role)
            for record_type in TYPES:
                for action in ACTIONS:
                    assert interpreted.allows(session, actor, action, record_type=record_type) == (
                        action in EXPECTED[role][record_type])
        assert interpreted.allows(session, STAFF, "read", record_name=records["contract"])
        assert not interpreted.allows(session, STAFF, "read", record_name=records["contract2"])
