"""The access policy: a Casbin model and policy (configuration) plus per-record grants (catalog).

Who may do what is configuration: ``access/model.conf`` and ``access/policy.csv`` (or the
files named by ``settings.access.model_path`` / ``policy_path``). A request is
``(user, role, record type, record name, action)``; the matcher combines role rules with
``granted(user, record)``, which looks a live grant (of either purpose) up in the catalog
table ``grants``.

Filing a new version of a named record is one rule more, fixed here rather than left to the
configuration: it needs the role's ``version`` right for the record's type *and* the right to
read that record, which is the role's ``read`` right for the type or a live ``amend`` grant;
a ``read`` grant never lets its holder replace the record (:meth:`AccessPolicy.allows`).

Casbin evaluates the matcher once per policy line, so ``granted`` memoises the grants it
finds for the decision in progress: one decision costs at most one catalog query. The
decision's session and clock travel to ``granted`` through a context variable.

Speed: pycasbin re-parses the matcher on every decision and interprets it with SimpleEval
once per policy line; here the matcher is parsed once per enforcer and, when it only uses
comparisons, boolean logic and calls of the enforcer's functions, compiled to Python
bytecode (``_CompiledMatcher``). ``python -m bench --only enforce`` measures a decision, and
the same decisions on pycasbin's own evaluation in the same run (docs/benchmarks.md).

pycasbin offers no public way to do this: its matcher evaluation is the private
``CoreEnforcer._get_expression``, called by ``enforce_ex`` with the matcher text and the
function map, and ``_Enforcer`` overrides it. The public alternatives were measured
(docs/benchmarks.md, "Access decisions and pycasbin"): pycasbin's own evaluation costs
~5.5x more per decision on the shipped policy (210-223 against 38 µs without the catalog
query; 4x at p50 in ``bench --only enforce``), the matcher moved into one custom function
~3.7x more, and it ties the configurable matcher to code; FastEnforcer's policy filter
needs request and policy fields in the same order, which the request ``(sub, role, type,
obj, act)`` is not; pycasbin has no cached enforcer. So pycasbin is pinned to the version
the override was checked against (``PYCASBIN_CHECKED``, ``pycasbin==`` in pyproject.toml),
and tests/test_library_seams.py fails, saying what to re-check, when another version is
installed, when the compiled matcher is no longer used, or when it decides anything
differently from pycasbin's SimpleEval over the whole policy and a grid of requests.

Thread safety: pycasbin's enforcer is not documented as thread-safe (it rewrites its
function map and role table while enforcing), so every thread gets an enforcer of its own,
built from the model and policy text read once by :meth:`load`. Measured with 4 threads on
CPython and SQLite, one enforcer behind a lock was up to ~15% faster (the GIL serialises the
work either way and a lock convoys less); per-thread enforcers are kept because no decision
then waits for another thread's catalog query, which matters once the catalog is a
database across the network, and no pycasbin internals are shared.
"""

from __future__ import annotations

import ast
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import CodeType
from typing import TYPE_CHECKING, Any

import casbin
from casbin.persist.adapters import StringAdapter

from access.grants import live_purposes
from access.purposes import Purpose
from audit.actor import Actor
from errors import ConfigError, Forbidden
from naming import parse_name

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from config.settings import Settings

ACTIONS = (
    "read", "view", "list", "file", "version", "request", "grant", "audit", "users",
    "retention", "hold", "dispose", "approve-disposal",
)
GRANTABLE_ACTIONS = ("read", "view", "version")  # on a named record, a grant may decide these
ANY_TYPE = "*"
SHIPPED_DIR = Path(__file__).resolve().parent
SHIPPED_MODEL = SHIPPED_DIR / "model.conf"
SHIPPED_POLICY = SHIPPED_DIR / "policy.csv"
REQUEST_TOKENS = 5  # sub, role, type, obj, act
PYCASBIN_CHECKED = "2.8.0"  # the pycasbin whose enforce_ex and _get_expression _Enforcer was checked against


