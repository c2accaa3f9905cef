"""The layers hold: no import runs back up a layer and no modules import each other in a loop.

The layers are the import-linter contract in pyproject.toml (``make lint`` checks it with
``lint-imports``, before the suite); ``tools/import_layers.py`` measures the same layers and
also covers ``cli.py``, which import-linter cannot take as a root. These tests fail when someone
adds an upward import or a loop, even when only pytest is run.
"""

from __future__ import annotations

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
