"""Where Strongroom leans on a library's private parts, and the tests that fail when they move.

pycasbin: ``access/policy.py``'s ``_Enforcer`` overrides the private
``CoreEnforcer._get_expression`` to compile the matcher once (no public seam is as fast:
see docs/benchmarks.md). pycasbin is pinned to the version that override was checked
against, and these tests fail, saying what to re-check, when another version is installed,
when the compiled matcher is no longer used, or when it decides anything differently from
pycasbin's own SimpleEval. Whoosh: the index storage uses only public storage methods.
"""

from __future__ import annotations

import itertools
import os
import stat
import tomllib
from importlib.metadata import version
from pathlib import Path

import casbin
from casbin.persist.adapters import StringAdapter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.policy import (
    ACTIONS,
    ANY_TYPE,
    PYCASBIN_CHECKED,
    SHIPPED_MODEL,
    SHIPPED_POLICY,
    AccessPolicy,
    _CompiledMatcher,
    _Enforcer,
    _policy_lines,
)
from audit.actor import Actor

ROOT = Path(__file__).resolve().parent.parent
RECHECK = (
    "access/policy.py's _Enforcer overrides pycasbin's private CoreEnforcer._get_expression and was checked "
    f"against pycasbin {PYCASBIN_CHECKED}. Before changing the pin, re-check in the new casbin/core_enforcer.py "
    "that enforce_ex still calls self._get_expression(matcher text, function map) once per decision (or per "
    "policy line with eval()) and only calls .eval(names) on the result, that the static _get_expression still "
    "rewrites &&, || and ! and returns a SimpleEval with .expr, and that the function map does not change "
    "between decisions; then run tests/test_library_seams.py and `python -m bench --only enforce`, and update "
    "PYCASBIN_CHECKED, the pin in pyproject.toml and docs/benchmarks.md"
)

MODEL_TEXT = SHIPPED_MODEL.read_text()
POLICY_TEXT = "\n".join(_policy_lines(SHIPPED_POLICY.read_text()))
GRANTED = ("sam", "2026-0001-contract")


def _granted(user: object, record: object) -> bool:
    return (user, record) == GRANTED


def _enforcer(cls: type[casbin.Enforcer], model_text: str) -> casbin.Enforcer:
    enforcer = cls(casbin.Enforcer.new_model(text=model_text), StringAdapter(POLICY_TEXT))
    enforcer.add_function("granted", _granted)
    return enforcer


def _requests(subs, roles, types, objects, actions) -> list[tuple[str, ...]]:
    return [(sub, role, type_, obj, act)
            for sub, role, type_, obj, act in itertools.product(subs, roles, types, objects, actions)]


def _policy_names() -> tuple[list[str], list[str]]:
    """Every role and record type the shipped policy names."""
    roles, types = set(), set()
    for line in _policy_lines(SHIPPED_POLICY.read_text()):
        key, *fields = (field.strip() for field in line.split(","))
        if key == "p":
            roles.add(fields[0])
            types.add(fields[1])
        else:
            roles.update(fields)
    return sorted(roles), sorted(types)


ROLES, TYPES = _policy_names()
SUBS = ("sam", "nobody")
OBJECTS = ("", GRANTED[1], "2026-0002-contract")
GRID = _requests(SUBS, [*ROLES, "stranger"], [*TYPES, ANY_TYPE, "unlisted"], OBJECTS, ACTIONS)


def _differences(model_text: str, requests: list[tuple[str, ...]]) -> list[str]:
    """The requests on which the compiled matcher and pycasbin's SimpleEval disagree (answer or rule)."""
    compiled, interpreted = _enforcer(_Enforcer, model_text), _enforcer(casbin.Enforcer, model_text)
    out = []
    for request in requests:
        ours, theirs = compiled.enforce_ex(*request), interpreted.enforce_ex(*request)
        if (ours[0], list(ours[1])) != (theirs[0], list(theirs[1])):
            out.append(f"{request}: compiled {ours}, pycasbin {theirs}")
    expressions = list(compiled._expressions.values())
    assert expressions and all(isinstance(expression, _CompiledMatcher) for expression in expressions), (
        f"the matcher was not compiled, so nothing was compared. {RECHECK}")
    return out


