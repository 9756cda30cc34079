"""The shape of the code a newcomer reads: no import cycles in ``viewer/`` (function-level imports included), modules
under 600 lines and functions under 80 outside the trajectory phase modules, a small ``MissionScene``, and the body
radii written as numbers in one module only.

Each test fails with the exact list of offenders, so the message says what to split, move or break.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "viewer"
# The trajectory phase modules are reshaped together with a kernel rebuild (their source hash is in the SPKs).
EXEMPT = PACKAGE / "trajectory"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
MAX_SCENE_LINES = 300
# The Moon's radius and the Earth's radii written as numbers (km, or m with an exponent): 1737.4, 6378.x, 6371.x,
# 6356.x. viewer.constants holds them (tests compare it with the loaded PCK); the kernels and assets/*.yaml are data.
RADIUS_LITERALS = re.compile(r"(?<![\w.])(1737\.4\d*|637[18](\.\d+)?|6356(\.\d+)?)(?!\d)")
RADIUS_HOME = PACKAGE / "constants.py"
SOURCE_SUFFIXES = {".py", ".js", ".html", ".css"}


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``viewer/``."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` (a module or ``module.attribute``) lies in."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every viewer module ``module`` imports, at any depth of the file (function bodies included)."""
    is_package = path.name == "__init__.py"
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # ``from viewer import kernels`` imports the module viewer.kernels; ``from viewer.x import f`` imports x.
            names = [f"{stem}.{a.name}" for a in node.names]
            submodules = [n for n in names if n in modules]
            targets = submodules + ([stem] if len(submodules) < len(names) else [])
        else:
            continue
        for target in targets:
            found = _resolve(target, modules)
            if found is not None and found != module:
                out.add(found)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _cycle_path(graph: dict[str, set[str]], component: list[str]) -> str:
    """One closed import path through a component, ``a -> b -> a``, to show where to cut."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(w for w in graph[path[-1]] if w in members)
        back = [w for w in nxt if w == start]
        if back and len(path) > 1:
            return " -> ".join(path + [start])
        fresh = [w for w in nxt if w not in seen]
        if not fresh:
            return " -> ".join(path + [nxt[0]])
        path.append(fresh[0])
        seen.add(fresh[0])


def _outside_exempt(path: Path) -> bool:
    return EXEMPT not in path.parents


def test_graph_resolves_every_import_form():
    graph = import_graph()
    # ``from viewer import paths`` (package form) and ``from viewer.errors import DataError`` (module form)
    assert "viewer.paths" in graph["viewer.kernels"] and "viewer.errors" in graph["viewer.kernels"]
    # relative imports inside a subpackage resolve to the sibling modules
    relative = [m for m, p in _modules().items() if "from ." in p.read_text(encoding="utf-8")]
    for module in relative:
        assert graph[module], f"{module} uses relative imports but none resolved"
    # the cycle search finds a planted three-module cycle and leaves a chain alone
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]] and _cycle_path(planted, ["a", "b", "c"]) == "a -> b -> c -> a"
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_no_import_cycles():
    graph = import_graph()
    cycles = _cycles(graph)
    lines = [f"{', '.join(c)} (for example {_cycle_path(graph, c)})" for c in cycles]
    assert not cycles, "import cycles in viewer/ (function-level imports included):\n" + "\n".join(lines)


def test_modules_under_600_lines():
    too_long = []
    for path in _modules().values():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if _outside_exempt(path) and n > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(ROOT)}: {n} lines")
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(too_long)


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_functions_under_80_lines():
    too_long = []
    for path in _modules().values():
        if not _outside_exempt(path):
            continue
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            n = fn.end_lineno - fn.lineno + 1
            if n > MAX_FUNCTION_LINES:
                too_long.append(f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}: {n} lines")
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(sorted(too_long))


def test_mission_scene_is_small():
    found = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name == "MissionScene":
                found.append((path, node.lineno, node.end_lineno - node.lineno + 1))
    assert len(found) == 1, f"expected one class MissionScene in viewer/, found {found}"
    path, line, n = found[0]
    assert n <= MAX_SCENE_LINES, f"{path.relative_to(ROOT)}:{line} MissionScene: {n} lines (at most {MAX_SCENE_LINES})"


def test_body_radii_only_in_constants():
    offenders = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in SOURCE_SUFFIXES or path == RADIUS_HOME or not _outside_exempt(path):
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in RADIUS_LITERALS.finditer(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {m.group(0)}")
    assert not offenders, "body radii written as numbers outside viewer/constants.py:\n" + "\n".join(offenders)
