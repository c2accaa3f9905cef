"""Count the imports that run back up a layer and the import loops, by the layers in pyproject.toml.

The layers are the import-linter contract of type ``layers`` in ``[tool.importlinter]`` (the
one ``make lint`` checks), plus ``cli`` (the ``cli.py`` module) on top. Every import statement
counts, at module level or inside a function, ``TYPE_CHECKING`` ones included, as import-linter
counts them. An import runs back up when a package imports one on a higher layer, or an
independent sibling (``a | b``) on its own layer.

    python tools/import_layers.py               # this checkout
    python tools/import_layers.py --root DIR    # another checkout (e.g. main), by this contract

Exit status 0 always: this measures, ``lint-imports`` decides.
"""

from __future__ import annotations

import argparse
import ast
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OUTSIDE = {"tests", "bench", "tools", "docs", "examples", "build"}
HERE = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int


def layers(pyproject: Path) -> tuple[dict[str, int], set[frozenset[str]]]:
    """Each package's layer (0 = top) and the groups of independent siblings."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    level = {"cli": 0}
    independent: set[frozenset[str]] = set()
    for index, layer in enumerate(contract["layers"], start=1):
        names = [name.strip() for name in re.split(r"[|:]", layer)]
        for name in names:
            level[name] = index
        if "|" in layer:
            independent.add(frozenset(names))
    return level, independent


def ignore_imports(pyproject: Path) -> set[tuple[str, str]]:
    """The (importer, imported) pairs the contracts allow, each with its reason in pyproject.toml."""
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]
    pairs = set()
    for contract in config["contracts"]:
        for line in contract.get("ignore_imports", []):
            importer, _, imported = line.partition("->")
            pairs.add((importer.strip(), imported.strip()))
    return pairs


def modules(root: Path) -> dict[str, Path]:
    """Every module of the project's top-level packages, and ``cli``."""
    found = {"cli": root / "cli.py"} if (root / "cli.py").exists() else {}
    for package in sorted(p for p in root.iterdir() if (p / "__init__.py").exists() and p.name not in OUTSIDE):
        for path in package.rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """The project modules ``name`` imports, one per imported module per statement."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, base] if base else parent)
            targets = {f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names}
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield Import(name, target, node.lineno)


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            step = next(edges, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph.get(step, ())))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


@dataclass
class Measure:
    modules: int
    imports: int
    upward: list[Import]
    module_loops: list[list[str]]
    package_loops: list[list[str]]
    unlayered: list[str]


def measure(root: Path, pyproject: Path, *, ignored: bool = False) -> Measure:
    """The imports of the checkout at ``root`` against the layers in ``pyproject``.

    With ``ignored``, the imports the contracts' ``ignore_imports`` allow (each with its reason
    there) are left out, as ``lint-imports`` leaves them out.
    """
    level, independent = layers(pyproject)
    known = modules(root.resolve())
    found = [imp for name, path in sorted(known.items()) for imp in imports(name, path, known)]
    if ignored:
        allowed = ignore_imports(pyproject)
        found = [imp for imp in found if (imp.importer, imp.imported) not in allowed]

    def top(module: str) -> str:
        return module.split(".")[0]

    upward = []
    for imp in found:
        a, b = top(imp.importer), top(imp.imported)
        if a == b or a not in level or b not in level:
            continue
        if level[b] < level[a] or (level[b] == level[a] and any({a, b} <= group for group in independent)):
            upward.append(imp)
    module_graph: dict[str, set[str]] = defaultdict(set)
    package_graph: dict[str, set[str]] = defaultdict(set)
    for imp in found:
        module_graph[imp.importer].add(imp.imported)
        if top(imp.importer) != top(imp.imported):
            package_graph[top(imp.importer)].add(top(imp.imported))
    return Measure(
        modules=len(known), imports=len(found), upward=sorted(upward, key=lambda i: (i.importer, i.line)),
        module_loops=loops(module_graph), package_loops=loops(package_graph),
        unlayered=sorted({top(m) for m in known} - set(level)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout to measure (default: this one)")
    parser.add_argument("--pyproject", type=Path, default=HERE / "pyproject.toml",
                        help="where the layers are (default: this checkout's pyproject.toml)")
    args = parser.parse_args()
    found = measure(args.root, args.pyproject)
    print(f"{found.modules} modules, {found.imports} imports between them")
    if found.unlayered:
        print(f"packages on no layer: {', '.join(found.unlayered)}")
    pairs = {(imp.importer, imp.imported) for imp in found.upward}
    print(f"imports that run back up a layer: {len(found.upward)} ({len(pairs)} module pairs)")
    for imp in found.upward:
        print(f"  {imp.importer}:{imp.line} -> {imp.imported}")
    print(f"import loops between modules: {len(found.module_loops)}")
    for component in found.module_loops:
        print(f"  {' <-> '.join(component)}")
    print(f"import loops between packages: {len(found.package_loops)}")
    for component in found.package_loops:
        print(f"  {' <-> '.join(component)}")


if __name__ == "__main__":
    main()