def test_pycasbin_is_the_pinned_version_the_matcher_override_was_checked_against() -> None:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [spec for spec in dependencies if spec.replace("-", "_").lower().startswith("pycasbin")]
    assert pins == [f"pycasbin=={PYCASBIN_CHECKED}"], f"pyproject.toml pins {pins}. {RECHECK}"
    installed = version("pycasbin")
    assert installed == PYCASBIN_CHECKED, f"pycasbin {installed} is installed. {RECHECK}"


def test_decisions_use_the_compiled_matcher() -> None:
    """If pycasbin stops calling _get_expression, or its result has no .expr, decisions silently
    fall back to SimpleEval: right, but ~5x slower."""
    policy = AccessPolicy(MODEL_TEXT, SHIPPED_POLICY.read_text(), model_path=SHIPPED_MODEL, policy_path=SHIPPED_POLICY)
    assert policy.allows(None, Actor("sam", "staff"), "list")
    expressions = list(policy._enforcer()._expressions.values())
    assert expressions and all(isinstance(e, _CompiledMatcher) for e in expressions), (
        f"decisions no longer use the compiled matcher ({expressions}). {RECHECK}")


def test_compiled_and_pycasbin_matchers_decide_alike_over_the_whole_policy() -> None:
    """Every role and type of the shipped policy (and unknown ones), every action, with and
    without a record, granted or not: the same answer and the same explaining rule."""
    assert len(GRID) > 2000
    differences = _differences(MODEL_TEXT, GRID)
    assert differences == [], f"{len(differences)} decisions differ, e.g. {differences[:3]}. {RECHECK}"


ATOMS = (
    "r.act == p.act", "r.type == p.type", 'p.type == "*"', "r.role == p.sub", "r.sub == p.sub",
    'r.obj != ""', "g(r.role, p.sub)", "g(r.sub, p.sub)", "granted(r.sub, r.obj)", 'r.act == "read"',
    'r.act in ("read", "view")', 'keyMatch(r.obj, "2026-*")', 'p.act != "list"', "r.type != p.type",
)
MATCHERS = st.recursive(
    st.sampled_from(ATOMS),
    lambda inner: st.one_of(
        st.tuples(inner, inner).map(lambda pair: f"{pair[0]} && {pair[1]}"),
        st.tuples(inner, inner).map(lambda pair: f"{pair[0]} || {pair[1]}"),
        inner.map(lambda expr: f"({expr})"),
        inner.map(lambda expr: f"!({expr})"),
    ),
    max_leaves=8,
)
SMALL_GRID = _requests(SUBS, ["staff", "manager", "auditor", "stranger"], ["minutes", "contract", ANY_TYPE],
                       OBJECTS, ["read", "view", "list", "file", "grant"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MATCHERS)
def test_compiled_and_pycasbin_matchers_decide_alike_for_any_matcher(matcher: str) -> None:
    """Operator precedence, ``!``, ``in``, builtin and custom functions: the compiled matcher is
    pycasbin's rewritten text run as Python, so it must agree with SimpleEval everywhere."""
    model_text = MODEL_TEXT.replace(MODEL_TEXT.split("\nm = ", 1)[1].split("\n", 1)[0], matcher)
    assert f"m = {matcher}\n" in model_text
    differences = _differences(model_text, SMALL_GRID)
    assert differences == [], f"m = {matcher}: {len(differences)} differ, e.g. {differences[:3]}. {RECHECK}"


# -- Whoosh ------------------------------------------------------------------------------------


def test_index_storage_relies_on_no_private_whoosh_attribute(tmp_path, monkeypatch) -> None:
    """The private storage once built its paths with FileStorage's private ``_fpath``."""
    from whoosh.filedb.filestore import FileStorage

    from search.index import _PrivateStorage

    monkeypatch.delattr(FileStorage, "_fpath")
    directory = tmp_path / "index"
    directory.mkdir(mode=0o700)
    storage = _PrivateStorage(directory)
    with storage.create_file("segment.seg") as handle:
        handle.write(b"data")
    assert (directory / "segment.seg").read_bytes() == b"data"
    lock = storage.lock("MAIN_WRITELOCK")
    assert lock.acquire()
    lock.release()
    temporary = storage.temp_storage("merge.tmp")
    temporary.create_file("part").close()
    modes = {path.name: stat.S_IMODE(os.stat(path).st_mode) for path in directory.rglob("*")}
    assert modes == {"segment.seg": 0o600, "MAIN_WRITELOCK": 0o600, "merge.tmp": 0o700, "part": 0o600}