@dataclass
class _Decision:
    """What ``granted`` needs while one decision is being made."""

    session: Session | None
    now: datetime
    purposes: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)


_decision: ContextVar[_Decision | None] = ContextVar("strongroom_access_decision", default=None)


def _grant_purposes(user: object, record: object) -> frozenset[str]:
    """The purposes of ``user``'s live grants on ``record``, memoised for the decision in progress."""
    decision = _decision.get()
    if decision is None or decision.session is None or not isinstance(user, str) or not isinstance(record, str):
        return frozenset()
    if not user or not record:
        return frozenset()
    key = (user, record)
    purposes = decision.purposes.get(key)
    if purposes is None:
        purposes = live_purposes(decision.session, user, record, decision.now)
        decision.purposes[key] = purposes
    return purposes


def _granted(user: object, record: object) -> bool:
    """The matcher's ``granted(r.sub, r.obj)``: a live grant of ``record`` to ``user``, whatever its purpose."""
    return bool(_grant_purposes(user, record))


def _resolve(settings: Settings, configured: str, shipped: Path) -> Path:
    if not configured:
        return shipped
    path = Path(configured).expanduser()
    return path if path.is_absolute() else settings.home / path


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"access {what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"access {what} {path} cannot be read: {type(exc).__name__}") from None


def _policy_lines(text: str) -> list[str]:
    """Non-empty, non-comment lines of a policy file, stripped."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


# CPython 3.11 keeps the recursion depth of its AST converter in interpreter-wide state, so two
# threads parsing or compiling Python AST objects at once can fail with "SystemError: AST
# constructor recursion depth mismatch" (seen under concurrent uploads). Matchers are prepared
# (parsed and compiled) one thread at a time; evaluating them needs no lock.
_AST_LOCK = threading.Lock()

# Matcher syntax compiled to Python bytecode: boolean logic, comparisons, string and number
# constants, names (request/policy fields) and calls of the enforcer's functions by name.
# No attribute access, subscripts, lambdas, comprehensions or builtins can appear in it.
_SAFE_NODES = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare, ast.Eq, ast.NotEq,
    ast.In, ast.NotIn, ast.Call, ast.Name, ast.Load, ast.Constant, ast.Tuple, ast.List,
)


class _CompiledMatcher:
    """A matcher evaluated as compiled Python, ~10x faster than pycasbin's interpreted SimpleEval."""

    def __init__(self, code: CodeType, functions: dict[str, Any]) -> None:
        self._code = code
        self._globals = {"__builtins__": {}, **functions}

    @classmethod
    def compile(cls, expr: str, functions: dict[str, Any]) -> _CompiledMatcher | None:
        """The compiled matcher, or None if it uses anything beyond the safe subset."""
        try:
            tree = ast.parse(expr.strip(), mode="eval")
        except SyntaxError:
            return None
        for node in ast.walk(tree):
            if not isinstance(node, _SAFE_NODES):
                return None
            if isinstance(node, ast.Call) and (
                not isinstance(node.func, ast.Name) or node.func.id not in functions or node.keywords
            ):
                return None
            if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool)):
                return None
        return cls(compile(tree, "<casbin matcher>", "eval"), functions)

    def eval(self, names: dict[str, Any]) -> Any:
        return eval(self._code, self._globals, names)  # the AST was checked in compile()


