"""Access decisions: ``AccessPolicy.allows`` latency with 10,000 live grants in the catalog.

Catalog only (no S3): a fresh SQLite catalog in the scratch directory gets 10,000 active
grants plus expired and revoked ones, then a shuffled, realistic mix of decisions is timed
one by one — allowed by role, allowed by a grant, refused, refused because the grant
expired or was revoked — first on one long-lived read session, then opening a new read
session per decision (as an HTTP request would). Every answer is checked, so a fast wrong
policy cannot pass. For comparison, the long-session run is repeated on pycasbin's own
matcher evaluation (SimpleEval, no compiled matcher: the public API alone). Last, the same
mix runs on several threads sharing one AccessPolicy, with its per-thread enforcers and,
for comparison, with one enforcer behind a lock.
"""

from __future__ import annotations

import math
import random
import threading
import time
from datetime import timedelta
from pathlib import Path

import casbin
from sqlalchemy import insert

from access.policy import AccessPolicy
from archive.service import utcnow
from audit.actor import Actor
from bench.common import BenchResult, Limit
from bench.env import Env
from catalog.database import Catalog
from catalog.schema import Grant
from config.settings import Settings

TARGET_P99_US = 1000.0
THREADS = 4
SEED = 20260007

Case = tuple[Actor, str, str | None, str | None, bool]  # actor, action, record type, record name, expected


def _contract(number: int) -> str:
    return f"2026-{number:04d}-contract"


def _populate(catalog: Catalog, users: int, grants_per_user: int, contracts: int, rng: random.Random) -> dict:
    """Active grants (``users * grants_per_user``), plus 20% as many expired and 5% revoked ones."""
    now = utcnow()
    active: dict[str, list[str]] = {}
    ended: dict[str, list[str]] = {}
    rows: list[dict[str, object]] = []

    def row(user: str, name: str, created_days_ago: int, expires_in_days: int, **extra: object) -> None:
        rows.append({"user_name": user, "record_name": name, "granted_by": "dora", "expiry_recorded": False,
                     "created_at": now - timedelta(days=created_days_ago),
                     "expires_at": now + timedelta(days=expires_in_days), **extra})

    for u in range(users):
        user = f"u{u:04d}"
        picked = rng.sample(range(1, contracts + 1), grants_per_user + 2)
        active[user] = [_contract(n) for n in picked[:grants_per_user]]
        for name in active[user]:
            row(user, name, 1, rng.randint(1, 90))
        expired_name, revoked_name = (_contract(n) for n in picked[grants_per_user:])
        if u % 5 == 0:
            row(user, expired_name, 10, -rng.randint(1, 9), expiry_recorded=u % 10 == 0)
            ended.setdefault(user, []).append(expired_name)
        if u % 20 == 1:
            row(user, revoked_name, 2, 5, revoked_at=now - timedelta(days=1), revoked_by="dora")
            ended.setdefault(user, []).append(revoked_name)
    with catalog.write() as session:
        for start in range(0, len(rows), 5000):
            session.execute(insert(Grant), rows[start:start + 5000])
    return {"active": active, "ended": ended, "rows": len(rows)}


def _cases(data: dict, contracts: int, count: int, rng: random.Random) -> list[Case]:
    """``count`` decisions: 30% role-allowed, 25% granted, 30% refused, 15% expired/revoked grant."""
    active, ended = data["active"], data["ended"]
    users = sorted(active)
    ended_users = sorted(ended)
    director, auditor, admin = Actor("dora", "director"), Actor("carl", "auditor"), Actor("ada", "admin")
    out: list[Case] = []
    for i in range(count):
        kind = i % 20
        user = rng.choice(users)
        staff = Actor(user, rng.choice(("staff", "manager")))
        if kind < 6:  # allowed by role
            out.append(rng.choice([
                (director, "read", None, _contract(rng.randint(1, contracts)), True),
                (staff, "read", None, f"2026-{rng.randint(1, 9999):04d}-minutes", True),
                (auditor, "view", None, f"2026-{rng.randint(1, 9999):04d}-report", True),
                (staff, "file", "contract", None, True),
                (staff, "list", None, None, True),
                (director, "grant", None, None, True),
            ]))
        elif kind < 11:  # allowed by a grant
            out.append((staff, rng.choice(("read", "view")), None, rng.choice(active[user]), True))
        elif kind < 17:  # refused
            held = set(active[user])
            other = next(name for name in (_contract(rng.randint(1, contracts)) for _ in range(100)) if name not in held)
            out.append(rng.choice([
                (staff, "read", None, other, False),
                (admin, "read", None, f"2026-{rng.randint(1, 9999):04d}-minutes", False),
                (auditor, "view", None, other, False),
                (staff, "grant", None, None, False),
                (staff, "audit", None, None, False),
            ]))
        else:  # the grant expired or was revoked
            owner = rng.choice(ended_users)
            out.append((Actor(owner, "staff"), "read", None, rng.choice(ended[owner]), False))
    rng.shuffle(out)
    return out


def _percentile(sorted_us: list[float], fraction: float) -> float:
    return sorted_us[max(0, math.ceil(fraction * len(sorted_us)) - 1)]


def _summary(samples_ns: list[int]) -> dict[str, float]:
    us = sorted(sample / 1000 for sample in samples_ns)
    return {"decisions": len(us), "p50_us": _percentile(us, 0.50), "p99_us": _percentile(us, 0.99),
            "max_us": us[-1], "mean_us": sum(us) / len(us)}


