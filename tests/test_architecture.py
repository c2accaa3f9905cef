"""The shape of the house: the layers hold, no import loops, no module-level registries.

No import runs back up a layer and no modules import each other in a loop.
The layers are the import-linter contract in pyproject.toml (``make lint`` checks it with
``lint-imports``, before the suite); ``tools/import_layers.py`` measures the same layers and
also covers ``cli.py``, which import-linter cannot take as a root. These tests fail when someone
adds an upward import or a loop, even when only pytest is run.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_layers", ROOT / "tools" / "import_layers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


layers = _tool()


def test_no_import_runs_back_up_a_layer() -> None:
    found = layers.measure(ROOT, PYPROJECT)
    assert found.unlayered == []
    assert [f"{imp.importer}:{imp.line} -> {imp.imported}" for imp in found.upward] == []


def test_no_import_loop_but_the_ones_the_contract_names() -> None:
    assert layers.measure(ROOT, PYPROJECT, ignored=True).module_loops == []


def test_an_upward_import_and_a_loop_are_found(tmp_path: Path) -> None:
    """The checks above could not pass by finding nothing: a ground package importing a page is caught."""
    for package, text in {
        "errors": "",
        "storage": "from web import pages\n",
        "web": "",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(text)
    (tmp_path / "web" / "pages.py").write_text("from web import session\n")
    (tmp_path / "web" / "session.py").write_text("from web.pages import pages\n")
    found = layers.measure(tmp_path, PYPROJECT)
    assert [(imp.importer, imp.imported) for imp in found.upward] == [("storage", "web.pages")]
    assert found.module_loops == [["web.pages", "web.session"]]


REGISTRIES = {"WeakKeyDictionary", "WeakValueDictionary", "WeakSet"}


def _module_state(path: Path) -> list[str]:
    """Module-level weak maps (state keyed by objects) and writes to the process environment."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Call):
            called = value.func.attr if isinstance(value.func, ast.Attribute) else getattr(value.func, "id", "")
            if called in REGISTRIES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {called}")
    for assign in ast.walk(tree):
        targets = assign.targets if isinstance(assign, ast.Assign) else []
        for target in targets:
            if isinstance(target, ast.Subscript) and ast.unparse(target.value) == "os.environ":
                found.append(f"{path.relative_to(ROOT)}:{target.lineno} os.environ[...] =")
    return found


def test_no_module_level_registries_or_environment_globals() -> None:
    """What belongs to one open archive is kept by it (Archive.part, ObjectStore.lock_probe); what belongs
    to one command is its State, reached through click's context, never a module-level map or a variable
    of the process environment."""
    found = [hit for path in layers.modules(ROOT).values() for hit in _module_state(path)]
    assert found == []