class _Enforcer(casbin.Enforcer):
    """An enforcer that prepares its matcher once, as compiled Python where it is safe to.

    pycasbin builds a new SimpleEval (``ast.parse`` plus a tree-walking interpreter) on every
    ``enforce`` and runs it once per policy line; this keeps the prepared matcher per
    expression. A matcher outside the safe subset keeps pycasbin's SimpleEval, parsed once;
    a SimpleEval keeps the names of the line being evaluated on itself, so it must not be
    shared between threads — each thread has an enforcer of its own (see AccessPolicy).
    The function map of the first decision is kept with the matcher: an AccessPolicy's
    enforcer never changes its functions, policy or role manager after it is built.

    This overrides pycasbin's private ``_get_expression`` (pinned version: see the module
    docstring); pycasbin's own static version still does the matcher's rewrite (``&&``,
    ``||``, ``!``) and checks, so the compiled text is exactly what SimpleEval would run.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._expressions: dict[str, Any] = {}
        super().__init__(*args, **kwargs)

    def _get_expression(self, expr, functions=None):  # type: ignore[no-untyped-def, override]
        expression = self._expressions.get(expr)
        if expression is None:
            functions = dict(functions or {})
            with _AST_LOCK:
                prepared = casbin.Enforcer._get_expression(expr, functions)  # pycasbin's rewrite and checks
                expression = _CompiledMatcher.compile(getattr(prepared, "expr", ""), functions) or prepared
            self._expressions[expr] = expression
        return expression


class AccessPolicy:
    """Decides whether an actor may do an action, optionally on one record or record type.

    Share one instance between threads freely; each thread uses an enforcer of its own.
    """

    _ENFORCER: type[casbin.Enforcer] = _Enforcer  # bench/enforce.py puts casbin.Enforcer here to compare

    def __init__(self, model_text: str, policy_text: str, *, model_path: Path, policy_path: Path) -> None:
        self.model_path = model_path
        self.policy_path = policy_path
        self._model_text = model_text
        self._policy_text = "\n".join(_policy_lines(policy_text))
        self._local = threading.local()
        self._check()

    @classmethod
    def load(cls, settings: Settings) -> AccessPolicy:
        """The policy configured for ``settings``; ConfigError if a file is missing or invalid."""
        model_path = _resolve(settings, settings.access.model_path, SHIPPED_MODEL)
        policy_path = _resolve(settings, settings.access.policy_path, SHIPPED_POLICY)
        return cls(
            _read(model_path, "model"), _read(policy_path, "policy"), model_path=model_path, policy_path=policy_path
        )

    # -- building and checking enforcers -------------------------------------------------

    def _build(self) -> casbin.Enforcer:
        model = casbin.Enforcer.new_model(text=self._model_text)
        enforcer = self._ENFORCER(model, StringAdapter(self._policy_text) if self._policy_text else None)
        enforcer.add_function("granted", _granted)
        return enforcer

    def _enforcer(self) -> casbin.Enforcer:
        enforcer = getattr(self._local, "enforcer", None)
        if enforcer is None:
            enforcer = self._build()
            self._local.enforcer = enforcer
        return enforcer

    def _check(self) -> None:
        """Fail at load time, with one line, for anything that would fail or mislead at decision time."""
        where = f"access model {self.model_path} / policy {self.policy_path}"
        try:
            enforcer = self._build()
        except Exception as exc:  # noqa: BLE001 - pycasbin raises anything for a malformed file
            raise ConfigError(f"{where}: cannot be loaded ({type(exc).__name__}: {_first_line(exc)})") from None
        model = enforcer.get_model()  # a mapping of sections to assertions (key, value, tokens, policy)
        for section, name in (("r", "request_definition"), ("p", "policy_definition"),
                              ("e", "policy_effect"), ("m", "matchers")):
            if section not in model.keys() or section not in model[section]:
                raise ConfigError(f"access model {self.model_path}: [{name}] is missing")
        if len(model["r"]["r"].tokens) != REQUEST_TOKENS:
            raise ConfigError(f"access model {self.model_path}: the request must be 'r = sub, role, type, obj, act'")
        if not self._policy_text:
            raise ConfigError(f"access policy {self.policy_path} has no rules")
        known = {key for section in ("p", "g") for key in (model[section] or {})}
        act_index = model.get_field_index("p", "act")
        for number, line in enumerate(_policy_lines(self._policy_text), start=1):
            tokens = [token.strip() for token in line.split(",")]
            key = tokens[0]
            if key not in known:
                raise ConfigError(f"access policy {self.policy_path}: rule {number} ({line!r}) is not p or g")
            assertion = model[key[0]][key]
            if len(tokens) - 1 != len(assertion.tokens) or not all(tokens[1:]):
                raise ConfigError(f"access policy {self.policy_path}: rule {number} ({line!r}) has the wrong size")
            if key == "p" and act_index >= 0 and tokens[1 + act_index] not in ACTIONS:
                raise ConfigError(
                    f"access policy {self.policy_path}: rule {number} ({line!r}) names an unknown action"
                )
        token = _decision.set(_Decision(session=None, now=datetime.now(UTC)))  # no session: no grants
        try:
            for action in ACTIONS:
                enforcer.enforce("probe", "probe", ANY_TYPE, "2000-0001-probe", action)
        except Exception as exc:  # noqa: BLE001 - a matcher error surfaces on the first decision
            raise ConfigError(f"{where}: the matcher fails ({type(exc).__name__}: {_first_line(exc)})") from None
        finally:
            _decision.reset(token)
        self._local.enforcer = enforcer

    # -- decisions -----------------------------------------------------------------------

    def allows(
        self,
        session: Session | None,
        actor: Actor,
        action: str,
        *,
        record_type: str | None = None,
        record_name: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Whether ``actor`` may do ``action`` (on ``record_name`` / ``record_type`` if given).

        ``record_type`` defaults to the type in ``record_name``; with neither, only rules for
        every type ("*") apply. ``session`` is only used to look up a grant (read, view or
        version of a named record) and may be None otherwise. The bootstrap actor may do anything.

        ``version`` of a named record: the role's ``version`` right for its type, and either the
        role's ``read`` right for the type or a live ``amend`` grant on the record. Without a
        record name, ``version`` is the type's right alone (may file versions of the records of
        that type one may read).
        """
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        if actor.is_bootstrap:
            return True
        if session is None and record_name and action in GRANTABLE_ACTIONS:
            raise ValueError(f"deciding whether to {action} a named record needs a catalog session (grants)")
        if record_name is not None:
            name_type = parse_name(record_name).type
            if record_type is not None and record_type != name_type:
                raise ValueError(f"record {record_name} is not of type {record_type}")
            record_type = name_type
        moment = now if now is not None else datetime.now(UTC)
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        token = _decision.set(_Decision(session=session, now=moment))
        try:
            if action == "version" and record_name:
                return self._may_version(actor, record_type, record_name)
            return self._enforce(actor, action, record_type, record_name or "")
        finally:
            _decision.reset(token)

    def _enforce(self, actor: Actor, action: str, record_type: str | None, record_name: str) -> bool:
        """The model's answer; an empty ``record_name`` leaves grants out of it."""
        return bool(self._enforcer().enforce(actor.name, actor.role, record_type or ANY_TYPE, record_name, action))

    def _may_version(self, actor: Actor, record_type: str | None, record_name: str) -> bool:
        """A new version of one record: the type's ``version`` right and the right to read the record.

        The right to read counts here only as the role's ``read`` for the type or an ``amend``
        grant: a ``read`` grant is read-only.
        """
        if not self._enforce(actor, "version", record_type, ""):
            return False
        if self._enforce(actor, "read", record_type, ""):
            return True
        return Purpose.AMEND in _grant_purposes(actor.name, record_name)

    def require(
        self,
        session: Session | None,
        actor: Actor,
        action: str,
        *,
        record_type: str | None = None,
        record_name: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Raise Forbidden unless :meth:`allows`; the caller audits the refusal."""
        if self.allows(session, actor, action, record_type=record_type, record_name=record_name, now=now):
            return
        refusal = f"{actor.name} ({actor.role}) may not {action} {record_name or record_type or ''}".strip()
        if action == "version" and record_name and self.allows(
            session, actor, action, record_type=parse_name(record_name).type, now=now
        ):
            refusal += ": a new version needs the right to read the record, or an amend grant"
        raise Forbidden(refusal)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no detail"