def _time_long_session(catalog: Catalog, policy: AccessPolicy, cases: list[Case]) -> list[int]:
    samples = []
    with catalog.read() as session:
        for actor, action, record_type, name, expected in cases:
            start = time.perf_counter_ns()
            answer = policy.allows(session, actor, action, record_type=record_type, record_name=name)
            samples.append(time.perf_counter_ns() - start)
            if answer is not expected:
                raise RuntimeError(f"wrong decision: {actor} {action} {record_type or name}: {answer}")
    return samples


def _time_session_each(catalog: Catalog, policy: AccessPolicy, cases: list[Case]) -> list[int]:
    samples = []
    for actor, action, record_type, name, expected in cases:
        start = time.perf_counter_ns()
        with catalog.read() as session:
            answer = policy.allows(session, actor, action, record_type=record_type, record_name=name)
        samples.append(time.perf_counter_ns() - start)
        if answer is not expected:
            raise RuntimeError(f"wrong decision: {actor} {action} {record_type or name}: {answer}")
    return samples


class _PycasbinPolicy(AccessPolicy):
    """For comparison only: the same model and policy on pycasbin's own matcher evaluation."""

    _ENFORCER = casbin.Enforcer


class _LockedPolicy(AccessPolicy):
    """For comparison only: one enforcer shared by every thread, behind a lock."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._shared = self._build()
        self._lock = threading.Lock()

    def _enforcer(self):  # type: ignore[no-untyped-def]
        return self._shared

    def allows(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self._lock:
            return super().allows(*args, **kwargs)


def _threaded(catalog: Catalog, policy: AccessPolicy, cases: list[Case]) -> dict[str, float]:
    """Decisions per second and latency with THREADS threads, a new session per decision."""
    chunks = [cases[i::THREADS] for i in range(THREADS)]
    results: list[list[int]] = [[] for _ in range(THREADS)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            results[index] = _time_session_each(catalog, policy, chunks[index])
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    summary = _summary([sample for chunk in results for sample in chunk])
    return {**summary, "threads": THREADS, "decisions_per_s": len(cases) / seconds}


def run(env: Env, quick: bool) -> BenchResult:
    rng = random.Random(SEED)
    users, per_user, contracts = (200, 10, 2000) if quick else (1000, 10, 9000)
    decisions = 2_000 if quick else 20_000
    home = Path(env.files) / "enforce-home"
    (home / "run").mkdir(parents=True)
    settings = Settings(home=home)
    catalog = Catalog(settings.catalog_url, settings.run_dir / "catalog.lock")
    try:
        catalog.migrate()
        data = _populate(catalog, users, per_user, contracts, rng)
        cases = _cases(data, contracts, decisions, rng)
        policy = AccessPolicy.load(settings)
        _time_session_each(catalog, policy, cases[:500])  # warm-up: enforcer, statement cache, pages
        long_session = _summary(_time_long_session(catalog, policy, cases))
        pycasbin_policy = _PycasbinPolicy(policy._model_text, policy._policy_text,
                                          model_path=policy.model_path, policy_path=policy.policy_path)
        _time_long_session(catalog, pycasbin_policy, cases[:500])  # warm-up
        pycasbin_long = _summary(_time_long_session(catalog, pycasbin_policy, cases))
        session_each = _summary(_time_session_each(catalog, policy, cases))
        per_thread = _threaded(catalog, policy, cases)
        locked_policy = _LockedPolicy(policy._model_text, policy._policy_text,
                                      model_path=policy.model_path, policy_path=policy.policy_path)
        locked = _threaded(catalog, locked_policy, cases)
    finally:
        catalog.dispose()
    for label, summary in (("one long-lived session", long_session), ("new read session per decision", session_each)):
        verdict = "PASS" if summary["p99_us"] < TARGET_P99_US else "FAIL"
        print(f"  enforce, {label}: p50 {summary['p50_us']:.0f} µs, p99 {summary['p99_us']:.0f} µs, "
              f"max {summary['max_us']:.0f} µs  {verdict} (p99 < {TARGET_P99_US:.0f} µs)")
    print(f"  enforce, one long-lived session, pycasbin's own matcher evaluation: "
          f"p50 {pycasbin_long['p50_us']:.0f} µs, p99 {pycasbin_long['p99_us']:.0f} µs, "
          f"max {pycasbin_long['max_us']:.0f} µs (compiled matcher "
          f"{pycasbin_long['p50_us'] / long_session['p50_us']:.1f}x faster at p50, "
          f"{pycasbin_long['mean_us'] / long_session['mean_us']:.1f}x in the mean)")
    for label, summary in (("per-thread enforcers", per_thread), ("one enforcer behind a lock", locked)):
        print(f"  enforce, {THREADS} threads, {label}: {summary['decisions_per_s']:.0f} decisions/s, "
              f"p50 {summary['p50_us']:.0f} µs, p99 {summary['p99_us']:.0f} µs (includes waiting for the GIL)")
    active = sum(len(names) for names in data["active"].values())
    return BenchResult(
        name="enforce",
        params={"active_grants": active, "grant_rows": data["rows"], "decisions": decisions,
                "mix": "30% role-allowed, 25% granted, 30% refused, 15% expired/revoked grant"},
        figures=[
            Limit("p99 decision, one long-lived session", "µs", long_session["p99_us"], TARGET_P99_US),
            Limit("p99 decision, new read session each", "µs", session_each["p99_us"], TARGET_P99_US),
        ],
        details={"long_session": long_session, "long_session_pycasbin_matcher": pycasbin_long,
                 "session_each": session_each,
                 "threads_per_thread_enforcer": per_thread, "threads_locked_enforcer": locked},
    )

